"""Bad input, dying and slow upstreams, guards: the client gets a JSON-RPC error it can read, other
sessions carry on, and the decision is in the audit log."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import orjson
import pytest

from bastion.protocol import errors
from bastion.protocol.eras import META_CLIENT_CAPABILITIES, META_PROTOCOL_VERSION
from bastion.testing.procs import GatewayProc, run_gateway
from support import era_upstream

INIT = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@pytest.fixture(scope="module")
def gateway() -> Iterator[GatewayProc]:
    config = {
        "upstreams": {
            "main": era_upstream("both"),
            "fragile": era_upstream("legacy"),
            "sluggish": {**era_upstream("legacy"), "timeout": 1},
        },
        "max_body_bytes": 200_000,
        "guards": [
            {"type": "header_match"},
            {"type": "limits", "max_bytes": 100_000, "max_depth": 32},
            {"type": "tool_filter", "upstreams": {"main": {"deny": ["sql"]}}},
        ],
    }
    with run_gateway(config) as gw:
        yield gw


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def post(http: aiohttp.ClientSession, gw: GatewayProc, body: Any, headers: dict[str, str] | None = None,
               raw: bytes | None = None) -> tuple[int, Any, Any]:
    data = raw if raw is not None else orjson.dumps(body)
    async with http.post(gw.url, data=data, headers={**ACCEPT, **(headers or {})}) as r:
        text = await r.read()
        if r.content_type == "text/event-stream":
            events = [line[6:] for line in text.decode().splitlines() if line.startswith("data: ")]
            return r.status, r.headers.copy(), orjson.loads(events[-1])
        return r.status, r.headers.copy(), orjson.loads(text) if text else None


async def session(http: aiohttp.ClientSession, gw: GatewayProc) -> dict[str, str]:
    status, headers, body = await post(http, gw, {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": INIT})
    assert status == 200 and body["result"]["protocolVersion"] == "2025-11-25"
    sid = {"Mcp-Session-Id": headers["Mcp-Session-Id"], "MCP-Protocol-Version": "2025-11-25"}
    await post(http, gw, {"jsonrpc": "2.0", "method": "notifications/initialized"}, sid)
    return sid


def call(rid: Any, name: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rid, "method": "tools/call", "params": {"name": name, "arguments": args or {}}}


def modern(method: str, params: dict[str, Any] | None = None, rid: Any = 1) -> dict[str, Any]:
    p = dict(params or {})
    p["_meta"] = {META_PROTOCOL_VERSION: "2026-07-28", META_CLIENT_CAPABILITIES: {}}
    return {"jsonrpc": "2.0", "id": rid, "method": method, "params": p}


async def audited(gw: GatewayProc, **match: Any) -> dict[str, Any]:
    for _ in range(50):
        for rec in reversed(gw.audit_records()):
            if all(rec.get(k) == v for k, v in match.items()):
                return rec
        await asyncio.sleep(0.1)
    raise AssertionError(f"no audit record with {match}")


async def test_malformed_json(gateway: GatewayProc, http: aiohttp.ClientSession) -> None:
    status, _, body = await post(http, gateway, None, raw=b'{"jsonrpc": "2.0", "id": 1, "method"')
    assert status == 400 and body["error"]["code"] == errors.PARSE_ERROR
    assert "malformed JSON" in body["error"]["message"]
    await audited(gateway, method="(invalid)", code=errors.PARSE_ERROR)


@pytest.mark.parametrize(("raw", "code"), [
    (b"[]", errors.INVALID_REQUEST),
    (b'[{"jsonrpc":"2.0","id":1,"method":"tools/list"}]', errors.INVALID_REQUEST),
    (b'{"jsonrpc":"1.0","id":1,"method":"tools/list"}', errors.INVALID_REQUEST),
    (b'"just a string"', errors.INVALID_REQUEST),
])
async def test_invalid_jsonrpc(gateway: GatewayProc, http: aiohttp.ClientSession, raw: bytes, code: int) -> None:
    status, _, body = await post(http, gateway, None, raw=raw)
    assert status == 400 and body["error"]["code"] == code


async def test_oversized_body_is_refused(gateway: GatewayProc, http: aiohttp.ClientSession) -> None:
    sid = await session(http, gateway)
    big = call(5, "main__echo", {"text": "x" * 300_000})
    status, _, body = await post(http, gateway, big, sid)
    assert status == 413 and body["error"]["code"] == errors.MESSAGE_TOO_LARGE
    # a message under the listener's limit but over the guard's is refused by rule, id kept
    status, _, body = await post(http, gateway, call(6, "main__echo", {"text": "y" * 150_000}), sid)
    assert status == 200 and body["id"] == 6
    assert body["error"]["code"] == errors.MESSAGE_TOO_LARGE and body["error"]["data"]["rule"] == "limits.size"
    await audited(gateway, rule="limits.size", verdict="deny")


async def test_oversized_result_is_refused_not_truncated(gateway: GatewayProc, http: aiohttp.ClientSession) -> None:
    sid = await session(http, gateway)
    _, _, body = await post(http, gateway, call(7, "main__big", {"size": 200_000}), sid)
    assert body["id"] == 7 and body["error"]["data"]["rule"] == "limits.size"
    _, _, ok = await post(http, gateway, call(8, "main__big", {"size": 1000}), sid)
    assert ok["result"]["content"][0]["text"] == "x" * 1000


async def test_deep_nesting_is_refused(gateway: GatewayProc, http: aiohttp.ClientSession) -> None:
    sid = await session(http, gateway)
    deep: Any = "x"
    for _ in range(40):
        deep = [deep]
    _, _, body = await post(http, gateway, call(9, "main__echo", {"text": deep}), sid)
    assert body["error"]["data"]["rule"] == "limits.depth"


async def test_unknown_method_and_session_errors(gateway: GatewayProc, http: aiohttp.ClientSession) -> None:
    sid = await session(http, gateway)
    status, _, body = await post(http, gateway, {"jsonrpc": "2.0", "id": "u", "method": "tools/frobnicate"}, sid)
    assert status == 200 and body["id"] == "u" and body["error"]["code"] == errors.METHOD_NOT_FOUND
    status, _, body = await post(http, gateway, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert status == 400 and "Mcp-Session-Id" in body["error"]["message"]
    status, _, body = await post(http, gateway, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                                 {"Mcp-Session-Id": "nope"})
    assert status == 404
    # DELETE ends a session; it is unknown afterwards
    async with http.delete(gateway.url, headers=sid) as r:
        assert r.status == 200
    status, _, _ = await post(http, gateway, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, sid)
    assert status == 404


async def test_request_before_initialize_is_refused_on_streams(gateway: GatewayProc) -> None:
    async with aiohttp.ClientSession() as s, s.ws_connect(gateway.ws_url, protocols=["mcp"]) as ws:
        await ws.send_str(orjson.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).decode())
        reply = orjson.loads((await ws.receive()).data)
        assert reply["error"]["code"] == errors.INVALID_REQUEST and "before initialize" in reply["error"]["message"]


async def test_tool_filter_hides_and_refuses(gateway: GatewayProc, http: aiohttp.ClientSession) -> None:
    sid = await session(http, gateway)
    _, _, body = await post(http, gateway, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, sid)
    names = {t["name"] for t in body["result"]["tools"]}
    assert "main__echo" in names and "main__sql" not in names
    assert "fragile__sql" in names  # the filter is per upstream
    _, _, body = await post(http, gateway, call(2, "main__sql", {"region": "x", "query": "q"}), sid)
    assert body["id"] == 2 and body["error"]["code"] == errors.DENIED
    assert body["error"]["data"]["rule"] == "tool_filter.denied"
    assert "tool_filter.denied" in body["error"]["message"]
    await audited(gateway, target="sql", rule="tool_filter.denied", verdict="deny")


async def test_slow_upstream_times_out_and_others_carry_on(gateway: GatewayProc, http: aiohttp.ClientSession) -> None:
    sid = await session(http, gateway)
    slow = asyncio.ensure_future(post(http, gateway, call(1, "sluggish__slow", {"seconds": 5}), sid))
    _, _, fast = await post(http, gateway, call(2, "main__echo", {"text": "meanwhile"}), sid)
    assert fast["result"]["content"][0]["text"] == "echo: meanwhile"
    _, _, body = await slow
    assert body["id"] == 1 and body["error"]["code"] == errors.UPSTREAM_TIMEOUT
    assert "did not answer tools/call within 1s" in body["error"]["message"]
    await audited(gateway, upstream="sluggish", code=errors.UPSTREAM_TIMEOUT)


async def test_dying_upstream_fails_in_flight_calls_and_restarts(gateway: GatewayProc,
                                                                 http: aiohttp.ClientSession) -> None:
    sid = await session(http, gateway)
    _, _, body = await post(http, gateway, call(1, "fragile__crash"), sid)
    assert body["id"] == 1 and body["error"]["code"] == errors.UPSTREAM_UNAVAILABLE
    assert "fragile" in body["error"]["message"]
    # another upstream is unaffected
    _, _, other = await post(http, gateway, call(2, "main__echo", {"text": "up"}), sid)
    assert other["result"]["content"][0]["text"] == "echo: up"
    # the crashed one comes back (requests wait for the restart)
    _, _, back = await post(http, gateway, call(3, "fragile__echo", {"text": "back"}), sid)
    assert back["result"]["content"][0]["text"] == "echo: back"
    async with http.get(gateway.base + "/healthz") as r:
        health = await r.json()
    assert health["upstreams"]["fragile"]["restarts"] >= 1
    assert health["upstreams"]["fragile"]["state"] == "ready"
    exit_record = await audited(gateway, method="upstream/exit", upstream="fragile")
    assert "exited with code 3" in exit_record["reason"]


async def test_stateless_header_mismatch_and_versions(gateway: GatewayProc, http: aiohttp.ClientSession) -> None:
    good = {"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": "main__echo"}
    status, _, body = await post(http, gateway, modern("tools/call", {"name": "main__echo", "arguments": {"text": "m"}}),
                                 good)
    assert status == 200 and body["result"]["content"][0]["text"] == "echo: m"
    assert body["result"]["resultType"] == "complete"
    status, _, body = await post(http, gateway, modern("tools/call", {"name": "main__echo", "arguments": {}}),
                                 {**good, "Mcp-Name": "main__big"})
    assert status == 400 and body["error"]["code"] == errors.HEADER_MISMATCH
    assert body["error"]["data"]["rule"] == "header_match.name"
    status, _, body = await post(http, gateway, modern("tools/list"), {"MCP-Protocol-Version": "2026-07-28"})
    assert status == 400 and body["error"]["data"]["rule"] == "header_match.method"
    await audited(gateway, rule="header_match.method", verdict="deny", era="stateless")
    bad = modern("tools/list")
    bad["params"]["_meta"][META_PROTOCOL_VERSION] = "2099-01-01"
    status, _, body = await post(http, gateway, bad, {"MCP-Protocol-Version": "2099-01-01", "Mcp-Method": "tools/list"})
    assert status == 400 and body["error"]["code"] == errors.UNSUPPORTED_PROTOCOL_VERSION
    assert "2026-07-28" in body["error"]["data"]["supported"]
    status, _, body = await post(http, gateway, modern("tools/nothing"),
                                 {"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/nothing"})
    assert status == 404 and body["error"]["code"] == errors.METHOD_NOT_FOUND


async def test_stateless_discover_and_list_cache_hints(gateway: GatewayProc, http: aiohttp.ClientSession) -> None:
    h = {"MCP-Protocol-Version": "2026-07-28"}
    _, _, body = await post(http, gateway, modern("server/discover"), {**h, "Mcp-Method": "server/discover"})
    result = body["result"]
    assert "2026-07-28" in result["supportedVersions"] and "2025-11-25" in result["supportedVersions"]
    assert result["cacheScope"] in ("public", "private") and isinstance(result["ttlMs"], int)
    _, _, body = await post(http, gateway, modern("tools/list"), {**h, "Mcp-Method": "tools/list"})
    assert body["result"]["cacheScope"] == "private" and isinstance(body["result"]["ttlMs"], int)


async def test_foreign_origin_is_refused(gateway: GatewayProc, http: aiohttp.ClientSession) -> None:
    status, _, body = await post(http, gateway, {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": INIT},
                                 {"Origin": "https://evil.example"})
    assert status == 403 and body["error"]["code"] == errors.INVALID_REQUEST
    status, _, _ = await post(http, gateway, {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": INIT},
                              {"Origin": "http://localhost:3000"})
    assert status == 200


async def test_health_and_readiness(gateway: GatewayProc, http: aiohttp.ClientSession) -> None:
    async with http.get(gateway.base + "/readyz") as r:
        assert r.status == 200
    async with http.get(gateway.base + "/healthz") as r:
        health = await r.json()
    assert set(health["upstreams"]) == {"main", "fragile", "sluggish"}
    async with http.put(gateway.url) as r:
        assert r.status == 405
    async with http.get(gateway.base + "/elsewhere") as r:
        assert r.status == 404


def test_poisoned_upstream_tools_are_quarantined() -> None:
    import sys

    from mcp_client_helpers import list_and_call

    from support import FIXTURES

    config = {"upstreams": {"ok": era_upstream("both"),
                            "evil": {"command": sys.executable,
                                     "args": [str(FIXTURES / "servers" / "malicious_server.py"), "poisoned"]}}}
    with run_gateway(config) as gw:
        names, error = list_and_call(gw.url, "evil__add", {"a": 1, "b": 2})
        assert "ok__echo" in names and "evil__add" not in names
        assert error is not None and error["data"] == {"rule": "tool_poisoning.quarantined"}
        import time

        for _ in range(50):  # the audit is written in batches
            records = [r for r in gw.audit_records() if r.get("rule") == "tool_poisoning.quarantined"]
            if {r["method"] for r in records} >= {"tools/list", "tools/call"}:
                break
            time.sleep(0.1)
        assert {r["method"] for r in records} >= {"tools/list", "tools/call"}


async def test_an_idle_keep_alive_connection_outlives_client_pools(gateway: GatewayProc) -> None:
    """Regression: the listener closed idle connections after 5 s, as long as httpx keeps them,
    so a client could send a call on a connection being closed. One connection, idle for 6 s,
    must still be open and answer."""
    from urllib.parse import urlsplit

    url = urlsplit(gateway.url)
    assert url.hostname is not None and url.port is not None
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    body = orjson.dumps({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": INIT})
    request = (f"POST {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Type: application/json\r\n"
               f"Accept: application/json, text/event-stream\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body

    async def exchange() -> bytes:
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
        await reader.readexactly(length)
        return head

    try:
        assert (await exchange()).startswith(b"HTTP/1.1 200")
        await asyncio.sleep(6)
        with pytest.raises(TimeoutError):  # nothing to read, and not closed (a close reads as b"")
            await asyncio.wait_for(reader.read(1), 0.3)
        assert (await exchange()).startswith(b"HTTP/1.1 200")
    finally:
        writer.close()


async def test_a_client_that_hangs_up_withdraws_its_call_to_a_stdio_server(
    gateway: GatewayProc, http: aiohttp.ClientSession
) -> None:
    """A handshake-era call to a stdio server goes out without the awaiting machinery; when the
    client closes its POST the gateway still withdraws the call and records it as cancelled, and
    the session carries on."""
    sid = await session(http, gateway)
    with pytest.raises(TimeoutError):
        async with http.post(gateway.url, data=orjson.dumps(call(77, "fragile__slow", {"seconds": 5})),
                             headers={**ACCEPT, **sid}, timeout=aiohttp.ClientTimeout(total=0.6)) as r:
            await r.read()
    for _ in range(40):
        await asyncio.sleep(0.1)
        if any(r.get("target") == "slow" and r.get("verdict") == "cancelled" for r in gateway.audit_records()):
            break
    assert any(r.get("target") == "slow" and r.get("upstream") == "fragile" and r.get("verdict") == "cancelled"
               for r in gateway.audit_records())
    status, _, body = await post(http, gateway, call(78, "fragile__echo", {"text": "still here"}), sid)
    assert status == 200 and body["result"]["content"][0]["text"] == "echo: still here"
