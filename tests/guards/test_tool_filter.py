from __future__ import annotations

import pytest

from bastion.guards.base import Allow, Context, Deny, Mutate
from bastion.guards.tool_filter import ToolFilterGuard
from bastion.protocol.eras import Era
from bastion.protocol.jsonrpc import Message

GUARD = ToolFilterGuard({
    "git": (["git_status", "git_log", "git_diff*"], []),
    "everything": (None, ["*env*"]),
    "both": (["a*"], ["ab"]),
})


def call_ctx(upstream: str, tool: str) -> Context:
    return Context(session_id="s", era=Era.HANDSHAKE, transport="http", method="tools/call",
                   upstream=upstream, target=tool)


CALL = Message.from_obj({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "x"}})


@pytest.mark.parametrize(("upstream", "tool", "allowed"), [
    ("git", "git_status", True),
    ("git", "git_diff_staged", True),
    ("git", "git_commit", False),
    ("everything", "echo", True),
    ("everything", "get-env", False),
    ("both", "abc", True),
    ("both", "ab", False),
    ("both", "b", False),
    ("other", "anything", True),
])
def test_calls(upstream: str, tool: str, allowed: bool) -> None:
    verdict = GUARD.on_request(CALL, call_ctx(upstream, tool))
    if allowed:
        assert isinstance(verdict, Allow)
    else:
        assert isinstance(verdict, Deny) and verdict.rule == "tool_filter.denied"
        assert tool in verdict.reason


def test_lists_are_filtered_per_upstream() -> None:
    reply = Message.from_obj({"jsonrpc": "2.0", "id": 1, "result": {
        "tools": [{"name": "git_status"}, {"name": "git_commit"}, {"name": "git_diff"}], "nextCursor": "c"}})
    ctx = Context(session_id="s", era=Era.HANDSHAKE, transport="http", method="tools/list", upstream="git")
    verdict = GUARD.on_response(reply, ctx)
    assert isinstance(verdict, Mutate)
    assert [t["name"] for t in verdict.obj["result"]["tools"]] == ["git_status", "git_diff"]
    assert verdict.obj["result"]["nextCursor"] == "c"
    ctx.upstream = "other"
    assert isinstance(GUARD.on_response(reply, ctx), Allow)
