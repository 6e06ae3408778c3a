"""Where MCP clients keep their server lists, and what each entry runs.

Known clients and their files (``~`` is the home directory, ``.`` the project folder scanned):

=================  ==============================================================================
Claude Desktop     ``~/.config/Claude/claude_desktop_config.json`` (Linux),
                   ``~/Library/Application Support/Claude/claude_desktop_config.json`` (macOS),
                   ``%APPDATA%/Claude/claude_desktop_config.json`` (Windows) — ``mcpServers``
Claude Code        ``~/.claude.json`` (``mcpServers``, and per project ``projects.<path>.mcpServers``),
                   ``./.mcp.json``
Cursor             ``~/.cursor/mcp.json``, ``./.cursor/mcp.json``
VS Code            ``~/.config/Code/User/mcp.json`` and ``settings.json`` (``mcp.servers``),
                   ``./.vscode/mcp.json`` (``servers``)
Windsurf           ``~/.codeium/windsurf/mcp_config.json``
Gemini CLI         ``~/.gemini/settings.json``, ``./.gemini/settings.json``
Codex              ``~/.codex/config.toml`` (``[mcp_servers.<name>]``)
Zed                ``~/.config/zed/settings.json`` (``context_servers``)
Continue           ``~/.continue/config.yaml``/``config.json``, ``./.continue/mcpServers/*.yaml``
=================  ==============================================================================

Files given on the command line are read with the same parsers, whatever their name.
"""

from __future__ import annotations

import os
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bastion.scan import jsonc


@dataclass(frozen=True)
class ServerEntry:
    """One server as a client config declares it."""

    name: str
    client: str
    source: str
    """The config file it came from."""
    command: str | None = None
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    url: str | None = None
    headers: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    transport: str | None = None
    """``stdio``, ``http`` (Streamable HTTP), ``sse`` or ``websocket``; None when unstated."""
    cwd: str | None = None

    @property
    def key(self) -> str:
        """Stable identity for pins: client, file and name."""
        return f"{self.client}:{self.name}"

    @property
    def is_remote(self) -> bool:
        return self.url is not None

    def describe(self) -> str:
        if self.url:
            return self.url
        return " ".join([self.command or "?", *self.args])


@dataclass(frozen=True)
class ConfigFile:
    client: str
    path: Path
    servers: tuple[ServerEntry, ...]
    error: str | None = None


def _home() -> Path:
    return Path(os.environ.get("HOME") or Path.home())


def candidate_files(home: Path | None = None, project: Path | None = None) -> list[tuple[str, Path]]:
    """(client, path) of every config file a known client may use, existing or not."""
    h = home or _home()
    p = project or Path.cwd()
    appdata = Path(os.environ.get("APPDATA", h / "AppData" / "Roaming"))
    files = [
        ("claude-desktop", h / ".config" / "Claude" / "claude_desktop_config.json"),
        ("claude-desktop", h / "Library" / "Application Support" / "Claude" / "claude_desktop_config.json"),
        ("claude-code", h / ".claude.json"),
        ("claude-code", p / ".mcp.json"),
        ("cursor", h / ".cursor" / "mcp.json"),
        ("cursor", p / ".cursor" / "mcp.json"),
        ("vscode", h / ".config" / "Code" / "User" / "mcp.json"),
        ("vscode", h / ".config" / "Code" / "User" / "settings.json"),
        ("vscode", h / "Library" / "Application Support" / "Code" / "User" / "mcp.json"),
        ("vscode", p / ".vscode" / "mcp.json"),
        ("windsurf", h / ".codeium" / "windsurf" / "mcp_config.json"),
        ("gemini", h / ".gemini" / "settings.json"),
        ("gemini", p / ".gemini" / "settings.json"),
        ("codex", h / ".codex" / "config.toml"),
        ("zed", h / ".config" / "zed" / "settings.json"),
        ("continue", h / ".continue" / "config.yaml"),
        ("continue", h / ".continue" / "config.json"),
    ]
    if sys.platform == "win32":
        files.append(("claude-desktop", appdata / "Claude" / "claude_desktop_config.json"))
    cont = p / ".continue" / "mcpServers"
    if cont.is_dir():
        files += [("continue", f) for f in sorted(cont.glob("*.y*ml"))]
    return files


def discover(home: Path | None = None, project: Path | None = None) -> list[ConfigFile]:
    """Every existing client config file under ``home`` and ``project``, parsed."""
    seen: set[Path] = set()
    out = []
    for client, path in candidate_files(home, project):
        if path.is_file() and path.resolve() not in seen:
            seen.add(path.resolve())
            out.append(read_config(path, client))
    return out


def guess_client(path: Path) -> str:
    name = path.name.lower()
    parts = {x.lower() for x in path.parts}
    if name == "claude_desktop_config.json":
        return "claude-desktop"
    if name in (".mcp.json", ".claude.json"):
        return "claude-code"
    if ".cursor" in parts:
        return "cursor"
    if ".vscode" in parts or "code" in parts:
        return "vscode"
    if "windsurf" in parts or name == "mcp_config.json":
        return "windsurf"
    if ".gemini" in parts:
        return "gemini"
    if name.endswith(".toml"):
        return "codex"
    if "zed" in parts:
        return "zed"
    if ".continue" in parts:
        return "continue"
    return "generic"


def read_config(path: Path, client: str | None = None) -> ConfigFile:
    """Parse one config file; a file that cannot be read or parsed yields ``error``, not a crash."""
    client = client or guess_client(path)
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".toml":
            data: Any = tomllib.loads(text)
        elif path.suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text)
        else:
            data = jsonc.loads(text) if text.strip() else {}
    except (OSError, ValueError, yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        return ConfigFile(client, path, (), f"cannot parse: {exc}")
    servers = tuple(_entries(client, str(path), data))
    return ConfigFile(client, path, servers)


def _entries(client: str, source: str, data: Any) -> Iterator[ServerEntry]:
    if not isinstance(data, dict):
        if isinstance(data, list):  # Continue's per-file server lists
            for i, item in enumerate(data):
                if isinstance(item, dict):
                    yield _entry(str(item.get("name", f"server{i}")), item, client, source)
        return
    found = False
    for key in ("mcpServers", "servers", "mcp_servers", "context_servers"):
        block = data.get(key)
        if isinstance(block, dict):
            found = True
            for name, spec in block.items():
                if isinstance(spec, dict):
                    yield _entry(str(name), spec, client, source)
        elif isinstance(block, list):  # Continue's config.yaml
            found = True
            for i, spec in enumerate(block):
                if isinstance(spec, dict):
                    yield _entry(str(spec.get("name", f"server{i}")), spec, client, source)
    mcp = data.get("mcp")
    if isinstance(mcp, dict) and isinstance(mcp.get("servers"), dict):  # VS Code settings.json
        found = True
        for name, spec in mcp["servers"].items():
            if isinstance(spec, dict):
                yield _entry(str(name), spec, client, source)
    projects = data.get("projects")
    if isinstance(projects, dict):  # Claude Code: per-project servers in ~/.claude.json
        for proj, pdata in projects.items():
            block = pdata.get("mcpServers") if isinstance(pdata, dict) else None
            if isinstance(block, dict):
                for name, spec in block.items():
                    if isinstance(spec, dict):
                        yield _entry(str(name), spec, client, f"{source}#{proj}")
    exp = data.get("experimental")
    if not found and isinstance(exp, dict):  # Continue's config.json
        for i, item in enumerate(exp.get("modelContextProtocolServers") or []):
            if isinstance(item, dict):
                inner = item.get("transport")
                spec = inner if isinstance(inner, dict) else item
                yield _entry(str(item.get("name", f"server{i}")), spec, client, source)


def _strs(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def _map(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _entry(name: str, spec: dict[str, Any], client: str, source: str) -> ServerEntry:
    command = spec.get("command")
    args = _strs(spec.get("args"))
    if isinstance(command, dict):  # Zed: {"command": {"path": ..., "args": [...], "env": {...}}}
        args = _strs(command.get("args"))
        spec = {**spec, "env": command.get("env", spec.get("env"))}
        command = command.get("path")
    url = spec.get("url") or spec.get("serverUrl") or spec.get("httpUrl")
    kind = spec.get("type") or spec.get("transport")
    transport: str | None = None
    if isinstance(kind, str):
        k = kind.lower().replace("_", "-")
        transport = {"streamable-http": "http", "streamablehttp": "http", "http": "http", "sse": "sse",
                     "stdio": "stdio", "ws": "websocket", "websocket": "websocket"}.get(k, k)
    elif url:
        transport = "websocket" if str(url).startswith(("ws://", "wss://")) else "http"
    elif command:
        transport = "stdio"
    return ServerEntry(
        name=name,
        client=client,
        source=source,
        command=str(command) if command else None,
        args=args,
        env=_map(spec.get("env")),
        url=str(url) if url else None,
        headers=_map(spec.get("headers") or spec.get("http_headers")),
        transport=transport,
        cwd=str(spec["cwd"]) if isinstance(spec.get("cwd"), str) else None,
    )
