from __future__ import annotations

from typing import ClassVar

import pytest

from bastion.guards.base import ALLOW, BaseGuard, Context, Deny, Mode, Mutate, Verdict
from bastion.guards.chain import Chain, Installed
from bastion.protocol.eras import Era
from bastion.protocol.jsonrpc import Message

REQ = Message.from_obj({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "t"}})


def ctx() -> Context:
    return Context(session_id="s", era=Era.HANDSHAKE, transport="stdio", method="tools/call")


class Allows(BaseGuard):
    name: ClassVar[str] = "allows"
    calls = 0

    def on_request(self, msg: Message, ctx: Context) -> Verdict:
        type(self).calls += 1
        return ALLOW


class Denies(BaseGuard):
    name: ClassVar[str] = "denies"

    def on_request(self, msg: Message, ctx: Context) -> Verdict:
        return Deny("denies.always", "no")


class Tags(BaseGuard):
    name: ClassVar[str] = "tags"

    async def on_request(self, msg: Message, ctx: Context) -> Verdict:
        return Mutate({**msg.obj, "params": {**msg.params, "tag": True}}, "tags.added")


class Crashes(BaseGuard):
    name: ClassVar[str] = "crashes"

    def on_request(self, msg: Message, ctx: Context) -> Verdict:
        raise RuntimeError("boom")


class ReturnsJunk(BaseGuard):
    name: ClassVar[str] = "junk"

    def on_request(self, msg: Message, ctx: Context) -> Verdict:
        return "allow"  # type: ignore[return-value]


class AsyncCrashes(BaseGuard):
    name: ClassVar[str] = "acrash"

    async def on_request(self, msg: Message, ctx: Context) -> Verdict:
        raise RuntimeError("boom")


class AsyncJunk(BaseGuard):
    name: ClassVar[str] = "ajunk"

    async def on_request(self, msg: Message, ctx: Context) -> Verdict:
        return None  # type: ignore[return-value]


class AsyncAllows(BaseGuard):
    name: ClassVar[str] = "aallows"

    async def on_request(self, msg: Message, ctx: Context) -> Verdict:
        return ALLOW


class AsyncDenies(BaseGuard):
    name: ClassVar[str] = "adenies"

    async def on_request(self, msg: Message, ctx: Context) -> Verdict:
        return Deny("adenies.always", "no")


CASES: list[tuple[list[tuple[type[BaseGuard], Mode]], str, str | None, bool]] = [
    # guards, verdict, deciding rule, message mutated
    ([(Allows, "enforce")], "allow", None, False),
    ([(Denies, "enforce")], "deny", "denies.always", False),
    ([(Denies, "monitor")], "mutate", None, False),  # monitor logs, lets pass
    ([(Denies, "off")], "allow", None, False),
    ([(Tags, "enforce"), (Denies, "enforce")], "deny", "denies.always", True),
    ([(Denies, "enforce"), (Tags, "enforce")], "deny", "denies.always", False),  # first deny wins
    ([(Tags, "monitor")], "mutate", None, False),
    ([(Crashes, "enforce")], "deny", "crashes.error", False),  # fail closed
    ([(Crashes, "monitor")], "mutate", None, False),
    ([(ReturnsJunk, "enforce")], "deny", "junk.error", False),
    # async guards take the awaited path: same rules
    ([(AsyncAllows, "enforce"), (Tags, "enforce")], "mutate", None, True),
    ([(AsyncDenies, "enforce"), (Tags, "enforce")], "deny", "adenies.always", False),
    ([(AsyncCrashes, "enforce")], "deny", "acrash.error", False),
    ([(AsyncJunk, "enforce")], "deny", "ajunk.error", False),
    ([(AsyncCrashes, "monitor"), (Allows, "enforce")], "mutate", None, False),
]


@pytest.mark.parametrize(("guards", "verdict", "rule", "mutated"), CASES)
async def test_chain_table(guards: list[tuple[type[BaseGuard], Mode]], verdict: str, rule: str | None,
                           mutated: bool) -> None:
    chain = Chain([Installed(g(), mode) for g, mode in guards])
    out = await chain.run("request", REQ, ctx())
    assert out.verdict == verdict
    assert (out.deny.rule if out.deny else None) == rule
    assert (out.message is not REQ) == mutated
    if mutated:
        assert out.message.params["tag"] is True


async def test_monitor_records_the_rule_it_would_have_applied() -> None:
    out = await Chain([Installed(Denies(), "monitor")]).run("request", REQ, ctx())
    assert out.rules == ["denies.always(monitor)"]
    assert out.deny is None


async def test_phase_not_implemented_is_skipped() -> None:
    Allows.calls = 0
    chain = Chain([Installed(Allows(), "enforce")])
    await chain.run("response", REQ, ctx())
    assert Allows.calls == 0
    await chain.run("request", REQ, ctx())
    assert Allows.calls == 1
