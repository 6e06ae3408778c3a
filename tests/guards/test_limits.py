from __future__ import annotations

import pytest

from bastion.guards.base import Allow, Context, Deny
from bastion.guards.limits import LimitsGuard, nesting_depth
from bastion.protocol import errors
from bastion.protocol.eras import Era
from bastion.protocol.jsonrpc import Message


@pytest.mark.parametrize(("value", "depth"), [(1, 0), ({}, 1), ([], 1), ({"a": [1, {"b": []}]}, 4), ([[[[]]]], 4)])
def test_nesting_depth(value: object, depth: int) -> None:
    assert nesting_depth(value) == depth


def test_nesting_depth_has_no_recursion_limit() -> None:
    value: object = 0
    for _ in range(5000):
        value = [value]
    assert nesting_depth(value) == 5000


def nested(n: int) -> Message:
    inner: object = "x"
    for _ in range(n):
        inner = {"k": inner}
    return Message.from_obj({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"a": inner}})


CTX = Context(session_id="s", era=Era.HANDSHAKE, transport="stdio")
CASES = [
    (nested(5), 10_000, 10, None),
    (nested(9), 10_000, 10, "limits.depth"),  # 9 + params + envelope = 11
    (nested(8), 10_000, 10, None),
    (Message.from_obj({"jsonrpc": "2.0", "id": 1, "method": "x", "params": {"s": "y" * 500}}), 100, 10, "limits.size"),
    (Message.from_obj({"jsonrpc": "2.0", "id": 1, "method": "x", "params": {"s": "{[{[" * 20}}), 10_000, 4, None),
]


@pytest.mark.parametrize(("msg", "max_bytes", "max_depth", "rule"), CASES)
def test_limits_both_phases(msg: Message, max_bytes: int, max_depth: int, rule: str | None) -> None:
    guard = LimitsGuard(max_bytes, max_depth)
    for verdict in (guard.on_request(msg, CTX), guard.on_response(msg, CTX)):
        if rule is None:
            assert isinstance(verdict, Allow)
        else:
            assert isinstance(verdict, Deny) and verdict.rule == rule
            assert verdict.code == errors.MESSAGE_TOO_LARGE


def test_a_deny_says_which_way_the_message_went() -> None:
    guard = LimitsGuard(10, 10)
    request = Message.from_obj({"jsonrpc": "2.0", "id": 1, "method": "x", "params": {"s": "y" * 20}})
    response = Message.from_obj({"jsonrpc": "2.0", "id": 1, "result": {"s": "y" * 20}})
    error = Message.from_obj({"jsonrpc": "2.0", "id": 1, "error": {"code": 1, "message": "y" * 20}})
    reasons = [v.reason for v in (guard.on_request(request, CTX), guard.on_response(response, CTX),
                                  guard.on_response(error, CTX)) if isinstance(v, Deny)]
    assert [r.split(" of ")[0] for r in reasons] == ["request", "response", "response"]
