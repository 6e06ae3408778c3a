"""Quality budgets on the shared labelled corpora (read from ../shared/corpora, never copied).

Rows are split by a hash of their id exactly as ``bench/detection.py`` does; the budgets are
asserted on the held-out *report* half: false-positive rate <= 2% on real benign tool descriptions
(LiveMCPBench) and recall >= 0.9 on malicious tool descriptions.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from bastion.detect import default_engine
from bastion.detect.engine import ScanContext

CORPORA = Path(__file__).resolve().parents[3] / "shared" / "corpora"
TOOLS_FILE = CORPORA / "tool-descriptions.jsonl"


def split_of(row_id: str) -> str:
    """Same split as bench/detection.py."""
    return "report" if int(hashlib.sha256(row_id.encode()).hexdigest()[:8], 16) % 2 else "tune"


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    if not TOOLS_FILE.is_file():
        pytest.skip(f"labelled corpus not found at {TOOLS_FILE}: the shared corpora are not checked out here")
    with TOOLS_FILE.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def test_fp_rate_on_real_benign_descriptions(rows: list[dict[str, Any]]) -> None:
    benign = [r for r in rows if r["source"].startswith("LiveMCPBench") and split_of(r["id"]) == "report"]
    assert len(benign) >= 50
    flagged = [r["id"] for r in benign if default_engine().scan_tool(r["tool"]).malicious]
    assert len(flagged) / len(benign) <= 0.02, flagged


def test_recall_on_malicious_descriptions_report_split(rows: list[dict[str, Any]]) -> None:
    bad = [r for r in rows if r["label"] == "malicious" and split_of(r["id"]) == "report"]
    assert bad
    caught = [r["id"] for r in bad if default_engine().scan_tool(r["tool"]).malicious]
    assert len(caught) / len(bad) >= 0.9, sorted({r["id"] for r in bad} - set(caught))


def test_recall_on_all_malicious_descriptions_with_fleet_context(rows: list[dict[str, Any]]) -> None:
    """All malicious rows (both halves), scanned as `bastion scan` sees them: together with the
    other tools of the same source, so look-alike names are visible."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(r.get("server") or r["source"], []).append(r)
    names = {g: frozenset(r["tool"]["name"] for r in rs) for g, rs in groups.items()}
    caught = total = 0
    for g, rs in groups.items():
        others = frozenset().union(*(v for k, v in names.items() if k != g)) - names[g]
        ctx = ScanContext(other_tools=others, sibling_tools=names[g])
        for r in rs:
            if r["label"] == "malicious":
                total += 1
                caught += default_engine().scan_tool(r["tool"], context=ctx).malicious
    assert total and caught / total >= 0.9
