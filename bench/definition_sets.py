"""Recall and false alarms of ``bastion.detect`` on our labelled tool-definition sets.

Run from the repository root::

    .venv/bin/python bench/definition_sets.py [FILE.jsonl ...] [--misses] [--json]

With no file, every set under ``tests/detect/data/definitions/`` is read. A set is JSONL, one
definition a row: ``id``, ``label`` (``malicious`` | ``benign``), ``family``, ``tool`` (a
``tools/list`` entry). This is how a new set written by another author is measured *held out*:
run it on the file before changing any rule for it, and keep the figures; after tuning, the same
figures are in-sample.

For each set it prints attacks found by the rule tier alone and by the whole engine (rules and
learned tier), honest definitions flagged by either, and per attack family what the whole engine
found. ``--misses`` also lists the attacks missed and the honest definitions flagged, with the
rules that fired.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from bastion.detect.engine import Engine  # noqa: E402

SETS = ROOT / "tests" / "detect" / "data" / "definitions"


def measure(path: Path, rules: Engine, whole: Engine, show: bool) -> dict[str, Any]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    out: dict[str, Any] = {"set": path.stem, "attacks": 0, "rules": 0, "engine": 0, "honest": 0, "flagged": 0}
    families: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        by_rules = rules.scan_tool(row["tool"])
        by_engine = whole.scan_tool(row["tool"])
        if row["label"] == "malicious":
            out["attacks"] += 1
            out["rules"] += by_rules.malicious
            out["engine"] += by_engine.malicious
            fam = families[row.get("family", "?")]
            fam[0] += by_engine.malicious
            fam[1] += 1
            if show and not by_engine.malicious:
                print(f"  missed  {row['id']} ({row.get('family', '?')}) score {by_engine.score:.2f}")
        else:
            out["honest"] += 1
            flagged = by_rules.malicious or by_engine.malicious
            out["flagged"] += flagged
            if show and flagged:
                print(f"  flagged {row['id']} {[f.rule for f in by_engine.findings][:6]}")
    out["families"] = {k: f"{a}/{b}" for k, (a, b) in sorted(families.items())}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="*", type=Path, help="JSONL sets (default: every set of ours)")
    ap.add_argument("--misses", action="store_true", help="list missed attacks and flagged honest definitions")
    ap.add_argument("--json", action="store_true", help="print one JSON object per set instead of text")
    args = ap.parse_args()
    files = args.files or sorted(SETS.glob("*.jsonl"))
    rules, whole = Engine(learned=False), Engine()
    for path in files:
        result = measure(path, rules, whole, args.misses and not args.json)
        if args.json:
            print(json.dumps(result))
            continue
        n = result["attacks"]
        print(f"{result['set']}: attacks found {result['rules']}/{n} (rules alone), {result['engine']}/{n} "
              f"(with the learned tier); honest definitions flagged {result['flagged']}/{result['honest']}")
        if result["families"]:
            print("  by family: " + ", ".join(f"{k} {v}" for k, v in result["families"].items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
