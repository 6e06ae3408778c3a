"""Tool-poisoning quarantine.

Every ``tools/list`` result is scanned, per upstream, by the detection engine (the one behind
``bastion scan``): every string of every tool (name, description, each schema property, default,
enum and example, annotations). A tool the engine judges malicious (hidden instructions,
exfiltration through parameters, shadowing of other tools, smuggled Unicode …) is removed from the
list, and calls to it are refused with rule ``tool_poisoning.quarantined``; the error and the audit
name the detection rules that fired. Verdicts are cached by the tool's canonical hash, so a
listing costs a scan only when a definition changes, and a tool that turns malicious later (a rug
pull) is quarantined from its next listing on. In ``monitor`` mode the findings are only logged.

    guards:
      - {type: tool_poisoning}
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any, ClassVar

import orjson

from bastion.detect import default_engine
from bastion.detect.models import ItemReport
from bastion.guards.base import ALLOW, BaseGuard, Context, Deny, Mutate, Verdict
from bastion.protocol.jsonrpc import Message

log = logging.getLogger("bastion.guards.tool_poisoning")
MAX_CACHE = 50_000


class ToolPoisoningGuard(BaseGuard):
    name: ClassVar[str] = "tool_poisoning"
    request_methods: ClassVar[frozenset[str] | None] = frozenset({"tools/call"})
    response_methods: ClassVar[frozenset[str] | None] = frozenset({"tools/list"})

    def __init__(self) -> None:
        self.engine = default_engine()
        self._verdicts: dict[str, ItemReport] = {}
        self.quarantined: dict[tuple[str, str], str] = {}
        """(upstream, tool) -> the rules that condemned it."""

    def _report(self, tool: dict[str, Any]) -> ItemReport:
        key = hashlib.sha256(orjson.dumps(tool, option=orjson.OPT_SORT_KEYS)).hexdigest()
        report = self._verdicts.get(key)
        if report is None:
            if len(self._verdicts) >= MAX_CACHE:
                self._verdicts.clear()
            report = self._verdicts[key] = self.engine.scan_tool(tool)
        return report

    def on_response(self, msg: Message, ctx: Context) -> Verdict:
        if ctx.method != "tools/list" or ctx.upstream is None:
            return ALLOW
        tools = msg.result.get("tools")
        if not isinstance(tools, list):
            return ALLOW
        kept = []
        for tool in tools:
            if not isinstance(tool, dict):
                continue
            name = str(tool.get("name", ""))
            report = self._report(tool)
            if report.malicious:
                rules = ", ".join(sorted(report.rules()))
                if (ctx.upstream, name) not in self.quarantined:
                    log.warning("quarantined tool %r of upstream %r (%s)", name, ctx.upstream, rules)
                self.quarantined[(ctx.upstream, name)] = rules
            else:
                self.quarantined.pop((ctx.upstream, name), None)
                kept.append(tool)
        if len(kept) == len(tools):
            return ALLOW
        obj = dict(msg.obj)
        obj["result"] = {**msg.result, "tools": kept}
        hidden = [str(t.get("name")) for t in tools if isinstance(t, dict) and t not in kept]
        return Mutate(obj, "tool_poisoning.quarantined", f"quarantined: {', '.join(hidden)}")

    def on_request(self, msg: Message, ctx: Context) -> Verdict:
        if msg.method != "tools/call" or ctx.upstream is None or ctx.target is None:
            return ALLOW
        rules = self.quarantined.get((ctx.upstream, ctx.target))
        if rules is None:
            return ALLOW
        return Deny("tool_poisoning.quarantined",
                    f"tool {ctx.target!r} of upstream {ctx.upstream!r} is quarantined as poisoned ({rules})")
