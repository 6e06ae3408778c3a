"""Supply-chain checks of client configuration entries, as a table."""

from __future__ import annotations

import pytest

from bastion.detect.supply_chain import PackageRef, check_config, check_server_entry, extract_packages, load_catalogue


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem@1.2.3", "/tmp"]},
         [("npm", "@modelcontextprotocol/server-filesystem", "1.2.3")]),
        ({"command": "npx", "args": ["--yes", "--registry", "https://r.example", "tavily-mcp"]},
         [("npm", "tavily-mcp", None)]),
        ({"command": "pnpm", "args": ["dlx", "@playwright/mcp@0.0.30"]}, [("npm", "@playwright/mcp", "0.0.30")]),
        ({"command": "yarn", "args": ["dlx", "firecrawl-mcp"]}, [("npm", "firecrawl-mcp", None)]),
        ({"command": "bunx", "args": ["exa-mcp-server@1.0.0"]}, [("npm", "exa-mcp-server", "1.0.0")]),
        ({"command": "C:\\Program Files\\nodejs\\npx.cmd", "args": ["-y", "mcp-remote"]}, [("npm", "mcp-remote", None)]),
        ({"command": "uvx", "args": ["mcp-server-time==2025.1.1", "--local-timezone", "UTC"]},
         [("pypi", "mcp-server-time", "2025.1.1")]),
        ({"command": "uvx", "args": ["--from", "mcp-server-git==1.0", "mcp-server-git"]},
         [("pypi", "mcp-server-git", "1.0")]),
        ({"command": "uv", "args": ["tool", "run", "mcp-server-fetch"]}, [("pypi", "mcp-server-fetch", None)]),
        ({"command": "pipx", "args": ["run", "mcp-server-sqlite"]}, [("pypi", "mcp-server-sqlite", None)]),
        ({"command": "docker", "args": ["run", "-i", "--rm", "-e", "TOKEN", "mcp/github:1.0"]},
         [("docker", "mcp/github", "1.0")]),
        ({"command": "podman", "args": ["run", "ghcr.io/github/github-mcp-server@sha256:abc"]},
         [("docker", "ghcr.io/github/github-mcp-server", "sha256:abc")]),
        ({"url": "https://mcp.notion.com/mcp"}, [("remote", "mcp.notion.com", None)]),
        ({"command": "node", "args": ["/opt/server/index.js"]}, []),
    ],
)
def test_extract_packages(entry: dict[str, object], expected: list[tuple[str, str, str | None]]) -> None:
    refs = extract_packages(entry)
    assert [(r.ecosystem, r.name, r.version) for r in refs] == expected
    for r in refs:
        assert isinstance(r, PackageRef) and r.raw[r.start : r.end]


@pytest.mark.parametrize(
    ("entry", "rules", "malicious"),
    [
        ({"command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory@2025.4.25"]}, set(), False),
        ({"command": "npx", "args": ["-y", "@modelcontextprotocol/server-memroy@1.0.0"]}, {"SC-001"}, True),
        ({"command": "npx", "args": ["-y", "@modelcontextprotocol/server_memory@1.0.0"]}, {"SC-004"}, True),
        ({"command": "npx", "args": ["@modelcontextprotocol-x/server-memory@1.0.0"]}, {"SC-003"}, True),
        ({"command": "npx", "args": ["@model-context-protocol/server-memory@1.0.0"]}, {"SC-003"}, True),
        ({"command": "npx", "args": ["@modelcontextprotocol/server-mеmory@1.0.0"]}, {"SC-002"}, True),
        ({"command": "uvx", "args": ["mcp-server-fecth"]}, {"SC-001", "SC-005"}, True),
        ({"command": "npx", "args": ["-y", "@playwright/mcp@latest"]}, {"SC-005"}, False),
        ({"command": "docker", "args": ["run", "mcp/time"]}, {"SC-005"}, False),
        ({"command": "npx", "args": ["@modelcontextprotocol/server-github@1.0.0"],
          "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB"}}, {"SC-006"}, False),
        ({"command": "npx", "args": ["x-mcp@1.0.0"], "env": {"MY_API_KEY": "abc123secretvalue"}}, {"SC-006"}, False),
        ({"command": "npx", "args": ["x-mcp@1.0.0"], "env": {"MY_API_KEY": "${MY_API_KEY}"}}, set(), False),
        ({"command": "npx", "args": ["x-mcp@1.0.0"], "env": {"LOG_LEVEL": "debug"}}, set(), False),
        ({"command": "docker", "args": ["run", "--privileged", "mcp/git:1"]}, {"SC-007"}, False),
        ({"command": "docker", "args": ["run", "-v", "/:/host", "mcp/git:1"]}, {"SC-007"}, False),
        ({"command": "docker", "args": ["run", "--network", "host", "mcp/git:1"]}, {"SC-007"}, False),
        ({"command": "docker", "args": ["run", "-v", "/var/run/docker.sock:/var/run/docker.sock", "mcp/git:1"]},
         {"SC-007"}, False),
        ({"command": "npx", "args": ["some-browser-mcp@1.0.0", "--no-sandbox"]}, {"SC-007"}, False),
        ({"command": "deno", "args": ["run", "--allow-all", "server.ts"]}, {"SC-007"}, False),
        ({"command": "npx", "args": ["--registry", "https://npm.evil.example", "tavily-mcp@1.0.0"]}, {"SC-008"}, False),
        ({"url": "http://mcp.example.com/mcp"}, {"SC-009"}, False),
        ({"url": "https://mcp.notlon.com/mcp"}, {"SC-010"}, True),
        ({"url": "https://mcp.notion.com/mcp", "headers": {"Authorization": "Bearer ${NOTION_TOKEN}"}}, set(), False),
    ],
)
def test_checks(entry: dict[str, object], rules: set[str], malicious: bool) -> None:
    report = check_server_entry("s", entry)
    assert report.rules() == rules, [f.to_dict() for f in report.findings]
    assert report.malicious is malicious
    for f in report.findings:
        assert f.category == "supply-chain" and 0 <= f.start <= f.end


def test_catalogue_holds_official_servers() -> None:
    cat = load_catalogue()
    assert "@modelcontextprotocol/server-filesystem" in cat.npm
    assert {"mcp-server-time", "mcp-server-git", "mcp-server-fetch"} <= cat.pypi
    assert "@modelcontextprotocol" in cat.scopes


def test_check_config_reads_both_shapes() -> None:
    entry = {"command": "uvx", "args": ["mcp-server-tiem"]}
    assert check_config({"mcpServers": {"a": entry}})["a"].malicious
    assert check_config({"servers": {"a": entry}})["a"].malicious
    assert check_config({"other": 1}) == {}
