"""Turns config entries, enumerations and pins into findings.

- Config entries: supply-chain checks (typosquatted packages, unpinned installs, plaintext secrets,
  dangerous flags) — :mod:`bastion.detect.supply_chain`.
- What servers expose: the detection engine over every string of every tool, prompt, resource and
  the server instructions; servers of one client config are scanned together, so a tool that talks
  about another server's tools (shadowing) or imitates its names is visible. Findings on an item
  the engine does not judge malicious are kept as ``info`` (weak signals; ``--show-all``).
- Name collisions: two servers of one client offering the same tool name.
- Pins: what changed since ``bastion.lock``; a change that makes a definition malicious is a
  rug pull (critical).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from bastion.detect.engine import Engine, default_engine
from bastion.detect.models import Finding, ItemReport
from bastion.detect.supply_chain import check_server_entry
from bastion.scan.discovery import ServerEntry
from bastion.scan.enumerate import Enumeration
from bastion.scan.lockfile import Change, compare
from bastion.scan.model import ScanFinding, ServerResult

_ITEM_KIND = {"tools": "tool", "prompts": "prompt", "resources": "resource", "resource_templates": "resource"}


SECRET_RULES = {"SC-006"}


def mask(value: str) -> str:
    """Enough of a secret to recognise it, not enough to use it."""
    if len(value) <= 8:
        return "*" * len(value)
    return f"{value[:4]}…{value[-2:]} ({len(value)} chars)"


def _sf(entry: ServerEntry, item_kind: str, item: str, f: Finding, severity: str | None = None) -> ScanFinding:
    secret = f.category in ("secrets", "pii") or f.rule in SECRET_RULES
    return ScanFinding(
        server=entry.name, client=entry.client, source=entry.source, item_kind=item_kind, item=item,
        rule=f.rule, title=f.title, severity=severity or f.severity, category=f.category,
        explanation=f.explanation, confidence=f.confidence, field=f.field,
        evidence=mask(f.evidence) if secret else f.evidence, start=f.start, end=f.end,
    )


def _item_findings(entry: ServerEntry, item_kind: str, report: ItemReport) -> list[ScanFinding]:
    return [_sf(entry, item_kind, report.name, f, None if report.malicious else "info") for f in report.findings]


def _entry_mapping(entry: ServerEntry) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if entry.command:
        data["command"] = entry.command
        data["args"] = list(entry.args)
    if entry.env:
        data["env"] = dict(entry.env)
    if entry.url:
        data["url"] = entry.url
    if entry.headers:
        data["headers"] = dict(entry.headers)
    return data


def config_findings(entry: ServerEntry, engine: Engine) -> tuple[list[ScanFinding], bool]:
    """Supply-chain findings of a config entry, and whether they make it malicious."""
    report = check_server_entry(entry.name, _entry_mapping(entry), engine=engine)
    return [_sf(entry, "config", entry.name, f) for f in report.findings], report.malicious


def _scan_item(kind: str, value: Any, engine: Engine) -> ItemReport:
    if kind == "instructions" or not isinstance(value, dict):
        return engine.scan_text(str(value), "tool_description")
    return engine.scan_definition(value)


def _change_finding(entry: ServerEntry, c: Change, engine: Engine) -> ScanFinding:
    kind = _ITEM_KIND.get(c.kind, c.kind)

    def mk(rule: str, title: str, severity: str, explanation: str) -> ScanFinding:
        return ScanFinding(entry.name, entry.client, entry.source, kind, c.name, rule, title, severity,
                           "rug pull", explanation, diff=c.diff)

    if c.kind == "identity":
        return mk("pin.identity-changed", "Server identity differs from its pin", "high",
                  "What runs this server, or the name it gives itself, is not what was pinned: a different "
                  "package, URL or an impostor.")
    if c.change == "removed":
        return mk("pin.removed", f"Pinned {kind} no longer offered", "info", "Something that was pinned is gone.")
    now = _scan_item(c.kind, c.new, engine)
    was_bad = c.old is not None and _scan_item(c.kind, c.old, engine).malicious
    if now.malicious and not was_bad:
        rules = ", ".join(sorted(now.rules()))
        return mk("pin.rug-pull", f"{kind.capitalize()} turned malicious after it was pinned", "critical",
                  f"The definition changed since it was trusted and now carries attack content ({rules}).")
    if c.change == "added":
        return mk("pin.added", f"New {kind} since the pin", "low",
                  "Not reviewed when the server was pinned; re-pin after review.")
    return mk("pin.changed", f"{kind.capitalize()} changed since its pin", "medium",
              "The definition differs from the one trusted; review the diff and re-pin.")


def analyze(
    entries: Sequence[ServerEntry],
    enumerations: dict[str, Enumeration] | None,
    lock: dict[str, Any] | None,
    engine: Engine | None = None,
) -> list[ServerResult]:
    """``enumerations`` by entry key (None with ``--no-connect``)."""
    eng = engine or default_engine()
    results: dict[str, ServerResult] = {}
    for entry in entries:
        e = enumerations.get(entry.key) if enumerations is not None else None
        status = "skipped" if e is None else "ok" if e.ok else "error"
        r = ServerResult(entry.name, entry.client, entry.source, entry.describe(), status,
                         error=e.error if e is not None else None)
        found, bad = config_findings(entry, eng)
        r.findings.extend(found)
        if bad:
            r.verdict = "malicious"
        if e is not None:
            r.era, r.protocol_version = e.era, e.protocol_version
            r.server_info, r.sandboxed = e.server_info, e.sandboxed
            r.counts = {"tools": len(e.tools), "prompts": len(e.prompts),
                        "resources": len(e.resources) + len(e.resource_templates)}
            if not e.ok:
                r.findings.append(ScanFinding(entry.name, entry.client, entry.source, "server", "", "scan.unreachable",
                                              "Server could not be enumerated", "info", "availability",
                                              e.error or "no answer"))
            elif e.sandboxed is False:
                r.findings.append(ScanFinding(entry.name, entry.client, entry.source, "server", "", "scan.unsandboxed",
                                              "Local server was started without a sandbox", "low", "isolation",
                                              "--no-sandbox ran this server with your rights."))
        results[entry.key] = r
    if enumerations is not None:
        _content(entries, enumerations, results, eng)
        if lock is not None:
            for entry in entries:
                e = enumerations.get(entry.key)
                if e is not None and e.ok:
                    diff = compare(lock, e)
                    results[entry.key].findings.extend(_change_finding(entry, c, eng) for c in diff.changes)
    for r in results.values():
        if any(f.rule == "pin.rug-pull" for f in r.findings):
            r.verdict = "malicious"
    return list(results.values())


def _content(entries: Sequence[ServerEntry], enumerations: dict[str, Enumeration],
             results: dict[str, ServerResult], eng: Engine) -> None:
    by_config: dict[str, list[ServerEntry]] = defaultdict(list)
    for entry in entries:
        e = enumerations.get(entry.key)
        if e is not None and e.ok:
            by_config[entry.source.split("#", 1)[0]].append(entry)
    for group in by_config.values():
        fleet = {entry.name: enumerations[entry.key].as_server() for entry in group}
        reports = eng.scan_fleet(fleet)
        owners: dict[str, list[str]] = defaultdict(list)
        for entry in group:
            rep = reports[entry.name]
            r = results[entry.key]
            for kind, items in (("tool", rep.tools), ("prompt", rep.prompts), ("resource", rep.resources)):
                for item in items.values():
                    r.findings.extend(_item_findings(entry, kind, item))
            if rep.instructions is not None:
                r.findings.extend(_item_findings(entry, "instructions", rep.instructions))
            if rep.malicious:
                r.verdict = "malicious"
            for t in enumerations[entry.key].tools:
                if isinstance(t.get("name"), str):
                    owners[t["name"]].append(entry.name)
        for tool, servers in owners.items():
            if len(set(servers)) > 1:
                for entry in group:
                    if entry.name in servers:
                        others = ", ".join(sorted(set(servers) - {entry.name}))
                        results[entry.key].findings.append(ScanFinding(
                            entry.name, entry.client, entry.source, "tool", tool, "cross.name-collision",
                            "Tool name offered by several servers", "medium", "shadowing",
                            f"'{tool}' is also offered by {others}: a client may call the wrong one, and one "
                            "server can shadow the other's tool.", field="name", evidence=tool))
