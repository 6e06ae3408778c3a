"""The official Python SDK client (both eras) through the gateway's HTTP listener, in front of our
fixture servers of each era (stdio children and an HTTP server)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from bastion.protocol import errors
from bastion.testing.procs import GatewayProc, free_port, run_gateway, stop_process, wait_http
from support import ERA_SERVER, era_upstream

MODES = ["legacy", "2026-07-28", "auto"]
UPSTREAMS = ["both", "legacy", "modern", "web"]


@pytest.fixture(scope="module")
def http_fixture() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(ERA_SERVER), "http", "both", str(port)], start_new_session=True)
    try:
        wait_http(f"http://127.0.0.1:{port}/mcp")
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        stop_process(proc)


@pytest.fixture(scope="module")
def gateway(http_fixture: str) -> Iterator[GatewayProc]:
    config = {
        "upstreams": {
            "both": era_upstream("both"),
            "legacy": era_upstream("legacy"),
            "modern": era_upstream("modern"),
            "web": {"url": http_fixture},
        },
    }
    with run_gateway(config) as gw:
        yield gw


async def _elicit(ctx: Any, params: Any) -> types.ElicitResult:
    return types.ElicitResult(action="accept", content={"name": "Ada"})


def text(result: Any) -> str:
    return str(result.content[0].text)


@pytest.mark.parametrize("mode", MODES)
async def test_lists_are_merged_and_namespaced(gateway: GatewayProc, mode: str) -> None:
    async with Client(gateway.url, mode=mode) as c:
        tools = {t.name for t in (await c.list_tools()).tools}
        for up in UPSTREAMS:
            assert {f"{up}__echo", f"{up}__ask_name", f"{up}__progress"} <= tools
        prompts = {p.name for p in (await c.list_prompts()).prompts}
        assert prompts == {f"{up}__greet" for up in UPSTREAMS}
        # The same resource URI from four upstreams is not silently merged: one owner keeps it.
        resources = [str(r.uri) for r in (await c.list_resources()).resources]
        assert resources == ["fixture://readme"]
        assert text_of(await c.read_resource("fixture://readme")) == "fixture readme"


def text_of(result: Any) -> str:
    return str(result.contents[0].text)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("upstream", UPSTREAMS)
async def test_calls_and_elicitation_across_eras(gateway: GatewayProc, mode: str, upstream: str) -> None:
    async with Client(gateway.url, mode=mode, elicitation_callback=_elicit) as c:
        assert text(await c.call_tool(f"{upstream}__echo", {"text": "hi"})) == "echo: hi"
        # handshake upstreams ask with elicitation/create; 2026 upstreams return input_required;
        # either way the client's answer reaches the server.
        assert "'name': 'Ada'" in text(await c.call_tool(f"{upstream}__ask_name", {}))
        prompt = await c.get_prompt(f"{upstream}__greet", {"who": "Bob"})
        assert prompt.messages[0].content.text == "Say hello to Bob"  # type: ignore[union-attr]


@pytest.mark.parametrize("mode", MODES)
async def test_progress_is_relayed(gateway: GatewayProc, mode: str) -> None:
    seen: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(progress)

    async with Client(gateway.url, mode=mode) as c:
        for up in ("legacy", "modern", "web"):
            seen.clear()
            result = await c.call_tool(f"{up}__progress", {}, progress_callback=on_progress)
            assert text(result) == "done"
            assert seen == [1, 2, 3]


@pytest.mark.parametrize("mode", MODES)
async def test_unknown_tool_is_a_readable_error(gateway: GatewayProc, mode: str) -> None:
    async with Client(gateway.url, mode=mode) as c:
        with pytest.raises(MCPError) as info:
            await c.call_tool("nowhere__echo", {})
        assert info.value.error.code == errors.UNKNOWN_TARGET
        assert "unknown tool" in info.value.error.message
        # the session carries on
        assert text(await c.call_tool("both__echo", {"text": "still"})) == "echo: still"


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_cancellation_reaches_the_upstream(gateway: GatewayProc, mode: str) -> None:
    async with Client(gateway.url, mode=mode) as c:
        with anyio.move_on_after(1.0) as scope:
            await c.call_tool("legacy__slow", {"seconds": 30})
        assert scope.cancelled_caught
        assert text(await c.call_tool("legacy__echo", {"text": "after"})) == "echo: after"
    for _ in range(50):
        if any(r.get("target") == "slow" and r.get("verdict") == "cancelled" for r in gateway.audit_records()):
            break
        await anyio.sleep(0.1)
    assert any(r.get("target") == "slow" and r.get("verdict") == "cancelled" for r in gateway.audit_records())


async def test_audit_has_one_record_per_exchange_and_no_raw_arguments(gateway: GatewayProc) -> None:
    secret = "sk-audit-canary-123456"
    async with Client(gateway.url, mode="legacy") as c:
        await c.call_tool("both__echo", {"text": secret})
    for _ in range(50):
        recs = [r for r in gateway.audit_records() if r.get("target") == "echo" and r.get("upstream") == "both"]
        if recs:
            break
        await anyio.sleep(0.1)
    assert recs
    rec = recs[-1]
    assert rec["method"] == "tools/call" and rec["verdict"] == "allow" and rec["principal"] == "anonymous"
    assert len(rec["args_sha256"]) == 64 and rec["latency_ms"] >= 0
    assert secret not in gateway.audit_path.read_text() if gateway.audit_path else False
