"""Requests relayed without a task (:meth:`Gateway.relay_now`), against a real stdio server.

The relayed path must answer exactly as the awaited path does (same response, same audit record),
deny at once, time out, hear of a crash, honour cancellation and let calls finish when the client
hangs up; requests it cannot take go the awaited way.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from tests.support import ERA_SERVER

from bastion.audit.log import AuditLog
from bastion.config import parse_config
from bastion.gateway.core import Gateway
from bastion.protocol import errors
from bastion.protocol.jsonrpc import parse
from bastion.transports.stream_session import StreamSession


class Client:
    """A stdio client session as the gateway sees it: lines in, answers collected."""

    def __init__(self, gw: Gateway) -> None:
        self.out: list[dict[str, Any]] = []
        self.stream = StreamSession(gw, "stdio", lambda data: self.out.append(orjson.loads(data)))
        self.ids = 0

    def send(self, obj: dict[str, Any]) -> None:
        self.stream.receive(orjson.dumps({"jsonrpc": "2.0", **obj}))

    def call(self, tool: str, args: dict[str, Any] | None = None) -> int:
        self.ids += 1
        self.send({"id": self.ids, "method": "tools/call", "params": {"name": tool, "arguments": args or {}}})
        return self.ids

    async def answer(self, rid: int, timeout: float = 10) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                for m in self.out:
                    if m.get("id") == rid:
                        return m
                await asyncio.sleep(0.005)

    async def initialize(self) -> None:
        self.send({"id": "init", "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
        await self.answer("init")  # type: ignore[arg-type]
        self.send({"method": "notifications/initialized"})
        await asyncio.sleep(0.05)


def _config(tmp_path: Path, **extra: Any) -> Any:
    data: dict[str, Any] = {
        "listen": {"stdio": True},
        "upstreams": {"s": {"command": sys.executable, "args": [str(ERA_SERVER), "stdio", "legacy"],
                            "timeout": 0.5}},
        "sandbox": {"backend": "none"},
        "audit": {"path": str(tmp_path / "audit.jsonl")},
        **extra,
    }
    return parse_config(data, "test")


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[Gateway]:
    cfg = _config(tmp_path, guards=[
        {"type": "limits"}, {"type": "secret_redaction"}, {"type": "tool_poisoning"},
        {"type": "tool_filter", "upstreams": {"s": {"deny": ["sql"]}}},
    ])
    gw = Gateway(cfg, AuditLog(cfg.audit.path))
    await gw.start()
    yield gw
    await gw.close()


def _audit(gw: Gateway) -> list[dict[str, Any]]:
    gw.audit.flush()
    assert gw.audit.path is not None
    return [orjson.loads(line) for line in Path(gw.audit.path).read_bytes().splitlines()]


async def test_relayed_call_answers_and_audits_as_the_awaited_path(gateway: Gateway) -> None:
    c = Client(gateway)
    await c.initialize()
    rid = c.call("echo", {"text": "hi"})
    assert not c.stream.tasks  # relayed: no task
    relayed = await c.answer(rid)
    assert relayed == {"jsonrpc": "2.0", "id": rid, "result": {"content": [{"type": "text", "text": "echo: hi"}],
                                                               "isError": False}}
    awaited = await gateway.handle(c.stream.session, parse(orjson.dumps(
        {"jsonrpc": "2.0", "id": rid, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": "hi"}}})),
        lambda _: None)
    assert awaited is not None and orjson.loads(awaited) == relayed
    first, second = [r for r in _audit(gateway) if r["method"] == "tools/call"]
    for r in (first, second):
        del r["ts"], r["latency_ms"]
    assert first == second
    assert first["verdict"] == "allow" and first["upstream"] == "s" and first["target"] == "echo"
    assert "args_sha256" in first


async def test_denied_call_is_answered_at_once_with_its_rule(gateway: Gateway) -> None:
    c = Client(gateway)
    await c.initialize()
    rid = c.call("sql", {"region": "eu", "query": "x"})
    assert not c.stream.tasks
    assert c.out[-1]["id"] == rid  # answered before the loop ran again
    assert c.out[-1]["error"]["data"] == {"rule": "tool_filter.denied"}
    record = _audit(gateway)[-1]
    assert record["verdict"] == "deny" and record["rule"] == "tool_filter.denied"


async def test_unknown_tool_and_timeout_and_crash_are_clear_errors(gateway: Gateway) -> None:
    c = Client(gateway)
    await c.initialize()
    slow = c.call("slow", {"seconds": 5})
    answer = await c.answer(slow)
    assert answer["error"]["code"] == errors.UPSTREAM_TIMEOUT
    assert "did not answer tools/call within 0.5s" in answer["error"]["message"]
    crash = c.call("crash")
    answer = await c.answer(crash)
    assert answer["error"]["code"] == errors.UPSTREAM_UNAVAILABLE
    assert "exited" in answer["error"]["message"] or "closed" in answer["error"]["message"]
    verdicts = [(r.get("target"), r["verdict"], r.get("code")) for r in _audit(gateway) if r["method"] == "tools/call"]
    assert verdicts == [("slow", "error", errors.UPSTREAM_TIMEOUT), ("crash", "error", errors.UPSTREAM_UNAVAILABLE)]
    up = gateway.upstreams["s"]
    assert not up._inflight  # nothing left behind


async def test_cancelled_call_gets_no_answer_and_is_audited(gateway: Gateway) -> None:
    c = Client(gateway)
    await c.initialize()
    rid = c.call("slow", {"seconds": 0.3})
    assert rid in c.stream.session.inflight
    c.send({"method": "notifications/cancelled", "params": {"requestId": rid, "reason": "changed my mind"}})
    await asyncio.sleep(0.6)
    assert all(m.get("id") != rid for m in c.out)
    assert not c.stream.session.inflight and not gateway.upstreams["s"]._inflight
    assert _audit(gateway)[-1]["verdict"] == "cancelled"


async def test_calls_in_flight_finish_when_the_client_hangs_up(gateway: Gateway) -> None:
    c = Client(gateway)
    await c.initialize()
    rids = [c.call("slow", {"seconds": 0.2}) for _ in range(3)]
    await c.stream.finish()
    assert sorted(m["id"] for m in c.out if m.get("id") in rids) == rids
    assert all("result" in m for m in c.out if m.get("id") in rids)


async def test_requests_it_cannot_take_go_the_awaited_way(gateway: Gateway) -> None:
    c = Client(gateway)
    rid = c.call("echo", {"text": "too early"})  # before initialize
    assert c.stream.tasks
    assert (await c.answer(rid))["error"]["message"] == "tools/call before initialize"
    await c.initialize()
    c.send({"id": 50, "method": "tools/list"})  # not a routed call
    assert c.stream.tasks
    assert len((await c.answer(50))["result"]["tools"]) > 1


async def test_an_async_guard_keeps_every_request_on_the_awaited_path(tmp_path: Path) -> None:
    from bastion.guards.base import ALLOW, BaseGuard, Context, Verdict
    from bastion.guards.chain import Chain, Installed
    from bastion.protocol.jsonrpc import Message

    class Waits(BaseGuard):
        name = "waits"

        async def on_request(self, msg: Message, ctx: Context) -> Verdict:
            await asyncio.sleep(0)
            return ALLOW

    cfg = _config(tmp_path)
    gw = Gateway(cfg, AuditLog(None))
    gw.chain = Chain([Installed(Waits(), "enforce")])
    gw._sync_chain = gw.chain.sync["request"] and gw.chain.sync["response"]
    await gw.start()
    try:
        c = Client(gw)
        await c.initialize()
        rid = c.call("echo", {"text": "x"})
        assert c.stream.tasks
        assert (await c.answer(rid))["result"]["content"][0]["text"] == "echo: x"
    finally:
        await gw.close()


async def test_request_timeout_bounds_both_paths(tmp_path: Path) -> None:
    cfg = _config(tmp_path, request_timeout=0.3)
    cfg.upstreams["s"] = cfg.upstreams["s"].model_copy(update={"timeout": 30.0})
    gw = Gateway(cfg, AuditLog(None))
    await gw.start()
    try:
        c = Client(gw)
        await c.initialize()
        relayed = await c.answer(c.call("slow", {"seconds": 3}))
        assert relayed["error"]["code"] == errors.UPSTREAM_TIMEOUT
        assert "within 0.3s" in relayed["error"]["message"]
        awaited = await gw.handle(c.stream.session, parse(orjson.dumps(
            {"jsonrpc": "2.0", "id": 99, "method": "tools/call", "params": {"name": "slow", "arguments": {"seconds": 3}}})),
            lambda _: None)
        assert awaited is not None
        error = orjson.loads(awaited)["error"]
        assert error["code"] == errors.UPSTREAM_TIMEOUT
        assert error["message"] == "tools/call took longer than request_timeout (0.3s)"
    finally:
        await gw.close()


async def test_a_response_a_guard_changes_is_encoded_anew_and_audited_as_mutate(gateway: Gateway) -> None:
    from bastion.secrets.redact import default_redactor

    secret = "s3cr3t-token-relay-test"
    saved = default_redactor.values()
    default_redactor.register(secret)
    try:
        c = Client(gateway)
        await c.initialize()
        plain = await c.answer(c.call("echo", {"text": "nothing to hide"}))
        leaked = await c.answer(c.call("echo", {"text": f"the token is {secret}"}))
    finally:
        default_redactor.forget_all()
        default_redactor.register_many(saved)
    assert plain["result"]["content"][0]["text"] == "echo: nothing to hide"
    assert secret not in orjson.dumps(leaked).decode()
    assert "[REDACTED" in leaked["result"]["content"][0]["text"]
    calls = [r for r in _audit(gateway) if r["method"] == "tools/call"]
    assert [r["verdict"] for r in calls] == ["allow", "mutate"]
    assert calls[1]["rule"] == "secret_redaction.value"


def test_the_context_of_a_request_names_its_session_and_method() -> None:
    from bastion.gateway.core import _context
    from bastion.gateway.session import ClientSession
    from bastion.protocol.eras import Era

    s = ClientSession(transport="stdio", era=Era.STATELESS, principal="alice")
    msg = parse(b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}')
    ctx = _context(s, msg, {"mcp-method": "tools/call"})
    assert (ctx.session_id, ctx.era, ctx.transport, ctx.principal, ctx.method, ctx.upstream, ctx.target,
            dict(ctx.headers), ctx.request, ctx.extra) == (
        s.id, Era.STATELESS, "stdio", "alice", "tools/call", None, None, {"mcp-method": "tools/call"}, None, {})
    assert _context(s, msg, None).headers == {}


async def test_audit_records_name_their_own_session_while_the_encoded_heads_are_bounded(
        gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    from bastion.gateway import core

    monkeypatch.setattr(core, "AUDIT_HEADS", 2)
    clients = [Client(gateway) for _ in range(3)]
    for c in clients:
        await c.initialize()
    for _ in range(2):
        for c in clients:
            await c.answer(c.call("echo", {"text": "x"}))
    assert len(gateway._audit_heads) <= 2
    calls = [r for r in _audit(gateway) if r["method"] == "tools/call"]
    assert [r["session"] for r in calls] == [c.stream.session.id for c in clients] * 2
    assert all(r["target"] == "echo" and r["verdict"] == "allow" and len(r["args_sha256"]) == 64 for r in calls)


def _sent_upstream(gw: Gateway) -> list[bytes]:
    """Record the lines the gateway writes to the upstream's stdin from now on."""
    child = gw.upstreams["s"]._stream  # type: ignore[attr-defined]
    sent: list[bytes] = []
    real = child.write_now

    def recording(data: bytes) -> None:
        sent.append(data)
        real(data)

    child.write_now = recording
    return sent


async def test_a_call_goes_upstream_as_its_own_bytes_with_only_the_id_changed(gateway: Gateway) -> None:
    c = Client(gateway)
    await c.initialize()
    sent = _sent_upstream(gateway)
    raw = b'{"jsonrpc":"2.0","id":41,"method":"tools/call","params":{"name":"echo","arguments":{"text":"\\u00e9t\\u00e9"}}}'
    c.stream.receive(raw)  # an escape orjson would not write, so a fresh encoding would show
    answer = await c.answer(41)
    assert answer["result"]["content"][0]["text"] == "echo: été"
    (line,) = sent
    uid = orjson.loads(line)["id"]
    assert line == raw.replace(b'"id":41,', b'"id":%d,' % uid)


@pytest.mark.parametrize(("request_obj", "why"), [
    ({"jsonrpc": "2.0", "id": 42, "method": "tools/call",
      "params": {"name": "progress", "arguments": {}, "_meta": {"progressToken": "tok"}}}, "a progress token to map"),
    ({"id": 43, "jsonrpc": "2.0", "method": "tools/call", "params": {"name": "echo", "arguments": {"text": "a"}}},
     "the id is not where it can be swapped"),
])
async def test_a_call_that_cannot_go_as_it_came_is_encoded_anew(gateway: Gateway, request_obj: dict[str, Any],
                                                                 why: str) -> None:
    c = Client(gateway)
    await c.initialize()
    sent = _sent_upstream(gateway)
    c.stream.receive(orjson.dumps(request_obj))
    answer = await c.answer(request_obj["id"])
    assert "result" in answer, why
    (line,) = sent
    upstream = orjson.loads(line)
    assert list(upstream)[:2] == ["jsonrpc", "id"] and upstream["id"] != request_obj["id"]
    assert upstream["params"]["name"] == request_obj["params"]["name"]
    meta = upstream["params"].get("_meta")
    if meta is not None:
        assert meta["progressToken"] == upstream["id"]  # the gateway's own token; the client's comes back
        notes = [m for m in c.out if m.get("method") == "notifications/progress"]
        assert notes and all(m["params"]["progressToken"] == "tok" for m in notes)


async def test_timeouts_are_swept_and_the_sweep_stops_when_nothing_waits(gateway: Gateway) -> None:
    c = Client(gateway)
    await c.initialize()
    up = gateway.upstreams["s"]
    slow = [c.call("slow", {"seconds": 5}) for _ in range(3)]
    quick = c.call("echo", {"text": "q"})
    assert (await c.answer(quick))["result"]["content"][0]["text"] == "echo: q"
    for rid in slow:
        assert (await c.answer(rid))["error"]["code"] == errors.UPSTREAM_TIMEOUT
    await asyncio.sleep(0.2)
    assert not up._inflight and up._sweep is None  # type: ignore[attr-defined]


async def test_the_relay_kept_for_a_session_follows_its_log_level(gateway: Gateway) -> None:
    c = Client(gateway)
    await c.initialize()
    await c.answer(c.call("echo", {"text": "a"}))
    session = c.stream.session
    first = session.relay
    assert first is not None and first.log_level is None
    await c.answer(c.call("echo", {"text": "b"}))
    assert session.relay is first
    session.log_level = "debug"
    await c.answer(c.call("echo", {"text": "c"}))
    assert session.relay is not first and session.relay is not None and session.relay.log_level == "debug"
