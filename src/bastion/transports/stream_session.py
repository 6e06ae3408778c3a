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
from bastion.protocol.jsonrpc import Kind, ProtocolError, encode, error_obj, parse

log = logging.getLogger("bastion.transports")


async def serve_stream(
    gateway: Gateway,
    transport: str,
    incoming: AsyncIterator[bytes],
    write: Callable[[bytes], Awaitable[None]] | None,
    principal: str = "anonymous",
    *,
    write_now: Callable[[bytes], None] | None = None,
) -> None:
    """``write`` sends one message (a single writer task calls it, in order); a stream that can
    take whole messages at once without waiting (stdio's :class:`LineWriter`) passes ``write_now``
    instead, and messages go out with no queue and no writer task in between."""
    session = ClientSession(transport=transport, principal=principal)
    out: asyncio.Queue[bytes | None] = asyncio.Queue()
    put = write_now if write_now is not None else out.put_nowait
    session.send = put
    gateway.open_session(session)
    tasks: set[asyncio.Task[Any]] = set()

    async def writer() -> None:
        assert write is not None
        while True:
            data = await out.get()
            if data is None:
                return
            try:
                await write(data)
            except Exception:
                log.debug("client stream closed while writing")
                return

    async def one(raw: bytes) -> None:
        try:
            msg = parse(raw)
        except ProtocolError as exc:
            put(encode(error_obj(exc.request_id, exc.code, exc.message)))
            return
        if msg.kind is Kind.REQUEST:
            if msg.method == "initialize":
                session.era = Era.HANDSHAKE
            else:
                version = version_of_request(msg, {})
                if version is not None:
                    if version not in STATELESS_VERSIONS:
                        put(encode(error_obj(
                            msg.id, errors.UNSUPPORTED_PROTOCOL_VERSION, f"unsupported protocol version {version}",
                            {"supported": list(STATELESS_VERSIONS), "requested": version})))
                        return
                    session.era = Era.STATELESS
                    meta = msg.params.get("_meta")
                    if isinstance(meta, dict):  # per-request in 2026-07-28
                        caps, level = meta.get(META_CLIENT_CAPABILITIES), meta.get(META_LOG_LEVEL)
                        session.client_capabilities = caps if isinstance(caps, dict) else {}
                        session.log_level = level if isinstance(level, str) else None
        reply = await gateway.handle(session, msg, put)
        if reply is not None:
            put(reply)

    writer_task = asyncio.create_task(writer()) if write_now is None else None
    try:
        async for raw in incoming:
            if not raw.strip():
                continue
            task = asyncio.create_task(one(raw))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
    finally:
        # The client hung up: let in-flight requests finish briefly, then stop.
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=2)
            for t in pending:
                t.cancel()
        gateway.close_session(session)
        if writer_task is not None:
            out.put_nowait(None)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer_task, 2)
