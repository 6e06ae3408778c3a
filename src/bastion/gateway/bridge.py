"""Era bridge for server-to-client requests: a 2026-07-28 client behind a handshake-era upstream.

A handshake-era server asks its client mid-call (``elicitation/create``, ``sampling/createMessage``,
``roots/list``). A 2026-07-28 client takes no requests; it answers questions through multi-round-trip
results instead. So when the upstream asks, the gateway parks the upstream call, answers the client
with ``resultType: "input_required"`` carrying the question and an opaque ``requestState``, and
when the client retries with ``inputResponses`` and that state, hands the answer to the waiting
upstream and carries on. Parked calls expire (the upstream call is cancelled) if the client does not
come back; a state is only accepted from the principal it was issued to.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass
from typing import Any

from bastion.gateway.session import CAPABILITY_FOR, Emit
from bastion.protocol import errors
from bastion.protocol.jsonrpc import JSONObj, Message, encode, error_obj

STATE_PREFIX = "bastion1."
PARK_SECONDS = 300.0
MAX_PARKED = 10_000
INPUT_KEY = "input"


@dataclass(slots=True)
class Ask:
    method: str
    params: JSONObj | None
    answer: asyncio.Future[JSONObj]


class AskingRelay:
    """A relay for a stateless client: questions from the upstream are queued, not sent."""

    stateless_client = True

    def __init__(self, emit: Emit, client_capabilities: JSONObj | None = None, log_level: str | None = None) -> None:
        self.emit = emit
        self.client_capabilities: JSONObj = client_capabilities or {}
        self.log_level = log_level
        self.asks: asyncio.Queue[Ask] = asyncio.Queue()

    def notify(self, obj: JSONObj) -> None:
        self.emit(encode(obj))

    async def server_request(self, method: str, params: JSONObj | None) -> JSONObj:
        cap = CAPABILITY_FOR.get(method)
        if cap is not None and cap not in self.client_capabilities:
            # never ask a client what it did not declare it can answer (it would fail the whole call)
            return error_obj(None, errors.METHOD_NOT_FOUND, f"the client did not declare the {cap} capability")
        ask = Ask(method, params, asyncio.get_running_loop().create_future())
        self.asks.put_nowait(ask)
        return await ask.answer


@dataclass(slots=True)
class Parked:
    task: asyncio.Task[Message]
    relay: AskingRelay
    ask: Ask
    principal: str
    deadline: float


class InputBridge:
    def __init__(self) -> None:
        self._parked: dict[str, Parked] = {}
        # States from another gateway (e.g. one chained behind this one) pass through untouched.
        self.prefix = f"{STATE_PREFIX}{secrets.token_hex(4)}."

    def is_ours(self, state: Any) -> bool:
        return isinstance(state, str) and state.startswith(self.prefix)

    def park(self, task: asyncio.Task[Message], relay: AskingRelay, ask: Ask, principal: str) -> JSONObj:
        self._expire()
        while len(self._parked) >= MAX_PARKED:
            _, oldest = self._parked.popitem()
            oldest.task.cancel()
        token = self.prefix + secrets.token_urlsafe(24)
        self._parked[token] = Parked(task, relay, ask, principal, time.monotonic() + PARK_SECONDS)
        request: JSONObj = {"method": ask.method}
        if ask.params is not None:
            request["params"] = ask.params
        return {"resultType": "input_required", "inputRequests": {INPUT_KEY: request}, "requestState": token}

    def resume(self, state: str, principal: str, responses: Any, emit: Emit) -> Parked | None:
        """Hand the client's answer to the parked upstream call; None if unknown or expired."""
        self._expire()
        parked = self._parked.get(state)
        if parked is None or parked.principal != principal:
            return None
        del self._parked[state]
        answer = responses.get(INPUT_KEY) if isinstance(responses, dict) else None
        if not parked.ask.answer.done():
            if isinstance(answer, dict):
                parked.ask.answer.set_result({"result": answer})
            else:
                parked.ask.answer.set_result({"error": {"code": -32602, "message": "no input given"}})
        parked.relay.emit = emit
        return parked

    def _expire(self) -> None:
        now = time.monotonic()
        for token in [t for t, p in self._parked.items() if p.deadline < now]:
            self._parked.pop(token).task.cancel()

    def close(self) -> None:
        for p in self._parked.values():
            p.task.cancel()
        self._parked.clear()
