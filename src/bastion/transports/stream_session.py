"""Serves one client over a message stream (our stdio, or a WebSocket): one session, requests
handled concurrently, one writer so messages never interleave."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from bastion.gateway.core import Gateway, version_of_request
from bastion.gateway.session import ClientSession
from bastion.protocol import errors
from bastion.protocol.eras import META_CLIENT_CAPABILITIES, META_LOG_LEVEL, STATELESS_VERSIONS, Era
from bastion.protocol.jsonrpc import Kind, Message, ProtocolError, encode, error_obj, parse

log = logging.getLogger("bastion.transports")

HANG_UP_GRACE = 2.0
"""Seconds the requests in flight when the client closes its end get to finish (their answers
still go out: a client may close its input and go on reading)."""


class StreamSession:
    """One client on a message stream. :meth:`receive` takes each message as it is read (it never
    waits); :meth:`finish` when the client has closed its end.

    ``put`` sends one message to the client without waiting (stdio's :class:`LineWriter`, or a
    queue that a writer task empties)."""

    def __init__(self, gateway: Gateway, transport: str, put: Callable[[bytes], None],
                 principal: str = "anonymous") -> None:
        self.gateway = gateway
        self.put = put
        self.session = ClientSession(transport=transport, principal=principal)
        self.session.send = put
        gateway.open_session(self.session)
        self.tasks: set[asyncio.Task[Any]] = set()

    def receive(self, raw: bytes) -> None:
        """One message from the client: relayed at once when it can be, else handled in a task."""
        if raw[:1] != b"{" and not raw.strip():
            return
        msg = self._admit(raw)
        if msg is None:
            return
        task = asyncio.create_task(self._one(msg))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _admit(self, raw: bytes) -> Message | None:
        """Parse one message and settle the session's era; None when it was dealt with here."""
        session, put = self.session, self.put
        try:
            msg = parse(raw)
        except ProtocolError as exc:
            put(encode(error_obj(exc.request_id, exc.code, exc.message)))
            return None
        if msg.kind is Kind.REQUEST:
            if msg.method == "initialize":
                session.era = Era.HANDSHAKE
            else:
                params = msg.obj.get("params")  # a version can only come in params._meta here
                version = version_of_request(msg, {}) if type(params) is dict and "_meta" in params else None
                if version is not None:
                    if version not in STATELESS_VERSIONS:
                        put(encode(error_obj(
                            msg.id, errors.UNSUPPORTED_PROTOCOL_VERSION, f"unsupported protocol version {version}",
                            {"supported": list(STATELESS_VERSIONS), "requested": version})))
                        return None
                    session.era = Era.STATELESS
                    meta = msg.params.get("_meta")
                    if isinstance(meta, dict):  # per-request in 2026-07-28
                        caps, level = meta.get(META_CLIENT_CAPABILITIES), meta.get(META_LOG_LEVEL)
                        session.client_capabilities = caps if isinstance(caps, dict) else {}
                        session.log_level = level if isinstance(level, str) else None
            if self.gateway.relay_now(session, msg, put):
                return None  # sent on without a task; a callback answers
        return msg

    async def _one(self, msg: Message) -> None:
        reply = await self.gateway.handle(self.session, msg, self.put)
        if reply is not None:
            self.put(reply)

    async def finish(self) -> None:
        """The client hung up: let in-flight requests finish briefly, then close the session."""
        session = self.session
        if self.tasks:
            _, pending = await asyncio.wait(self.tasks, timeout=HANG_UP_GRACE)
            for t in pending:
                t.cancel()
        for _ in range(int(HANG_UP_GRACE / 0.01)):  # requests relayed without a task: look every 10 ms
            if not session.inflight:
                break
            await asyncio.sleep(0.01)
        self.gateway.close_session(session)


async def serve_stream(
    gateway: Gateway,
    transport: str,
    incoming: AsyncIterator[bytes],
    write: Callable[[bytes], Awaitable[None]],
    principal: str = "anonymous",
) -> None:
    """Serve the messages of ``incoming``; ``write`` sends one message (a single writer task calls
    it, in order)."""
    out: asyncio.Queue[bytes | None] = asyncio.Queue()
    stream = StreamSession(gateway, transport, out.put_nowait, principal)

    async def writer() -> None:
        while True:
            data = await out.get()
            if data is None:
                return
            try:
                await write(data)
            except Exception:
                log.debug("client stream closed while writing")
                return

    writer_task = asyncio.create_task(writer())
    try:
        async for raw in incoming:
            stream.receive(raw)
    finally:
        await stream.finish()
        out.put_nowait(None)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(writer_task, 2)
