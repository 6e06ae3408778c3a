from __future__ import annotations

import inspect
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


PLAIN_CASES = [c for c in CASES if not any(inspect.iscoroutinefunction(g.on_request) for g, _ in c[0])]


@pytest.mark.parametrize(("guards", "verdict", "rule", "mutated"), PLAIN_CASES)
def test_decide_gives_what_run_gives_for_plain_guards(guards: list[tuple[type[BaseGuard], Mode]], verdict: str,
                                                      rule: str | None, mutated: bool) -> None:
    chain = Chain([Installed(g(), mode) for g, mode in guards])
    assert chain.sync["request"]
    out = chain.decide("request", REQ, ctx())
    assert (out.verdict, out.deny.rule if out.deny else None, out.message is not REQ) == (verdict, rule, mutated)


def test_a_plain_guard_returning_an_awaitable_denies_in_decide() -> None:
    class Sneaky(BaseGuard):
        name: ClassVar[str] = "sneaky"

        def on_request(self, msg: Message, ctx: Context) -> Verdict:
            return Tags().on_request(msg, ctx)  # type: ignore[return-value]

    chain = Chain([Installed(Sneaky(), "enforce")])
    assert chain.sync["request"]  # it looks plain
    out = chain.decide("request", REQ, ctx())
    assert out.deny is not None and out.deny.rule == "sneaky.error"


def test_sync_is_false_for_a_phase_with_an_async_guard() -> None:
    chain = Chain([Installed(Allows(), "enforce"), Installed(Tags(), "enforce")])
    assert chain.sync == {"request": False, "response": True}


class CallsOnly(BaseGuard):
    name: ClassVar[str] = "calls_only"
    request_methods: ClassVar[frozenset[str] | None] = frozenset({"tools/call"})
    transports: ClassVar[frozenset[str] | None] = frozenset({"stdio"})
    seen: ClassVar[list[str]] = []

    def on_request(self, msg: Message, ctx: Context) -> Verdict:
        self.seen.append(f"{ctx.transport} {ctx.method}")
        return ALLOW


@pytest.mark.parametrize(("transport", "method", "called"), [
    ("stdio", "tools/call", True),
    ("stdio", "tools/list", False),
    ("stdio", "made/up", False),
    ("http", "tools/call", False),
])
async def test_guards_are_called_only_for_their_methods_and_transports(transport: str, method: str,
                                                                       called: bool) -> None:
    CallsOnly.seen.clear()
    chain = Chain([Installed(CallsOnly(), "enforce"), Installed(Allows(), "enforce")])
    c = Context(session_id="s", era=Era.HANDSHAKE, transport=transport, method=method)
    Allows.calls = 0
    await chain.run("request", REQ, c)
    chain.decide("request", REQ, c)
    assert CallsOnly.seen == ([f"{transport} {method}"] * 2 if called else [])
    assert Allows.calls == 2  # a guard with no limits sees every method


def test_plans_stay_bounded_whatever_methods_clients_invent() -> None:
    chain = Chain([Installed(CallsOnly(), "enforce")])
    for i in range(10_000):
        chain.decide("request", REQ, Context(session_id="s", era=Era.HANDSHAKE, transport="stdio", method=f"m{i}"))
    assert len(chain._plans) <= 2


@pytest.mark.parametrize(("guards", "verdict", "rule", "mutated"), PLAIN_CASES)
def test_check_builds_nothing_when_every_guard_allows(guards: list[tuple[type[BaseGuard], Mode]], verdict: str,
                                                      rule: str | None, mutated: bool) -> None:
    chain = Chain([Installed(g(), mode) for g, mode in guards])
    out = chain.check("request", REQ, ctx())
    if out is None:
        assert (verdict, rule, mutated) == ("allow", None, False)
    else:
        assert (out.verdict, out.deny.rule if out.deny else None, out.message is not REQ) == (verdict, rule, mutated)
        assert out.rules  # something acted, or would have
