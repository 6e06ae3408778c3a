"""``bastion detect``: classify text, a tools/list result or a JSONL file, for pipelines."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, cast

import orjson

from bastion.detect.engine import Engine, default_engine
from bastion.detect.models import DEFAULT_THRESHOLD, KINDS, ItemReport, Kind
from bastion.detect.rules import load_rules

DESCRIPTION = """\
Classify text as malicious or benign with the detection engine (tool poisoning, hidden
content, shadowing, exfiltration, prompt injection; secrets and PII are reported too).

Input (exactly one):
  TEXT              the text itself; "-" reads the whole of stdin as one text
  --tools FILE      a tools/list result: {"tools": [...]} or a JSON-RPC response whose
                    result.tools is the list; every tool is scanned as a whole definition
                    (name, description, input/output schemas, annotations)
  --input FILE      JSON Lines, one object per line with "id", "text" and optionally "kind"
                    and "tool" (a tool definition, scanned instead of "text"); "-" is stdin

Output: one JSON object per input on stdout:
  {"id": ..., "kind": ..., "verdict": "malicious"|"benign", "score": 0..1,
   "findings": [{"rule", "title", "category", "severity", "confidence", "explanation",
                 "field", "start", "end", "evidence"}, ...]}
"field" names the string inside a tool definition ("description",
"inputSchema.properties.note.description", ...); start/end are character offsets into it.

Kinds: tool_description (what servers advertise), tool_result (what tools return: indirect
prompt injection), arguments (tools/call arguments), prompt (free user text).
"""

EPILOG = """\
Exit status: 0 normally (whatever the verdicts); 1 with --fail-on-malicious when any input is
malicious; 2 for bad input (unreadable file, invalid JSON, with the line number on stderr). A bad
row of --input is told and skipped: the rows after it are still scanned, and the exit status is 2.

Examples:
  bastion detect "Ignore all previous instructions" --kind prompt
  curl -s ... | bastion detect - --kind tool_result --fail-on-malicious
  bastion detect --tools tools.json
  bastion detect --input rows.jsonl --kind tool_result > verdicts.jsonl
"""


class InputError(Exception):
    """Bad input; the message is shown to the user."""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = DESCRIPTION
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("text", nargs="?", metavar="TEXT", help='text to classify, or "-" for stdin')
    parser.add_argument("--tools", metavar="FILE", help='a tools/list result (JSON); "-" for stdin')
    parser.add_argument("--input", metavar="FILE", help='JSON Lines rows with id, text[, kind, tool]; "-" for stdin')
    parser.add_argument(
        "--kind", choices=KINDS, default=None,
        help="kind of text when rows do not say (default: tool_description)",
    )
    parser.add_argument(
        "--threshold", type=float, default=DEFAULT_THRESHOLD,
        help=f"score at or above which an item is malicious (default {DEFAULT_THRESHOLD})",
    )
    parser.add_argument("--rules", metavar="FILE", action="append", default=[],
                        help="extra rule file (YAML), added to the built-in rules; repeatable")
    parser.add_argument("--fail-on-malicious", action="store_true", help="exit 1 if any input is malicious")


def _open(path: str) -> IO[str]:
    if path == "-":
        return sys.stdin
    try:
        return Path(path).open(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _tools_from(doc: object) -> list[dict[str, object]]:
    tools: object
    if isinstance(doc, dict):
        if isinstance(doc.get("tools"), list):
            tools = doc["tools"]
        elif isinstance(doc.get("result"), dict) and isinstance(doc["result"].get("tools"), list):
            tools = doc["result"]["tools"]
        else:
            raise InputError('expected {"tools": [...]} or a JSON-RPC response with result.tools')
    elif isinstance(doc, list):
        tools = doc
    else:
        raise InputError("expected a JSON object with a tools list")
    assert isinstance(tools, list)
    bad = [i for i, t in enumerate(tools) if not isinstance(t, dict)]
    if bad:
        raise InputError(f"tool #{bad[0]} is not a JSON object")
    return cast(list[dict[str, object]], tools)


def _row(report: ItemReport, row_id: object) -> bytes:
    return orjson.dumps({
        "id": row_id,
        "kind": report.kind,
        "verdict": report.verdict,
        "score": round(report.score, 4),
        "findings": [f.to_dict() for f in report.findings],
    })


def _reports(args: argparse.Namespace, engine: Engine, bad_rows: list[str]) -> Iterator[tuple[object, ItemReport]]:
    """The reports of the inputs; a bad JSON Lines row is told in ``bad_rows`` and skipped, so
    the rows after it are still scanned."""
    default_kind: Kind = args.kind or "tool_description"
    if args.tools:
        with _open(args.tools) as fh:
            try:
                doc = orjson.loads(fh.read())
            except orjson.JSONDecodeError as exc:
                raise InputError(f"{args.tools}: invalid JSON: {exc}") from exc
        for tool in _tools_from(doc):
            report = engine.scan_tool(tool)
            yield tool.get("name"), report
        return
    if args.input:
        with _open(args.input) as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                where = f"{args.input}: line {lineno}"
                try:
                    row = orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    bad_rows.append(f"{where}: invalid JSON: {exc}")
                    continue
                if not isinstance(row, dict):
                    bad_rows.append(f"{where}: expected a JSON object")
                    continue
                kind = row.get("kind") or default_kind
                if kind not in KINDS:
                    bad_rows.append(f"{where}: unknown kind {kind!r}")
                    continue
                row_tool = row.get("tool")
                if kind == "tool_description" and isinstance(row_tool, dict):
                    yield row.get("id", lineno), engine.scan_tool(row_tool)
                    continue
                text = row.get("text")
                if not isinstance(text, str):
                    bad_rows.append(f"{where}: missing string field 'text'")
                    continue
                yield row.get("id", lineno), engine.scan_text(text, cast(Kind, kind))
        return
    text = sys.stdin.read() if args.text == "-" else args.text
    yield "-" if args.text == "-" else "text", engine.scan_text(text, default_kind)


def run(args: argparse.Namespace) -> int:
    sources = [s for s in (args.text is not None, bool(args.tools), bool(args.input)) if s]
    if len(sources) != 1:
        print("bastion detect: give exactly one of TEXT (or -), --tools FILE, --input FILE", file=sys.stderr)
        return 2
    try:
        if args.rules or args.threshold != DEFAULT_THRESHOLD:
            engine = Engine(load_rules(args.rules), threshold=args.threshold)
        else:
            engine = default_engine()
    except (OSError, ValueError) as exc:
        print(f"bastion detect: cannot load rules: {exc}", file=sys.stderr)
        return 2
    out = sys.stdout.buffer
    malicious = False
    bad_rows: list[str] = []
    told = 0

    def tell() -> None:  # bad rows are told as they come, in order with the output
        nonlocal told
        out.flush()
        for message in bad_rows[told:]:
            print(f"bastion detect: {message}", file=sys.stderr)
        told = len(bad_rows)

    try:
        for row_id, report in _reports(args, engine, bad_rows):
            malicious = malicious or report.malicious
            out.write(_row(report, row_id) + b"\n")
            if len(bad_rows) > told:
                tell()
    except InputError as exc:
        tell()
        print(f"bastion detect: {exc}", file=sys.stderr)
        return 2
    tell()
    if bad_rows:
        return 2
    return 1 if (malicious and args.fail_on_malicious) else 0
