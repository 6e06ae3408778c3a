"""Every listener and every upstream transport: stdio (bastion wrap), WebSocket listener, legacy
HTTP+SSE upstream, WebSocket upstream, 2026-only HTTP upstream; list-changed notifications merged
and delivered in each era."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import anyio
import mcp_types as types
import orjson
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from bastion.testing.procs import GatewayProc, bastion_cmd, free_port, run_gateway, stop_process, wait_http
from support import ERA_SERVER, era_upstream


async def _elicit(ctx: Any, params: Any) -> types.ElicitResult:
    return types.ElicitResult(action="accept", content={"name": "Ada"})


def text(result: Any) -> str:
    return str(result.content[0].text)


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28", "auto"])
@pytest.mark.parametrize("era", ["both", "legacy", "modern"])
async def test_wrap_is_a_transparent_stdio_drop_in(mode: str, era: str, tmp_path: Any) -> None:
    audit = tmp_path / "audit.jsonl"
    cmd = bastion_cmd()
    params = StdioServerParameters(
        command=cmd[0],
        args=[*cmd[1:], "wrap", "--audit", str(audit), "--", sys.executable, str(ERA_SERVER), "stdio", era],
    )
    async with Client(params, mode=mode, elicitation_callback=_elicit) as c:
        names = [t.name for t in (await c.list_tools()).tools]
        assert "echo" in names and not any("__" in n for n in names)  # one upstream: names untouched
        assert text(await c.call_tool("echo", {"text": "hi"})) == "echo: hi"
        assert "'name': 'Ada'" in text(await c.call_tool("ask_name", {}))
        seen: list[float] = []

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            seen.append(progress)

        assert text(await c.call_tool("progress", {}, progress_callback=on_progress)) == "done"
        assert seen == [1, 2, 3]
    records = [orjson.loads(line) for line in audit.read_bytes().splitlines()]
    assert {r["method"] for r in records} >= {"tools/list", "tools/call"}
    assert all(r["transport"] == "stdio" for r in records)


async def test_wrap_takes_guards_and_audit_from_a_config_without_upstreams(tmp_path: Any) -> None:
    audit = tmp_path / "audit.jsonl"
    config = tmp_path / "wrap.yaml"
    config.write_text(f"audit: {{path: {audit}}}\n"
                      "guards: [{type: tool_filter, upstreams: {server: {deny: [echo]}}}]\n")
    cmd = bastion_cmd()
    params = StdioServerParameters(
        command=cmd[0],
        args=[*cmd[1:], "wrap", "--config", str(config), "--", sys.executable, str(ERA_SERVER), "stdio", "both"],
    )
    async with Client(params, elicitation_callback=_elicit) as c:
        names = [t.name for t in (await c.list_tools()).tools]
        assert "echo" not in names and "ask_name" in names
    records = [orjson.loads(line) for line in audit.read_bytes().splitlines()]
    assert any(r["method"] == "tools/list" for r in records)


def test_wrap_config_errors_name_the_file_and_key(tmp_path: Any) -> None:
    config = tmp_path / "wrap.yaml"
    config.write_text("audit: {pth: x}\n")
    out = subprocess.run([*bastion_cmd(), "wrap", "--config", str(config), "--", "true"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 1 and str(config) in out.stderr and "audit.pth" in out.stderr


@pytest.mark.parametrize(("stdin_file", "stdout_file"), [(True, True), (True, False), (False, True)])
def test_wrap_reads_and_writes_plain_files(tmp_path: Any, stdin_file: bool, stdout_file: bool) -> None:
    """Regression: with stdin or stdout a regular file (``< requests.jsonl > answers.jsonl``) the
    event loop could not watch it and the process aborted without a word."""
    requests = b"".join(orjson.dumps(m) + b"\n" for m in [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": "hi"}}},
    ])
    (tmp_path / "in.jsonl").write_bytes(requests)
    cmd = [*bastion_cmd(), "wrap", "--audit", str(tmp_path / "audit.jsonl"), "--",
           sys.executable, str(ERA_SERVER), "stdio", "legacy"]
    with open(tmp_path / "in.jsonl", "rb") as fin, open(tmp_path / "out.jsonl", "wb") as fout:
        out = subprocess.run(cmd, stdin=fin if stdin_file else None,
                             input=None if stdin_file else requests,
                             stdout=fout if stdout_file else subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert out.returncode == 0, out.stderr.decode()[-2000:]
    data = (tmp_path / "out.jsonl").read_bytes() if stdout_file else out.stdout
    answers = {m["id"]: m for m in map(orjson.loads, data.splitlines())}
    assert answers[2]["result"]["content"][0]["text"] == "echo: hi"


def test_wrap_without_a_command_explains_itself() -> None:
    out = subprocess.run([*bastion_cmd(), "wrap"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "give the server command after --" in out.stderr


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, str]]:
    """The era fixture over legacy HTTP+SSE and as a 2026-only Streamable HTTP server."""
    sse_port, modern_port = free_port(), free_port()
    procs = [
        subprocess.Popen([sys.executable, str(ERA_SERVER), "sse", "both", str(sse_port)], start_new_session=True),
        subprocess.Popen([sys.executable, str(ERA_SERVER), "http", "modern", str(modern_port)], start_new_session=True),
    ]
    try:
        wait_http(f"http://127.0.0.1:{modern_port}/mcp")
        wait_http(f"http://127.0.0.1:{sse_port}/messages/")
        yield {"sse": f"http://127.0.0.1:{sse_port}/sse", "modern": f"http://127.0.0.1:{modern_port}/mcp"}
    finally:
        for p in procs:
            stop_process(p)


@pytest.fixture(scope="module")
def inner() -> Iterator[GatewayProc]:
    """A gateway whose WebSocket listener serves as the WebSocket upstream of the outer one."""
    with run_gateway({"upstreams": {"local": era_upstream("legacy")}}) as gw:
        yield gw


@pytest.fixture(scope="module")
def outer(servers: dict[str, str], inner: GatewayProc) -> Iterator[GatewayProc]:
    config = {
        "upstreams": {
            "sse": {"url": servers["sse"], "transport": "sse"},
            "modern": {"url": servers["modern"], "era": "stateless"},
            "ws": {"url": inner.ws_url},
            "local": era_upstream("both"),
        }
    }
    with run_gateway(config) as gw:
        yield gw


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_upstream_transports(outer: GatewayProc, mode: str) -> None:
    async with aiohttp.ClientSession() as http, http.get(outer.base + "/healthz") as r:
        health = await r.json()
    assert health["upstreams"]["sse"]["era"] == "handshake"
    assert health["upstreams"]["modern"]["era"] == "stateless"
    assert health["upstreams"]["ws"]["state"] == "ready"
    async with Client(outer.url, mode=mode, elicitation_callback=_elicit) as c:
        names = {t.name for t in (await c.list_tools()).tools}
        for up in ("sse", "modern", "ws", "local"):
            assert f"{up}__echo" in names
            assert text(await c.call_tool(f"{up}__echo", {"text": up})) == f"echo: {up}"
            assert "'name': 'Ada'" in text(await c.call_tool(f"{up}__ask_name", {}))


@pytest.fixture
async def ws(outer: GatewayProc) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    async with aiohttp.ClientSession() as s, s.ws_connect(outer.ws_url, protocols=["mcp"]) as sock:
        yield sock


async def rpc(sock: aiohttp.ClientWebSocketResponse, obj: dict[str, Any]) -> dict[str, Any]:
    """Send a request and return its response; answer elicitations; collect notifications."""
    await sock.send_str(orjson.dumps(obj).decode())
    while True:
        msg = orjson.loads((await sock.receive(timeout=30)).data)
        if msg.get("id") == obj["id"] and "method" not in msg:
            return dict(msg)
        if msg.get("method") == "elicitation/create":
            answer = {"jsonrpc": "2.0", "id": msg["id"], "result": {"action": "accept", "content": {"name": "Ws"}}}
            await sock.send_str(orjson.dumps(answer).decode())


async def test_websocket_listener(ws: aiohttp.ClientWebSocketResponse) -> None:
    assert ws.protocol == "mcp"
    init = await rpc(ws, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {"elicitation": {}}, "clientInfo": {"name": "ws", "version": "1"}}})
    assert init["result"]["protocolVersion"] == "2025-06-18"
    await ws.send_str(orjson.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}).decode())
    tools = await rpc(ws, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    assert any(t["name"] == "local__echo" for t in tools["result"]["tools"])
    asked = await rpc(ws, {"jsonrpc": "2.0", "id": "three", "method": "tools/call",
                           "params": {"name": "local__ask_name", "arguments": {}}})
    assert "'name': 'Ws'" in asked["result"]["content"][0]["text"]
    bad = await rpc(ws, {"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": 5}})
    assert bad["error"]["code"] == -32602
    await ws.send_str("{oops")
    err = orjson.loads((await ws.receive(timeout=10)).data)
    assert err["error"]["code"] == -32700
    again = await rpc(ws, {"jsonrpc": "2.0", "id": 5, "method": "ping"})
    assert again["result"] == {}


async def test_list_changed_reaches_handshake_clients(outer: GatewayProc) -> None:
    changed = anyio.Event()

    async def on_message(message: Any) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            changed.set()

    async with Client(outer.url, mode="legacy", message_handler=on_message) as c:
        await anyio.sleep(0.3)  # let the GET stream open
        await c.call_tool("local__poke", {})
        with anyio.fail_after(10):
            await changed.wait()


async def test_list_changed_reaches_stateless_listeners(outer: GatewayProc) -> None:
    async with Client(outer.url, mode="2026-07-28") as c, c.listen(tools_list_changed=True) as sub:
        await c.call_tool("local__poke", {})
        with anyio.fail_after(10):
            async for event in sub:
                assert type(event).__name__ == "ToolsListChanged"
                break
