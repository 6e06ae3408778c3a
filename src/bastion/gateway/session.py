"""A client's session with the gateway, and the relay for one of its requests."""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from bastion.protocol import errors
from bastion.protocol.eras import Era
from bastion.protocol.jsonrpc import JSONObj, RequestId, encode, error_obj, request_obj


class Cancellable(Protocol):
    def cancel(self) -> object: ...


Emit = Callable[[bytes], None]
"""Puts one message on the way to the client (never blocks)."""

SERVER_REQUEST_TIMEOUT = 300.0
CAPABILITY_FOR = {
    "elicitation/create": "elicitation",
    "sampling/createMessage": "sampling",
    "roots/list": "roots",
}
_gids = itertools.count(1)


@dataclass(eq=False)
class ClientSession:
    transport: str
    era: Era = Era.HANDSHAKE
    id: str = field(default_factory=lambda: secrets.token_hex(16))
    principal: str = "anonymous"
    protocol_version: str | None = None
    client_info: JSONObj = field(default_factory=dict)
    client_capabilities: JSONObj = field(default_factory=dict)
    initialized: bool = False
    send: Emit | None = None
    """Where messages not tied to a request go (stdio/WebSocket writer, or the HTTP GET stream)."""
    pending: dict[str, asyncio.Future[JSONObj]] = field(default_factory=dict)
    """Server-to-client requests relayed to this client, by the id the gateway gave them."""
    inflight: dict[RequestId, Cancellable] = field(default_factory=dict)
    """Requests being handled: their tasks, or what withdraws a request relayed without one."""
    cancelled: set[RequestId] = field(default_factory=set)
    """Requests the client cancelled (``notifications/cancelled``): their handlers were cancelled."""
    subscriptions: set[str] = field(default_factory=set)
    log_level: str | None = None
    """``logging/setLevel`` (handshake era) or ``_meta`` logLevel (2026-07-28): forwarded to 2026 upstreams."""
    closed: bool = False
    relay: RequestRelay | None = None
    """Kept by :meth:`Gateway.relay_now` for the session's calls (rebuilt when a setting it copies changes)."""

    def resolve(self, msg_id: RequestId | None, obj: JSONObj) -> bool:
        """A client's response to a relayed server-to-client request. False if unknown."""
        fut = self.pending.pop(str(msg_id), None) if msg_id is not None else None
        if fut is None or fut.done():
            return False
        fut.set_result(obj)
        return True

    def close(self) -> None:
        self.closed = True
        for fut in self.pending.values():
            if not fut.done():
                fut.set_result(error_obj(None, errors.INTERNAL_ERROR, "client session closed"))
        self.pending.clear()
        for task in list(self.inflight.values()):
            task.cancel()


class RequestRelay:
    """The client end of one in-flight request: related notifications and server-to-client
    requests go out through ``emit`` (the request's own stream where the transport has one)."""

    __slots__ = ("client_capabilities", "emit", "log_level", "session", "stateless_client")

    def __init__(self, session: ClientSession, emit: Emit) -> None:
        self.session = session
        self.emit = emit
        self.stateless_client = session.era is Era.STATELESS
        self.client_capabilities = session.client_capabilities
        self.log_level = session.log_level

    def notify(self, obj: JSONObj) -> None:
        if not self.session.closed:
            self.emit(encode(obj))

    async def server_request(self, method: str, params: JSONObj | None) -> JSONObj:
        s = self.session
        if self.stateless_client:
            return error_obj(None, errors.METHOD_NOT_FOUND, f"the client (2026-07-28) takes no {method} requests")
        cap = CAPABILITY_FOR.get(method)
        if cap is not None and cap not in s.client_capabilities:
            return error_obj(None, errors.METHOD_NOT_FOUND, f"the client did not declare the {cap} capability")
        if s.closed:
            return error_obj(None, errors.INTERNAL_ERROR, "client session closed")
        gid = f"bastion-{next(_gids)}"
        fut: asyncio.Future[JSONObj] = asyncio.get_running_loop().create_future()
        s.pending[gid] = fut
        self.emit(encode(request_obj(gid, method, params)))
        try:
            return await asyncio.wait_for(fut, SERVER_REQUEST_TIMEOUT)
        except TimeoutError:
            return error_obj(None, errors.INTERNAL_ERROR, f"the client did not answer {method} in time")
        finally:
            s.pending.pop(gid, None)
