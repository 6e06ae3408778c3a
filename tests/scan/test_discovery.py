from __future__ import annotations

import json
from pathlib import Path

import pytest

from bastion.scan.discovery import discover, read_config

CASES = [
    # (relative path, content, expected [(name, command, args, url, transport)])
    (".config/Claude/claude_desktop_config.json",
     '{"mcpServers": {"fs": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]}}}',
     [("fs", "npx", ("-y", "@modelcontextprotocol/server-filesystem", "/tmp"), None, "stdio")]),
    (".cursor/mcp.json",
     '{"mcpServers": {"remote": {"url": "https://mcp.example.com/mcp", "headers": {"Authorization": "Bearer x"}}}}',
     [("remote", None, (), "https://mcp.example.com/mcp", "http")]),
    (".config/Code/User/settings.json",
     '{\n // comment\n "mcp": {"servers": {"gh": {"type": "sse", "url": "http://127.0.0.1:9/sse",},},},\n}',
     [("gh", None, (), "http://127.0.0.1:9/sse", "sse")]),
    (".codeium/windsurf/mcp_config.json",
     '{"mcpServers": {"w": {"serverUrl": "wss://h/ws"}}}', [("w", None, (), "wss://h/ws", "websocket")]),
    (".gemini/settings.json",
     '{"mcpServers": {"g": {"httpUrl": "https://h/mcp"}, "t": {"command": "uvx", "args": ["mcp-server-time"]}}}',
     [("g", None, (), "https://h/mcp", "http"), ("t", "uvx", ("mcp-server-time",), None, "stdio")]),
    (".codex/config.toml",
     '[mcp_servers.time]\ncommand = "uvx"\nargs = ["mcp-server-time"]\n[mcp_servers.time.env]\nTZ = "UTC"\n',
     [("time", "uvx", ("mcp-server-time",), None, "stdio")]),
    (".config/zed/settings.json",
     '{"context_servers": {"z": {"command": {"path": "node", "args": ["s.js"], "env": {}}}}}',
     [("z", "node", ("s.js",), None, "stdio")]),
    (".continue/config.yaml",
     "mcpServers:\n  - name: c\n    command: npx\n    args: [x]\n", [("c", "npx", ("x",), None, "stdio")]),
    (".claude.json",
     json.dumps({"mcpServers": {"u": {"command": "a"}}, "projects": {"/p": {"mcpServers": {"p": {"command": "b"}}}}}),
     [("u", "a", (), None, "stdio"), ("p", "b", (), None, "stdio")]),
]


@pytest.mark.parametrize(("rel", "content", "expected"), CASES)
def test_client_formats(tmp_path: Path, rel: str, content: str, expected: list[tuple[object, ...]]) -> None:
    home = tmp_path / "home"
    path = home / rel
    path.parent.mkdir(parents=True)
    path.write_text(content)
    configs = discover(home=home, project=tmp_path / "project")
    assert [c.path for c in configs] == [path]
    got = [(s.name, s.command, s.args, s.url, s.transport) for s in configs[0].servers]
    assert got == expected


def test_project_files_and_unparseable_files(tmp_path: Path) -> None:
    project = tmp_path / "p"
    (project / ".vscode").mkdir(parents=True)
    (project / ".vscode" / "mcp.json").write_text('{"servers": {"a": {"command": "x"}}}')
    (project / ".mcp.json").write_text("{not json")
    configs = {c.path.name: c for c in discover(home=tmp_path / "nohome", project=project)}
    assert configs["mcp.json"].client == "vscode" and configs["mcp.json"].servers[0].name == "a"
    assert configs[".mcp.json"].error is not None and configs[".mcp.json"].servers == ()


def test_env_and_keys(tmp_path: Path) -> None:
    p = tmp_path / "claude_desktop_config.json"
    p.write_text('{"mcpServers": {"gh": {"command": "npx", "args": [], "env": {"GITHUB_TOKEN": "t"}}}}')
    cfg = read_config(p)
    entry = cfg.servers[0]
    assert cfg.client == "claude-desktop" and entry.env == {"GITHUB_TOKEN": "t"}
    assert entry.key == "claude-desktop:gh" and entry.describe() == "npx"
