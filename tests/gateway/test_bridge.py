from __future__ import annotations

import asyncio

from bastion.gateway.bridge import INPUT_KEY, AskingRelay, InputBridge
from bastion.protocol.jsonrpc import Message


async def _upstream_call(relay: AskingRelay) -> Message:
    answer = await relay.server_request("elicitation/create", {"message": "name?"})
    return Message.from_obj({"jsonrpc": "2.0", "id": 1, "result": {"got": answer}})


async def test_park_and_resume() -> None:
    bridge = InputBridge()
    relay = AskingRelay(lambda b: None, {"elicitation": {}})
    task = asyncio.ensure_future(_upstream_call(relay))
    ask = await relay.asks.get()
    result = bridge.park(task, relay, ask, "alice")
    assert result["resultType"] == "input_required"
    assert result["inputRequests"][INPUT_KEY] == {"method": "elicitation/create", "params": {"message": "name?"}}
    state = result["requestState"]
    assert bridge.is_ours(state)
    # another principal cannot take it over
    assert bridge.resume(state, "mallory", {INPUT_KEY: {"action": "accept"}}, lambda b: None) is None
    parked = bridge.resume(state, "alice", {INPUT_KEY: {"action": "accept", "content": {"n": 1}}}, lambda b: None)
    assert parked is not None
    msg = await parked.task
    assert msg.result["got"] == {"result": {"action": "accept", "content": {"n": 1}}}
    # single use
    assert bridge.resume(state, "alice", {}, lambda b: None) is None


async def test_states_of_other_gateways_are_not_ours() -> None:
    a, b = InputBridge(), InputBridge()
    relay = AskingRelay(lambda x: None, {"elicitation": {}})
    task = asyncio.ensure_future(_upstream_call(relay))
    state = a.park(task, relay, await relay.asks.get(), "p")["requestState"]
    assert a.is_ours(state) and not b.is_ours(state)
    assert not a.is_ours("round-1") and not a.is_ours(None)
    a.close()
    await asyncio.sleep(0)
    assert task.cancelled()


async def test_missing_answer_is_an_error_for_the_upstream() -> None:
    bridge = InputBridge()
    relay = AskingRelay(lambda b: None, {"elicitation": {}})
    task = asyncio.ensure_future(_upstream_call(relay))
    state = bridge.park(task, relay, await relay.asks.get(), "p")["requestState"]
    parked = bridge.resume(state, "p", {"other": {}}, lambda b: None)
    assert parked is not None
    msg = await parked.task
    assert "error" in msg.result["got"]


async def test_a_client_is_never_asked_what_it_did_not_declare() -> None:
    relay = AskingRelay(lambda b: None, {})
    answer = await relay.server_request("elicitation/create", {"message": "name?"})
    assert answer["error"]["code"] == -32601 and "elicitation" in answer["error"]["message"]
    assert relay.asks.empty()
