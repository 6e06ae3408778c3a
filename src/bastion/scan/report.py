"""Scan reports: a terminal table grouped by server, JSON (``bastion-scan/1``) and SARIF 2.1.0."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, TextIO

import orjson

from bastion import __version__
from bastion.scan.model import RANK, ScanFinding, ScanResult

LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}
COLORS = {"critical": "\033[1;31m", "high": "\033[31m", "medium": "\033[33m", "low": "\033[36m", "info": "\033[2m"}
RESET = "\033[0m"
BOLD = "\033[1m"


def to_json(result: ScanResult) -> str:
    return orjson.dumps(result.to_dict(), option=orjson.OPT_INDENT_2).decode() + "\n"


def _uri(source: str) -> str:
    path = source.split("#", 1)[0]
    try:
        rel = Path(path).resolve().relative_to(Path.cwd().resolve())
        return rel.as_posix()
    except ValueError:
        return Path(path).resolve().as_uri()


def to_sarif(result: ScanResult) -> str:
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for f in result.findings():
        if f.rule not in rules:
            rules[f.rule] = {
                "id": f.rule,
                "name": "".join(p.capitalize() for p in f.rule.replace("-", ".").replace("_", ".").split(".")),
                "shortDescription": {"text": f.title},
                "fullDescription": {"text": f.explanation or f.title},
                "defaultConfiguration": {"level": LEVEL[f.severity]},
                "properties": {"tags": ["security", "mcp", f.category],
                               "security-severity": SECURITY_SEVERITY[f.severity]},
            }
        fqn = f"{f.server}/{f.item_kind}/{f.item}" if f.item else f"{f.server}/{f.item_kind}"
        where = f"server '{f.server}', {f.item_kind} '{f.item}'" if f.item else f"server '{f.server}'"
        message = f"{f.title}: {where}."
        if f.evidence:
            message += f" Evidence: {visible(f.evidence)!r}"
        res: dict[str, Any] = {
            "ruleId": f.rule,
            "ruleIndex": list(rules).index(f.rule),
            "level": LEVEL[f.severity],
            "message": {"text": message},
            "locations": [{
                "physicalLocation": {"artifactLocation": {"uri": _uri(f.source)}},
                "logicalLocations": [{"name": f.item or f.server, "fullyQualifiedName": fqn, "kind": "member"}],
            }],
            "partialFingerprints": {"bastion/v1": f"{f.server}|{f.item_kind}|{f.item}|{f.rule}|{f.field}"},
            "properties": {"severity": f.severity, "confidence": round(f.confidence, 3), "client": f.client,
                           "category": f.category, **({"field": f.field} if f.field else {})},
        }
        results.append(res)
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "mcp-bastion", "version": __version__,
                                "informationUri": "https://github.com/mcp-bastion/mcp-bastion",
                                "rules": list(rules.values())}},
            "results": results,
            "columnKind": "unicodeCodePoints",
        }],
    }
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n"


def visible(text: str) -> str:
    """Evidence made readable: Unicode tag characters shown as the ASCII they smuggle, other
    invisible and direction-changing characters as <U+XXXX>."""
    out: list[str] = []
    tags: list[str] = []
    for ch in text:
        cp = ord(ch)
        if 0xE0000 <= cp <= 0xE007F:
            tags.append(chr(cp - 0xE0000) if 0xE0020 <= cp <= 0xE007E else "")
            continue
        if tags:
            out.append("⟦hidden: " + "".join(tags) + "⟧")
            tags = []
        if cp in (0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF) or 0x202A <= cp <= 0x202E or 0x2066 <= cp <= 0x2069 \
                or ch in "\x1b":
            out.append(f"<U+{cp:04X}>")
        else:
            out.append(ch)
    if tags:
        out.append("⟦hidden: " + "".join(tags) + "⟧")
    return "".join(out)


def _color(out: TextIO) -> bool:
    return out.isatty() and not os.environ.get("NO_COLOR")


def _sev(sev: str, color: bool) -> str:
    label = sev.upper().ljust(8)
    return f"{COLORS[sev]}{label}{RESET}" if color else label


def to_table(result: ScanResult, out: TextIO = sys.stdout, show_all: bool = False) -> None:
    color = _color(out)
    w = out.write
    if not result.servers:
        w("No MCP servers found. Give config files as arguments, or see `bastion scan --help` for where "
          "clients keep them.\n")
        return
    for s in sorted(result.servers, key=lambda s: (-RANK[s.worst] if s.findings else 1, s.client, s.name)):
        counts = ", ".join(f"{n} {k}" for k, n in s.counts.items() if n)
        state = {"ok": f"{s.era or '?'} {s.protocol_version or ''}".strip(), "skipped": "not connected",
                 "error": f"unreachable: {s.error}"}[s.status]
        head = f"{s.client}: {s.name}"
        w(f"\n{BOLD + head + RESET if color else head}  ({s.target})\n")
        w(f"  {state}{' · ' + counts if counts else ''}{' · sandboxed' if s.sandboxed else ''}"
          f"{' · MALICIOUS' if s.verdict == 'malicious' else ''}\n")
        shown = [f for f in s.findings if show_all or RANK[f.severity] >= RANK["low"]]
        for f in sorted(shown, key=lambda f: -RANK[f.severity]):
            where = f"{f.item_kind} {f.item}".strip() if f.item else f.item_kind
            w(f"  {_sev(f.severity, color)} {where}: {f.title} [{f.rule}]\n")
            if f.evidence:
                w(f"           evidence ({f.field or 'text'}): {visible(f.evidence)!r}\n")
            if f.diff:
                for line in f.diff.splitlines()[:30]:
                    w(f"           {line}\n")
        hidden = len(s.findings) - len(shown)
        if hidden:
            w(f"  ({hidden} informational findings hidden; --show-all shows them)\n")
        if not s.findings:
            w("  no findings\n")
    fs = result.findings()
    totals = {sev: sum(1 for f in fs if f.severity == sev) for sev in reversed(list(RANK))}
    summary = ", ".join(f"{n} {sev}" for sev, n in totals.items() if n) or "no findings"
    w(f"\n{len(result.servers)} servers scanned: {summary}\n")
    if result.lockfile:
        w(f"pins: {result.lockfile}\n")


def finding_sort_key(f: ScanFinding) -> tuple[int, str, str]:
    return (-RANK[f.severity], f.server, f.item)
