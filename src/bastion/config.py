"""Typed configuration: one YAML file, validated at load.

Errors name the path of the bad key (``upstreams.time.command: Field required``) and the file, so
a bad config fails at start, never halfway through serving. ``bastion config schema`` prints the
JSON Schema of this model; ``bastion config check FILE`` validates a file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bastion.sandbox.config import SandboxConfig

_UPSTREAM_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]|_(?!_))*[A-Za-z0-9]$|^[A-Za-z0-9]$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HttpListen(_Model):
    """Streamable HTTP listener (both protocol eras)."""

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    path: str = "/mcp"
    websocket_path: str | None = Field(
        "/ws", description="also accept WebSocket MCP connections on this path (null to disable)"
    )
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Origin header values accepted in addition to none and loopback origins "
        "(DNS-rebinding protection)",
    )


class Listen(_Model):
    http: HttpListen | None = None
    stdio: bool = False

    @model_validator(mode="after")
    def _one(self) -> Listen:
        if self.http is None and not self.stdio:
            raise ValueError("configure at least one listener: http or stdio")
        return self


class _UpstreamBase(_Model):
    era: Literal["auto", "handshake", "stateless"] = Field(
        "auto", description="protocol era to speak to this upstream; auto probes 2026-07-28 first"
    )
    timeout: float = Field(60.0, gt=0, description="seconds to wait for an answer to one request")
    connect_timeout: float = Field(20.0, gt=0, description="seconds to wait for the upstream to start")
    enabled: bool = True


class StdioUpstream(_UpstreamBase):
    """A server started as a child process, speaking newline-delimited JSON-RPC on stdin/stdout."""

    command: str
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str | None = None
    restart_backoff_max: float = Field(30.0, gt=0, description="longest wait between restarts (seconds)")
    sandbox: SandboxConfig | None = Field(
        None, description="isolation of this server; default: the top-level `sandbox` settings"
    )


class HttpUpstream(_UpstreamBase):
    """A remote server: Streamable HTTP (default), legacy HTTP+SSE, or WebSocket (ws:// wss://).

    ``headers`` may embed secret references (``Bearer secret://vault/kv/app#token``), resolved at
    each connect. The client's own credentials are never forwarded upstream."""

    url: str
    transport: Literal["streamable-http", "sse", "websocket"] | None = Field(
        None, description="default: websocket for ws:// and wss:// URLs, streamable-http otherwise"
    )
    headers: dict[str, str] = Field(default_factory=dict)

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not re.match(r"^(https?|wss?)://", v):
            raise ValueError("url must start with http://, https://, ws:// or wss://")
        return v

    @field_validator("headers")
    @classmethod
    def _header_refs(cls, v: dict[str, str]) -> dict[str, str]:
        from bastion.secrets.embedded import validate

        for name, value in v.items():
            try:
                validate(value)
            except ValueError as exc:
                raise ValueError(f"header {name}: {exc}") from None
        return v

    @property
    def effective_transport(self) -> str:
        if self.transport:
            return self.transport
        return "websocket" if self.url.startswith(("ws://", "wss://")) else "streamable-http"


Upstream = StdioUpstream | HttpUpstream


class GuardBase(_Model):
    mode: Literal["enforce", "monitor", "off"] = "enforce"


class HeaderMatchGuardConfig(GuardBase):
    type: Literal["header_match"]


class LimitsGuardConfig(GuardBase):
    type: Literal["limits"]
    max_bytes: int = Field(4 * 1024 * 1024, gt=0, description="largest message accepted, either way")
    max_depth: int = Field(64, gt=0, description="deepest nesting of JSON objects/arrays accepted")


class SecretRedactionGuardConfig(GuardBase):
    type: Literal["secret_redaction"]


class ToolPoisoningGuardConfig(GuardBase):
    type: Literal["tool_poisoning"]


class ToolRule(_Model):
    allow: list[str] | None = Field(None, description="glob patterns; when set, only these tools")
    deny: list[str] = Field(default_factory=list, description="glob patterns of tools refused")


class ToolFilterGuardConfig(GuardBase):
    type: Literal["tool_filter"]
    upstreams: dict[str, ToolRule] = Field(default_factory=dict)


GuardConfig = Annotated[
    HeaderMatchGuardConfig
    | LimitsGuardConfig
    | ToolFilterGuardConfig
    | SecretRedactionGuardConfig
    | ToolPoisoningGuardConfig,
    Field(discriminator="type"),
]


def _default_guards() -> list[GuardConfig]:
    return [
        HeaderMatchGuardConfig(type="header_match"),
        LimitsGuardConfig(type="limits"),
        SecretRedactionGuardConfig(type="secret_redaction"),
        ToolPoisoningGuardConfig(type="tool_poisoning"),
    ]


class AuditConfig(_Model):
    path: str | None = Field(
        "audit.jsonl", description="JSON-lines decision log; '-' for stderr, null to disable"
    )


class NamespaceConfig(_Model):
    separator: str = Field("__", description="between upstream name and tool/prompt name")
    prefix: Literal["always", "never", "auto"] = Field(
        "auto", description="auto: prefix names only when more than one upstream is configured"
    )

    @field_validator("separator")
    @classmethod
    def _sep(cls, v: str) -> str:
        if not v or not re.fullmatch(r"[A-Za-z0-9_.\-]+", v):
            raise ValueError("separator must be characters valid in MCP tool names: A-Z a-z 0-9 _ - .")
        return v


class Config(_Model):
    listen: Listen = Field(default_factory=lambda: Listen(http=HttpListen()))
    upstreams: dict[str, Upstream]
    guards: list[GuardConfig] = Field(default_factory=_default_guards)
    audit: AuditConfig = Field(default_factory=AuditConfig)
    sandbox: SandboxConfig = Field(
        default_factory=SandboxConfig,
        description="default isolation of stdio upstreams: bubblewrap where installed; "
        "`backend: none` turns isolation off (logged as a warning)",
    )
    namespace: NamespaceConfig = Field(default_factory=NamespaceConfig)
    max_body_bytes: int = Field(8 * 1024 * 1024, gt=0, description="largest HTTP body the listener reads")
    request_timeout: float = Field(120.0, gt=0, description="overall seconds one client request may take")
    list_page_size: int = Field(1000, gt=0, description="items per page of merged list results")

    @field_validator("upstreams")
    @classmethod
    def _names(cls, v: dict[str, Upstream]) -> dict[str, Upstream]:
        if not v:
            raise ValueError("configure at least one upstream")
        for name in v:
            if not _UPSTREAM_NAME.match(name):
                raise ValueError(
                    f"upstream name {name!r}: use letters, digits, '-' and single '_' "
                    "(it becomes a tool-name prefix)"
                )
        return v

    @model_validator(mode="after")
    def _guard_refs(self) -> Config:
        for g in self.guards:
            if isinstance(g, ToolFilterGuardConfig):
                for up in g.upstreams:
                    if up not in self.upstreams:
                        raise ValueError(f"guards: tool_filter names unknown upstream {up!r}")
        return self

    def sandbox_for(self, name: str) -> SandboxConfig:
        up = self.upstreams[name]
        return up.sandbox if isinstance(up, StdioUpstream) and up.sandbox is not None else self.sandbox

    def prefixing(self) -> bool:
        if self.namespace.prefix == "auto":
            return len(self.upstreams) > 1
        return self.namespace.prefix == "always"


class ConfigError(Exception):
    """A config that cannot be used. The message names the file and the path of each bad key."""


def _loc(loc: tuple[int | str, ...]) -> str:
    # Drop pydantic's union-member tags (e.g. 'StdioUpstream') to keep paths readable.
    parts = [str(p) for p in loc if not (isinstance(p, str) and p[:1].isupper() and p.isidentifier())]
    return ".".join(parts) or "(top level)"


def format_validation_error(exc: ValidationError, source: str) -> str:
    lines = [f"{source}: invalid configuration"]
    seen: set[str] = set()
    for err in exc.errors():
        line = f"  {_loc(tuple(err['loc']))}: {err['msg']}"
        if line not in seen:
            seen.add(line)
            lines.append(line)
    return "\n".join(lines)


def parse_config(data: Any, source: str = "<config>") -> Config:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping")
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source)) from None


def read_config_data(path: str | Path) -> Any:
    """The YAML document of a config file, not yet validated."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read: {exc.strerror}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML: {exc}") from None


def load_config(path: str | Path) -> Config:
    return parse_config(read_config_data(path), str(path))


def json_schema() -> dict[str, Any]:
    return Config.model_json_schema()
