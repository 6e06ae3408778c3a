"""Attack fixtures (tests/fixtures/detect/*.json), one per published attack family, run end to end.

Each fixture says what it imitates (``family``), what to scan (a tool, a server fleet, a text or a
client configuration) and the verdict and rule ids it must produce.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bastion.detect import default_engine
from bastion.detect.models import ItemReport
from bastion.detect.supply_chain import check_config

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "detect"
FILES = sorted(FIXTURES.glob("*.json"))


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _check(report: ItemReport, expect: dict[str, Any], label: str) -> None:
    assert report.verdict == expect["verdict"], f"{label}: score {report.score:.2f}, {report.rules()}"
    missing = set(expect["rules"]) - report.rules()
    assert not missing, f"{label}: expected rules {missing} in {sorted(report.rules())}"
    if expect["verdict"] == "benign":
        strong = [f.rule for f in report.findings if f.scored and f.confidence >= report.threshold]
        assert not strong, f"{label}: benign fixture has strong findings {strong}"


def test_there_is_a_fixture_per_family() -> None:
    assert len(FILES) >= 10


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_fixture(path: Path) -> None:
    fx = _load(path)
    engine = default_engine()
    kind = fx["type"]
    if kind == "tool":
        _check(engine.scan_tool(fx["input"]), fx["expect"], path.stem)
    elif kind == "text":
        _check(engine.scan_text(fx["input"], fx["kind"]), fx["expect"], path.stem)
    elif kind == "fleet":
        reports = engine.scan_fleet(fx["input"])
        server, tool = fx["target"]
        _check(reports[server].tools[tool], fx["expect"], path.stem)
        # the victim server's own tool stays clean
        for name, rep in reports.items():
            if name != server:
                assert not rep.malicious, f"{name} flagged: {[r.rules() for r in rep.items()]}"
    elif kind == "config":
        config_reports = check_config(fx["input"])
        for server, expect in fx["expect_servers"].items():
            _check(config_reports[server], expect, f"{path.stem}:{server}")
    else:  # pragma: no cover - a malformed fixture
        pytest.fail(f"unknown fixture type {kind}")


def test_evidence_points_into_the_original_field() -> None:
    fx = _load(FIXTURES / "poisoned_description.json")
    report = default_engine().scan_tool(fx["input"])
    desc = fx["input"]["description"]
    for f in report.findings:
        if f.field == "description" and not f.rule.startswith(("CMB-", "LX-")):  # item-level: no span
            assert desc[f.start : f.end] == f.evidence or f.via, f
    tag = next(f for f in report.findings if f.rule == "EX-002")
    assert tag.field == "inputSchema.properties.sidenote"


def test_unicode_tag_evidence_spans_the_invisible_run() -> None:
    fx = _load(FIXTURES / "hidden_unicode_tags.json")
    desc = fx["input"]["description"]
    report = default_engine().scan_tool(fx["input"])
    f = next(f for f in report.findings if f.rule == "HC-003")
    assert all(0xE0000 <= ord(c) <= 0xE007F for c in desc[f.start : f.end])
    assert "Ignore previous instructions" in f.explanation
    inj = next(f for f in report.findings if f.rule == "PI-001")
    assert inj.via == "unicode-tags" and (inj.start, inj.end) == (f.start, f.end)
