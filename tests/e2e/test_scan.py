"""`bastion scan` end to end: real servers give no high finding; our malicious fixture servers of
each attack family are each caught by the right rule; a rug pull shows on the second scan; a
typosquatted config is flagged without connecting; SARIF output is valid; --fail-on sets the exit."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest

from bastion.testing.procs import bastion_cmd
from support import ERA_SERVER, FIXTURES, NODE_DIR

MALICIOUS = FIXTURES / "servers" / "malicious_server.py"
EVERYTHING = NODE_DIR / "@modelcontextprotocol" / "server-everything" / "dist" / "index.js"
SARIF_SCHEMA = NODE_DIR / "@microsoft" / "jest-sarif" / "lib" / "schemas" / "sarif-2.1.0-rtm.5.json"
HIGH = ("high", "critical")

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed (scripts/setup)")


def scan(*args: str, cwd: Path) -> tuple[int, Any, str]:
    out = subprocess.run([*bastion_cmd(), "scan", "-q", "--timeout", "20", *args], capture_output=True, text=True,
                         cwd=cwd, timeout=300)
    doc = json.loads(out.stdout) if "--format" in args and out.stdout.strip().startswith("{") else out.stdout
    return out.returncode, doc, out.stderr


def mal(mode: str, *extra: str) -> dict[str, Any]:
    return {"command": sys.executable, "args": [str(MALICIOUS), mode, *extra]}


def findings(doc: dict[str, Any], server: str) -> list[dict[str, Any]]:
    return next(s for s in doc["servers"] if s["name"] == server)["findings"]


def write(path: Path, servers: dict[str, Any]) -> Path:
    path.write_text(json.dumps({"mcpServers": servers}))
    return path


def test_real_servers_have_no_high_findings(tmp_path: Path) -> None:
    node = shutil.which("node")
    servers: dict[str, Any] = {
        "time": {"command": sys.executable, "args": ["-m", "mcp_server_time"]},
        "git": {"command": sys.executable, "args": ["-m", "mcp_server_git"]},
        "fixture": {"command": sys.executable, "args": [str(ERA_SERVER), "stdio", "both"]},
    }
    if node and EVERYTHING.exists():
        servers["everything"] = {"command": node, "args": [str(EVERYTHING), "stdio"]}
    cfg = write(tmp_path / "claude_desktop_config.json", servers)
    code, doc, err = scan(str(cfg), "--format", "json", "--fail-on", "high", cwd=tmp_path)
    assert code == 0, (err, doc)
    for s in doc["servers"]:
        assert s["status"] == "ok", s
        assert s["counts"]["tools"] > 0
        assert s["sandboxed"] is True
        assert not [f for f in s["findings"] if f["severity"] in HIGH], s["findings"]
        assert s["verdict"] == "benign"
    assert (tmp_path / "bastion.lock").exists()  # trust on first use


@pytest.fixture
def attacks(tmp_path: Path) -> Path:
    return write(tmp_path / "mcp.json", {
        "poisoned": mal("poisoned"),
        "unicode": mal("unicode"),
        "shadowing": mal("shadowing"),
        "mailer": mal("mailer"),
        "exfil": mal("exfil"),
    })


EXPECTED = {
    # server: rules of which at least one must be reported at high or critical severity
    "poisoned": {"TP-002", "CMB-001", "CMB-002", "CMB-004"},
    "unicode": {"HC-003", "HC-010"},
    "exfil": {"EX-001"},
}


def test_each_attack_family_is_caught_by_its_rule(tmp_path: Path, attacks: Path) -> None:
    code, doc, err = scan(str(attacks), "--format", "json", "--no-pins", cwd=tmp_path)
    assert code == 0, err
    for server, rules in EXPECTED.items():
        got = {f["rule"] for f in findings(doc, server) if f["severity"] in HIGH}
        assert got & rules, (server, got)
        assert next(s for s in doc["servers"] if s["name"] == server)["verdict"] == "malicious"
    shadow = findings(doc, "shadowing")
    assert any(f["category"] == "shadowing" and "send_email" in f.get("evidence", "") for f in shadow), shadow
    assert next(s for s in doc["servers"] if s["name"] == "mailer")["verdict"] == "benign"
    hidden = next(f for f in findings(doc, "unicode") if f["rule"] == "HC-003")
    assert hidden["field"] == "description"


def test_fail_on_sets_the_exit_code(tmp_path: Path, attacks: Path) -> None:
    code, _, _ = scan(str(attacks), "--format", "json", "--no-pins", "--fail-on", "high", cwd=tmp_path)
    assert code == 1


@pytest.mark.skipif(not SARIF_SCHEMA.exists(), reason="node/ packages are required (scripts/setup)")
def test_sarif_output_is_valid(tmp_path: Path, attacks: Path) -> None:
    out = tmp_path / "scan.sarif"
    code, _, err = scan(str(attacks), "--format", "sarif", "--output", str(out), "--no-pins", cwd=tmp_path)
    assert code == 0, err
    doc = orjson.loads(out.read_bytes())
    jsonschema.validate(doc, orjson.loads(SARIF_SCHEMA.read_bytes()))
    results = doc["runs"][0]["results"]
    assert any(r["ruleId"] == "HC-003" and r["level"] == "error" for r in results)
    assert all(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "mcp.json" for r in results)


def test_rug_pull_shows_on_the_next_scan(tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    cfg = write(tmp_path / "mcp.json", {"calc": mal("rugpull", str(flag))})
    code, doc, err = scan(str(cfg), "--format", "json", cwd=tmp_path)
    assert code == 0 and doc["servers"][0]["verdict"] == "benign", err
    assert "bastion.lock written" in doc["lockfile"]
    flag.write_text("now")
    code, doc, err = scan(str(cfg), "--format", "json", "--fail-on", "critical", cwd=tmp_path)
    assert code == 1, err
    rug = [f for f in findings(doc, "calc") if f["rule"] == "pin.rug-pull"]
    assert rug and rug[0]["severity"] == "critical" and rug[0]["item"] == "add"
    assert '+  "description": "Adds two numbers.\\n<IMPORTANT>' in rug[0]["diff"]
    # accepting the change re-pins; a third scan reports no change
    scan(str(cfg), "--format", "json", "--update-pins", cwd=tmp_path)
    _, doc, _ = scan(str(cfg), "--format", "json", cwd=tmp_path)
    assert not [f for f in findings(doc, "calc") if f["rule"].startswith("pin.")]


def test_typosquatted_config_without_connecting(tmp_path: Path) -> None:
    cfg = write(tmp_path / "claude_desktop_config.json", {
        "fs": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystern", "/tmp"],
               "env": {"GITHUB_TOKEN": "ghp_" + "a1" * 18}},
        "ok": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem@2026.8.31", "/tmp"]},
    })
    code, doc, err = scan(str(cfg), "--no-connect", "--format", "json", cwd=tmp_path)
    assert code == 0, err
    fs = findings(doc, "fs")
    assert any(f["rule"] == "SC-001" and f["severity"] in HIGH for f in fs)
    secret = next(f for f in fs if f["rule"] == "SC-006")
    assert "a1a1a1a1" not in secret["evidence"]  # a scanner must not leak the secret it found
    assert not [f for f in findings(doc, "ok") if f["severity"] in HIGH]
    assert all(s["status"] == "skipped" for s in doc["servers"])


def test_table_output_and_discovery(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".cursor").mkdir(parents=True)
    write(home / ".cursor" / "mcp.json", {"poisoned": mal("poisoned")})
    env = {**os.environ, "HOME": str(home)}
    out = subprocess.run([*bastion_cmd(), "scan", "--no-pins", "--home", str(home), "--project", str(tmp_path)],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    assert "cursor: poisoned" in out.stdout and "MALICIOUS" in out.stdout
    assert "[1/1] cursor: poisoned — 1 tools" in out.stderr  # progress


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = scan(str(tmp_path / "nope.json"), cwd=tmp_path)
    assert code == 2 and "no such file" in err
