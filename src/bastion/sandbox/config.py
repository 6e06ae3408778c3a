"""Sandbox configuration: what one stdio MCP server may see, reach and use.

A :class:`SandboxConfig` is attached to every stdio upstream (and built from the options of
``bastion run``). Every field has a safe default: no network, no host files beyond the system
paths the interpreter needs, a 300 s life, 512 MiB of memory and 64 processes.

Example (YAML, as it appears under a server in the gateway config)::

    sandbox:
      backend: auto            # bwrap where installed; gvisor or none only when asked
      network: none            # or a list: ["api.github.com:443", "127.0.0.1:8080"]
      mounts:
        - {source: ./workspace, target: /workspace, mode: rw}
        - {source: /opt/models, mode: ro}
      env: {LOG_LEVEL: info}
      memory: 512M
      cpu: 1.0                 # cores (cgroups only)
      cpu_seconds: 600         # CPU time before SIGXCPU (rlimit)
      pids: 64
      lifetime: 300
      idle_timeout: 60
      ephemeral: false
      secrets:
        - {name: github_token, ref: "secret://vault/kv/github#token"}
        - {name: api_key, ref: "secret://env/API_KEY", deliver: env, env_name: API_KEY}
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Backend = Literal["bwrap", "gvisor", "none", "auto"]

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(i?B?)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SECRET_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_HOST_RE = re.compile(r"^(\*\.)?[A-Za-z0-9_.-]+$|^\[[0-9A-Fa-f:.]+\]$")

# Paths that no mount may target: the sandbox builds these itself.
_RESERVED_TARGETS = ("/proc", "/dev", "/run/secrets", "/run/bastion")


def parse_size(value: str | int) -> int:
    """Parse a memory size such as ``512M``, ``1.5G``, ``64MiB`` or a plain byte count.

    Units are binary (K = 1024). Raises ``ValueError`` with the offending text otherwise.
    """
    if isinstance(value, int):
        if value <= 0:
            raise ValueError(f"size must be positive, got {value}")
        return value
    m = _SIZE_RE.match(value)
    if not m:
        raise ValueError(f"invalid size {value!r}: use a number with an optional K, M, G or T suffix")
    number, unit = float(m.group(1)), m.group(2).upper()
    size = int(number * _UNITS[unit])
    if size <= 0:
        raise ValueError(f"size must be positive, got {value!r}")
    return size


class Mount(BaseModel):
    """One host path made visible inside the sandbox.

    ``source`` is a host path (relative paths are resolved against the working directory of
    the bastion process); ``target`` defaults to the same path; ``mode`` is ``ro`` (default)
    or ``rw``. Nothing is visible unless listed here or needed by the interpreter.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    target: str | None = None
    mode: Literal["ro", "rw"] = "ro"

    @field_validator("source")
    @classmethod
    def _source_nonempty(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("mount source must not be empty")
        return v

    @field_validator("target")
    @classmethod
    def _target_absolute(cls, v: str | None) -> str | None:
        if v is None:
            return v
        p = PurePosixPath(v)
        if not p.is_absolute():
            raise ValueError(f"mount target {v!r} must be an absolute path")
        if ".." in p.parts:
            raise ValueError(f"mount target {v!r} must not contain '..'")
        if str(p) == "/":
            raise ValueError("mount target must not be '/'")
        for reserved in _RESERVED_TARGETS:
            if str(p) == reserved or str(p).startswith(reserved + "/"):
                raise ValueError(f"mount target {v!r} is reserved by the sandbox ({reserved})")
        return str(p)

    @classmethod
    def parse(cls, spec: str) -> Mount:
        """Parse the command-line form ``MODE:SOURCE[:TARGET]`` (``ro:/data``, ``rw:./out:/out``)."""
        mode, sep, rest = spec.partition(":")
        if not sep or mode not in ("ro", "rw") or not rest:
            raise ValueError(f"invalid mount {spec!r}: expected ro:SOURCE[:TARGET] or rw:SOURCE[:TARGET]")
        source, _, target = rest.partition(":")
        return cls.model_validate({"source": source, "target": target or None, "mode": mode})


class SecretDelivery(BaseModel):
    """How one secret reaches the server.

    ``ref`` is a secret reference (``secret://vault/kv/github#token``, ``secret://file/path``,
    ``secret://env/NAME``). By default (``deliver: file``) the value is written to an in-memory
    file ``/run/secrets/<name>`` (mode 0400, never on disk) and the server learns the path from
    the environment variable ``env_name`` (default ``<NAME>_FILE``, upper-cased). With
    ``deliver: env`` the value itself is put in ``env_name`` (default ``<NAME>``) — only do this
    when the server cannot read a file: environments leak into crash reports and child processes.
    The value is read again on every (re)launch, so rotation takes effect at the next start.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    ref: str
    deliver: Literal["file", "env"] = "file"
    env_name: str | None = None

    @field_validator("name")
    @classmethod
    def _name_ok(cls, v: str) -> str:
        if not _SECRET_NAME_RE.match(v):
            raise ValueError(f"secret name {v!r} must match {_SECRET_NAME_RE.pattern}")
        return v

    @field_validator("ref")
    @classmethod
    def _ref_ok(cls, v: str) -> str:
        from bastion.secrets.refs import SecretRef

        SecretRef.parse(v)  # raises ValueError with a precise message
        return v

    @field_validator("env_name")
    @classmethod
    def _env_ok(cls, v: str | None) -> str | None:
        if v is not None and not _ENV_NAME_RE.match(v):
            raise ValueError(f"environment variable name {v!r} is not valid")
        return v

    @property
    def variable(self) -> str:
        """The environment variable the server reads (the path, or the value for ``env``)."""
        if self.env_name:
            return self.env_name
        base = re.sub(r"[^A-Za-z0-9_]", "_", self.name).upper()
        return base if self.deliver == "env" else f"{base}_FILE"

    @property
    def path(self) -> str:
        """Where a file delivery appears inside the sandbox."""
        return f"/run/secrets/{self.name}"


class Egress(BaseModel):
    """An allowed destination ``host:port``; ``*.example.com`` matches sub-domains."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str
    port: int = Field(ge=1, le=65535)

    @classmethod
    def parse(cls, spec: str) -> Egress:
        """Parse ``host:port`` or ``[v6addr]:port``."""
        host, sep, port = spec.strip().rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError(f"invalid egress entry {spec!r}: expected host:port")
        if not _HOST_RE.match(host):
            raise ValueError(f"invalid host in egress entry {spec!r}")
        return cls(host=host.strip("[]").lower(), port=int(port))

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


class SandboxConfig(BaseModel):
    """Isolation settings for one stdio MCP server (see the module docstring for an example).

    - ``backend``: ``bwrap`` (bubblewrap), ``gvisor`` (``runsc``), ``none`` (no isolation; must be
      chosen explicitly and logs a warning) or ``auto`` (bwrap if installed, else an error —
      ``auto`` never silently falls back to ``none``).
    - ``network``: ``none`` (own empty network namespace; the default) or a list of ``host:port``
      reachable only through bastion's filtering proxy (``HTTP_PROXY``/``HTTPS_PROXY`` are set).
    - ``mounts``: explicit host paths, read-only or read-write.
    - ``env``: the only variables the server sees besides ``PATH``, ``HOME``, ``LANG``, ``TMPDIR``,
      proxy variables and secret paths; ``pass_env`` copies named variables from bastion's env.
    - ``memory``: memory cap (``512M``); ``cpu``: cores (cgroups); ``cpu_seconds``: CPU time;
      ``pids``: maximum processes/threads; ``nofile``: maximum open files.
    - ``lifetime``: seconds before the sandbox is killed (default 300); ``idle_timeout``: seconds
      without traffic after which ``idle()`` reports true; ``ephemeral``: one process per call.
    - ``secrets``: see :class:`SecretDelivery`.
    - ``cgroup_parent``: a writable cgroup directory to create per-sandbox cgroups under
      (default: detect a delegated cgroup; otherwise rlimits are used).
    """

    model_config = ConfigDict(extra="forbid")

    backend: Backend = "auto"
    network: Literal["none"] | list[Egress] = "none"
    mounts: list[Mount] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    pass_env: list[str] = Field(default_factory=list)
    memory: str | None = "512M"
    cpu: Annotated[float, Field(gt=0, le=1024)] | None = None
    cpu_seconds: Annotated[int, Field(gt=0)] | None = None
    pids: Annotated[int, Field(ge=4, le=1_000_000)] | None = 64
    nofile: Annotated[int, Field(ge=16, le=1_048_576)] = 1024
    lifetime: Annotated[float, Field(gt=0)] = 300.0
    idle_timeout: Annotated[float, Field(gt=0)] | None = None
    ephemeral: bool = False
    secrets: list[SecretDelivery] = Field(default_factory=list)
    workdir: str | None = None
    tmp_size: str = "64M"
    proxy_port: Annotated[int, Field(ge=1, le=65535)] = 3128
    cgroup_parent: str | None = None

    @field_validator("network", mode="before")
    @classmethod
    def _network(cls, v: object) -> object:
        if isinstance(v, str):
            if v == "none":
                return v
            return [Egress.parse(x) for x in v.split(",") if x.strip()] or "none"
        if isinstance(v, list):
            return [Egress.parse(x) if isinstance(x, str) else x for x in v]
        return v

    @field_validator("memory", "tmp_size")
    @classmethod
    def _size(cls, v: str | None) -> str | None:
        if v is not None:
            parse_size(v)
        return v

    @field_validator("env")
    @classmethod
    def _env_names(cls, v: dict[str, str]) -> dict[str, str]:
        for k, val in v.items():
            if not _ENV_NAME_RE.match(k):
                raise ValueError(f"environment variable name {k!r} is not valid")
            if "\0" in val:
                raise ValueError(f"environment variable {k!r} contains a NUL byte")
        return v

    @field_validator("pass_env")
    @classmethod
    def _pass_env_names(cls, v: list[str]) -> list[str]:
        for k in v:
            if not _ENV_NAME_RE.match(k):
                raise ValueError(f"environment variable name {k!r} is not valid")
        return v

    @field_validator("workdir")
    @classmethod
    def _workdir(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith("/"):
            raise ValueError(f"workdir {v!r} must be an absolute path inside the sandbox")
        return v

    @model_validator(mode="after")
    def _cross_checks(self) -> SandboxConfig:
        names = [s.name for s in self.secrets]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"duplicate secret names: {sorted(dup)}")
        targets = [m.target or m.source for m in self.mounts]
        dup_t = {t for t in targets if targets.count(t) > 1}
        if dup_t:
            raise ValueError(f"several mounts target the same path: {sorted(dup_t)}")
        variables = [s.variable for s in self.secrets]
        clash = set(variables) & set(self.env)
        if clash:
            raise ValueError(f"secret variables also set in env: {sorted(clash)}")
        return self

    @property
    def memory_bytes(self) -> int | None:
        """``memory`` in bytes, or ``None`` for no cap."""
        return parse_size(self.memory) if self.memory is not None else None

    @property
    def allow_list(self) -> list[Egress]:
        """The egress allow-list (empty when ``network`` is ``none``)."""
        return [] if self.network == "none" else list(self.network)
