"""Message limits: size and nesting depth, both directions.

A message larger than ``max_bytes`` or nested deeper than ``max_depth`` is refused with error
-32013 (rules ``limits.size`` and ``limits.depth``). Huge or deeply nested JSON is a cheap way to
exhaust a server's memory or a parser's stack; a result over the limit is refused rather than
truncated, so the client never sees half an answer.
"""

from __future__ import annotations

from typing import Any, ClassVar

from bastion.guards.base import ALLOW, BaseGuard, Context, Deny, Verdict
from bastion.protocol import errors
from bastion.protocol.jsonrpc import Kind, Message


def nesting_depth(value: Any) -> int:
    """Deepest nesting of objects/arrays (a scalar is 0, ``{}`` is 1). Iterative: no recursion limit."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            depth += 1
            deepest = max(deepest, depth)
            stack.extend((v, depth) for v in item.values() if isinstance(v, dict | list))
        elif isinstance(item, list):
            depth += 1
            deepest = max(deepest, depth)
            stack.extend((v, depth) for v in item if isinstance(v, dict | list))
    return deepest


class LimitsGuard(BaseGuard):
    name: ClassVar[str] = "limits"

    def __init__(self, max_bytes: int, max_depth: int) -> None:
        self.max_bytes = max_bytes
        self.max_depth = max_depth

    def on_request(self, msg: Message, ctx: Context) -> Verdict:
        """Both phases (one function: this runs on every message)."""
        raw = msg.raw
        size = len(raw)
        if size > self.max_bytes:
            return Deny("limits.size", f"{_what(msg)} of {size} bytes exceeds {self.max_bytes}",
                        errors.MESSAGE_TOO_LARGE)
        # Depth can be no more than the number of opening brackets: skip the walk when that is small.
        if size > self.max_depth and raw.count(b"{") + raw.count(b"[") > self.max_depth:
            depth = nesting_depth(msg.obj)
            if depth > self.max_depth:
                return Deny("limits.depth", f"{_what(msg)} nests {depth} deep, over {self.max_depth}",
                            errors.MESSAGE_TOO_LARGE)
        return ALLOW

    on_response = on_request


def _what(msg: Message) -> str:
    return "response" if msg.kind is Kind.RESPONSE or msg.kind is Kind.ERROR else "request"
