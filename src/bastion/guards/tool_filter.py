"""Static tool allow/deny filter per upstream.

For each upstream, ``allow`` (glob patterns; when given, only matching tools exist) and ``deny``
(glob patterns; matching tools never exist). Filtered tools are removed from ``tools/list`` results
and calls to them are refused with rule ``tool_filter.denied``, so a client can neither see nor
call them. Names are the upstream's own, before namespacing::

    guards:
      - type: tool_filter
        upstreams:
          git: {allow: ["git_status", "git_log", "git_diff*"]}
          everything: {deny: ["*env*"]}
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from typing import ClassVar

from bastion.guards.base import ALLOW, BaseGuard, Context, Deny, Mutate, Verdict
from bastion.protocol.jsonrpc import Message


class _Rule:
    def __init__(self, allow: list[str] | None, deny: list[str]) -> None:
        self.allow = _compile(allow) if allow is not None else None
        self.deny = _compile(deny) if deny else None

    def permits(self, tool: str) -> bool:
        if self.allow is not None and not self.allow.fullmatch(tool):
            return False
        return not (self.deny is not None and self.deny.fullmatch(tool))


def _compile(patterns: list[str]) -> re.Pattern[str]:
    if not patterns:
        return re.compile(r"(?!)")
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))


class ToolFilterGuard(BaseGuard):
    name: ClassVar[str] = "tool_filter"
    request_methods: ClassVar[frozenset[str] | None] = frozenset({"tools/call"})
    response_methods: ClassVar[frozenset[str] | None] = frozenset({"tools/list"})

    def __init__(self, rules: Mapping[str, tuple[list[str] | None, list[str]]]) -> None:
        self.rules = {up: _Rule(allow, deny) for up, (allow, deny) in rules.items()}

    def on_request(self, msg: Message, ctx: Context) -> Verdict:
        if msg.method != "tools/call" or ctx.upstream is None:
            return ALLOW
        rule = self.rules.get(ctx.upstream)
        if rule is None or ctx.target is None or rule.permits(ctx.target):
            return ALLOW
        return Deny("tool_filter.denied", f"tool {ctx.target!r} of upstream {ctx.upstream!r} is not allowed")

    def on_response(self, msg: Message, ctx: Context) -> Verdict:
        if ctx.method != "tools/list" or ctx.upstream is None:
            return ALLOW
        rule = self.rules.get(ctx.upstream)
        tools = msg.result.get("tools")
        if rule is None or not isinstance(tools, list):
            return ALLOW
        kept = [t for t in tools if isinstance(t, dict) and rule.permits(str(t.get("name", "")))]
        if len(kept) == len(tools):
            return ALLOW
        obj = dict(msg.obj)
        obj["result"] = {**msg.result, "tools": kept}
        return Mutate(obj, "tool_filter.hidden", f"{len(tools) - len(kept)} tools hidden")
