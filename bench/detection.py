"""Detection quality and speed of ``bastion.detect`` on the labelled corpora.

Run from the repository root::

    .venv/bin/python bench/detection.py [--corpora DIR] [--json]

The corpora are read from ``../shared/corpora/`` relative to the repository root (override with
``--corpora``); nothing from them is copied into the repository.

Quality: each row goes to a deterministic split by a hash of its ``id`` — ``tune`` (used while
writing rules) or ``report`` (held out). For every ``kind`` the script prints precision, recall,
F1 and false-positive rate on the report split, then the same figures for the tuning split,
labelled as such. Tool descriptions are scanned as whole tool definitions (``scan_tool``), both
alone ("per item") and together with the other tools of the same server or source ("fleet": what
``bastion scan`` sees, which adds look-alike-name and cross-server checks). The FP rate on real
benign descriptions (LiveMCPBench) is printed separately.

Speed (single thread = per core): MB/s of the rule tier (normalisation, the one-pass
multi-pattern match, decoding when pre-checks fire, heuristics, scoring; the learned tier left
out) on the corpus text in 1 MiB blocks and item by item, and microseconds per item (p50/p99) per
kind. The block figure is also given per slice of the corpus (each kind, benign rows, malicious
rows): the multi-pattern pass slows where attack wording is dense (the jailbreak prompts), so the
whole-corpus figure is a pessimistic one for ordinary tool results; then the same per item for the learned tier alone (``bastion.detect.lexical``) and for the
whole engine.

Budgets: tool descriptions recall >= 0.9 at FP rate <= 2% on real benign descriptions; rule tier
>= 100 MB/s per core.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from bastion.detect.engine import Engine, default_engine  # noqa: E402
from bastion.detect.models import ItemReport  # noqa: E402

DEFAULT_CORPORA = ROOT.parent / "shared" / "corpora"
FILES = ("tool-descriptions.jsonl", "injections.jsonl")


def split_of(row_id: str) -> str:
    """Deterministic split: ``report`` for half of the ids (by SHA-256), ``tune`` for the rest."""
    return "report" if int(hashlib.sha256(row_id.encode()).hexdigest()[:8], 16) % 2 else "tune"


def load_rows(corpora: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for name in FILES:
        path = corpora / name
        with path.open(encoding="utf-8") as fh:
            rows.extend(json.loads(line) for line in fh if line.strip())
    return rows


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    tn: int = 0
    fn: int = 0
    misses: list[str] = field(default_factory=list)
    false_alarms: list[str] = field(default_factory=list)

    def add(self, row_id: str, truth: bool, predicted: bool) -> None:
        if truth and predicted:
            self.tp += 1
        elif truth:
            self.fn += 1
            self.misses.append(row_id)
        elif predicted:
            self.fp += 1
            self.false_alarms.append(row_id)
        else:
            self.tn += 1

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.tn + self.fn

    def figures(self) -> dict[str, float]:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        fpr = self.fp / (self.fp + self.tn) if self.fp + self.tn else 0.0
        return {"precision": p, "recall": r, "f1": f1, "fpr": fpr}

    def line(self, label: str) -> str:
        f = self.figures()
        return (
            f"  {label:<34} n={self.n:<6} P={f['precision']:.3f} R={f['recall']:.3f} "
            f"F1={f['f1']:.3f} FPR={f['fpr']:.4f}  (tp={self.tp} fp={self.fp} tn={self.tn} fn={self.fn})"
        )


def scan_row(engine: Engine, row: dict[str, Any]) -> ItemReport:
    tool = row.get("tool")
    if row["kind"] == "tool_description" and isinstance(tool, dict):
        return engine.scan_tool(tool)
    return engine.scan_text(row["text"], row["kind"])


def fleet_reports(engine: Engine, rows: list[dict[str, Any]]) -> dict[str, ItemReport]:
    """Scan tool-description rows grouped by server (or source) with fleet context."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["kind"] == "tool_description" and isinstance(row.get("tool"), dict):
            groups[row.get("server") or row["source"]].append(row)
    out: dict[str, ItemReport] = {}
    all_names = {g: {r["tool"]["name"] for r in rs} for g, rs in groups.items()}
    for g, rs in groups.items():
        siblings = frozenset(all_names[g])
        others = frozenset().union(*(v for k, v in all_names.items() if k != g))
        from bastion.detect.engine import ScanContext

        ctx = ScanContext(other_tools=others - siblings, sibling_tools=siblings)
        for r in rs:
            out[r["id"]] = engine.scan_tool(r["tool"], context=ctx)
    return out


def quality(engine: Engine, rows: list[dict[str, Any]]) -> dict[str, Any]:
    per: dict[tuple[str, str], Counts] = defaultdict(Counts)
    fleet: dict[str, Counts] = defaultdict(Counts)
    live: dict[str, Counts] = defaultdict(Counts)
    fleet_map = fleet_reports(engine, rows)
    for row in rows:
        split = split_of(row["id"])
        truth = row["label"] == "malicious"
        rep = scan_row(engine, row)
        per[(row["kind"], split)].add(row["id"], truth, rep.malicious)
        if row["id"] in fleet_map:
            fleet[split].add(row["id"], truth, fleet_map[row["id"]].malicious)
            if row["source"].startswith("LiveMCPBench"):
                live[split].add(row["id"], truth, rep.malicious)
    return {"per": per, "fleet": fleet, "live": live}


def _latency(values: list[float], texts: list[str]) -> dict[str, float]:
    return {
        "p50_us": statistics.median(values),
        "p99_us": sorted(values)[max(0, int(len(values) * 0.99) - 1)],
        "n": len(values),
        "mean_bytes": sum(len(t.encode("utf-8")) for t in texts) / len(values),
    }


def learned_latency(engine: Engine, rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Microseconds per item of the learned tier alone, and of the whole engine, per kind."""
    texts_by_kind: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        texts_by_kind[row["kind"]].append(row["text"])
    out: dict[str, dict[str, float]] = {}
    for kind, texts in texts_by_kind.items():
        learned: list[float] = []
        whole: list[float] = []
        for t in texts:
            s = time.perf_counter_ns()
            engine.model_findings((("text", t),), kind)  # type: ignore[arg-type]
            m = time.perf_counter_ns()
            engine.scan_text(t, kind)  # type: ignore[arg-type]
            e = time.perf_counter_ns()
            learned.append((m - s) / 1000)
            whole.append((e - m) / 1000)
        out[f"{kind} learned"] = _latency(learned, texts)
        out[f"{kind} whole"] = _latency(whole, texts)
    return out


def _blocks(texts: list[str]) -> tuple[list[str], int]:
    """``texts`` joined and cut into 1 MiB blocks, and their size in bytes."""
    blob = "\n".join(texts)
    step = 1 << 20
    blocks = [blob[i : i + step] for i in range(0, len(blob), step)]
    return blocks, sum(len(b.encode("utf-8")) for b in blocks)


def _blocks_mb_s(engine: Engine, texts: list[str]) -> float:
    """Rule-tier MB/s on ``texts`` in 1 MiB blocks, scanned as tool results (best of 2 runs)."""
    blocks, size = _blocks(texts)
    if not blocks:
        return 0.0
    best = float("inf")
    for _ in range(2):
        t0 = time.perf_counter()
        for b in blocks:
            engine.scan_text(b, "tool_result")
        best = min(best, time.perf_counter() - t0)
    return size / best / 1e6


def throughput(engine: Engine, rows: list[dict[str, Any]]) -> dict[str, Any]:
    texts_by_kind: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        texts_by_kind[row["kind"]].append(row["text"])
    all_texts = [t for ts in texts_by_kind.values() for t in ts]
    total_bytes = sum(len(t.encode("utf-8")) for t in all_texts)
    # 1 MiB blocks of corpus text, scanned as tool results (the hot-path kind)
    blocks, blob_bytes = _blocks(all_texts)
    engine.scan_text(blocks[0], "tool_result")  # warm-up
    t0 = time.perf_counter()
    for b in blocks:
        engine.scan_text(b, "tool_result")
    block_s = time.perf_counter() - t0
    # the same by slice: how dense the text is in attack wording decides the speed
    slices = {f"{k} rows": ts for k, ts in texts_by_kind.items()}
    slices["benign rows"] = [r["text"] for r in rows if r["label"] == "benign"]
    slices["malicious rows"] = [r["text"] for r in rows if r["label"] != "benign"]
    by_slice = {name: (_blocks_mb_s(engine, ts), sum(len(t.encode("utf-8")) for t in ts))
                for name, ts in slices.items()}
    # matcher alone on the same blocks (best of 2 passes: one pass is at the mercy of a busy machine)
    matcher_s = float("inf")
    for _ in range(2):
        t0 = time.perf_counter()
        for b in blocks:
            engine.matcher.scan(b)
        matcher_s = min(matcher_s, time.perf_counter() - t0)
    # item by item
    per_kind_us: dict[str, list[float]] = {}
    t_items = 0.0
    for kind, texts in texts_by_kind.items():
        lat: list[float] = []
        for t in texts:
            s = time.perf_counter_ns()
            engine.scan_text(t, kind)  # type: ignore[arg-type]
            lat.append((time.perf_counter_ns() - s) / 1000)
        t_items += sum(lat) / 1e6
        per_kind_us[kind] = lat
    return {
        "blocks_mb_s": blob_bytes / block_s / 1e6,
        "matcher_mb_s": blob_bytes / matcher_s / 1e6,
        "items_mb_s": total_bytes / t_items / 1e6,
        "slices": by_slice,
        "bytes": total_bytes,
        "latency": {k: _latency(v, texts_by_kind[k]) for k, v in per_kind_us.items()},
    }


def _print_quality(q: dict[str, Any], verbose: bool) -> None:
    per: dict[tuple[str, str], Counts] = q["per"]
    kinds = sorted({k for k, _ in per})
    for split, title in (("report", "REPORT split (held out)"), ("tune", "TUNING split (rules were tuned on this)")):
        print(f"\n== {title}")
        for kind in kinds:
            c = per.get((kind, split))
            if c is not None:
                print(c.line(kind))
                if verbose:
                    print(f"      misses: {c.misses[:20]}\n      false alarms: {c.false_alarms[:20]}")
        if split in q["fleet"]:
            print(q["fleet"][split].line("tool_description (fleet context)"))
            if verbose:
                print(f"      misses: {q['fleet'][split].misses}")
        if split in q["live"]:
            c = q["live"][split]
            print(f"  {'real benign descriptions':<34} n={c.n:<6} FPR={c.figures()['fpr']:.4f} (fp={c.fp})")


def main(argv: Iterable[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA, help="directory of the JSONL corpora")
    ap.add_argument("--verbose", "-v", action="store_true", help="list missed and falsely flagged ids")
    ap.add_argument("--no-speed", action="store_true", help="skip the throughput measurement")
    args = ap.parse_args(list(argv) if argv is not None else None)
    if not all((args.corpora / f).is_file() for f in FILES):
        print(f"corpora not found in {args.corpora}: nothing to measure", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    engine = default_engine()
    print(f"engine: backend={engine.backend} rules={len(engine.rules.rules)} "
          f"compile={time.perf_counter() - t0:.2f}s threshold={engine.threshold}")
    print(f"matcher: {engine.matcher.describe()}")
    rows = load_rows(args.corpora)
    _print_quality(quality(engine, rows), args.verbose)
    if not args.no_speed:
        sp = throughput(Engine(learned=False), rows)
        print(f"\n== Speed (one thread, backend {engine.backend}), {sp['bytes'] / 1e6:.1f} MB of corpus text"
              f" (budget: rule tier >= 100 MB/s per core)")
        print(f"  rule tier, 1 MiB blocks:    {sp['blocks_mb_s']:.0f} MB/s per core")
        for name, (mb_s, size) in sp["slices"].items():
            print(f"    of which {name + ':':<24} {mb_s:.0f} MB/s ({size / 1e6:.1f} MB)")
        print(f"  multi-pattern pass alone:   {sp['matcher_mb_s']:.0f} MB/s per core "
              f"(projection + one pass + spans, on the same blocks)")
        print(f"  rule tier, item by item:    {sp['items_mb_s']:.1f} MB/s per core")
        for k, v in sp["latency"].items():
            print(f"  {k:<18} n={v['n']:<6} mean {v['mean_bytes']:.0f} B  "
                  f"p50 {v['p50_us']:.1f} us  p99 {v['p99_us']:.1f} us")
        print("  learned tier alone, and the whole engine (rules + learned), per item:")
        for k, v in learned_latency(engine, rows).items():
            print(f"  {k:<26} p50 {v['p50_us']:.1f} us  p99 {v['p99_us']:.1f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
