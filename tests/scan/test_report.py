from __future__ import annotations

import io
from pathlib import Path

import jsonschema
import orjson
import pytest

from bastion.scan.model import ScanFinding, ScanResult, ServerResult
from bastion.scan.report import to_json, to_sarif, to_table, visible

SCHEMA = Path(__file__).resolve().parents[2] / "node" / "node_modules" / "@microsoft" / "jest-sarif" / "lib" / \
    "schemas" / "sarif-2.1.0-rtm.5.json"


def result() -> ScanResult:
    f = ScanFinding("srv", "cursor", "/tmp/mcp.json", "tool", "add", "TP-001", "Directive pseudo-tag", "high",
                    "tool poisoning", "Hidden directive.", 0.8, "description", "<IMPORTANT>", 10, 21)
    g = ScanFinding("srv", "cursor", "/tmp/mcp.json", "config", "srv", "SC-005", "Unpinned install", "low",
                    "supply chain", "No version.")
    s = ServerResult("srv", "cursor", "/tmp/mcp.json", "npx x", "ok", era="handshake", protocol_version="2025-11-25",
                     counts={"tools": 1}, verdict="malicious", findings=[g, f])
    return ScanResult(servers=[s], configs=[{"client": "cursor", "path": "/tmp/mcp.json", "servers": 1}])


@pytest.mark.skipif(not SCHEMA.exists(), reason="the SARIF schema comes with node/ (scripts/setup)")
def test_sarif_is_valid_against_the_schema() -> None:
    doc = orjson.loads(to_sarif(result()))
    schema = orjson.loads(SCHEMA.read_bytes())
    jsonschema.validate(doc, schema)
    run = doc["runs"][0]
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} == {"TP-001", "SC-005"}
    levels = {r["ruleId"]: r["level"] for r in run["results"]}
    assert levels == {"TP-001": "error", "SC-005": "note"}


def test_json_shape_is_stable() -> None:
    doc = orjson.loads(to_json(result()))
    assert doc["schema"] == "bastion-scan/1"
    assert doc["summary"] == {"servers": 1, "malicious_servers": 1,
                              "findings": {"info": 0, "low": 1, "medium": 0, "high": 1, "critical": 0}}
    server = doc["servers"][0]
    assert [f["rule"] for f in server["findings"]] == ["TP-001", "SC-005"]  # most severe first
    assert server["findings"][0]["evidence"] == "<IMPORTANT>"


def test_table_groups_by_server() -> None:
    out = io.StringIO()
    to_table(result(), out)
    text = out.getvalue()
    assert "cursor: srv  (npx x)" in text and "MALICIOUS" in text
    assert text.index("HIGH") < text.index("LOW")
    assert "1 servers scanned: 1 high, 1 low" in text


def test_visible_shows_smuggled_text() -> None:
    hidden = "".join(chr(0xE0000 + ord(c)) for c in "run rm")
    assert visible(f"ok{hidden}\u200b") == "ok⟦hidden: run rm⟧<U+200B>"
