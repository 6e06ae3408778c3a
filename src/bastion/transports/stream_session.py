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
    write: Callable[[bytes], Awaitable[None]],
    principal: str = "anonymous",
) -> None:
    session = ClientSession(transport=transport, principal=principal)
    out: asyncio.Queue[bytes | None] = asyncio.Queue()
    session.send = out.put_nowait
    gateway.open_session(session)
    tasks: set[asyncio.Task[Any]] = set()

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

    async def one(raw: bytes) -> None:
        try:
            msg = parse(raw)
        except ProtocolError as exc:
            out.put_nowait(encode(error_obj(exc.request_id, exc.code, exc.message)))
            return
        if msg.kind is Kind.REQUEST:
            if msg.method == "initialize":
                session.era = Era.HANDSHAKE
            else:
                version = version_of_request(msg, {})
                if version is not None:
                    if version not in STATELESS_VERSIONS:
                        out.put_nowait(encode(error_obj(
                            msg.id, errors.UNSUPPORTED_PROTOCOL_VERSION, f"unsupported protocol version {version}",
                            {"supported": list(STATELESS_VERSIONS), "requested": version})))
                        return
                    session.era = Era.STATELESS
                    meta = msg.params.get("_meta")
                    if isinstance(meta, dict):  # per-request in 2026-07-28
                        caps, level = meta.get(META_CLIENT_CAPABILITIES), meta.get(META_LOG_LEVEL)
                        session.client_capabilities = caps if isinstance(caps, dict) else {}
                        session.log_level = level if isinstance(level, str) else None
        reply = await gateway.handle(session, msg, out.put_nowait)
        if reply is not None:
            out.put_nowait(reply)

    writer_task = asyncio.create_task(writer())
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
        out.put_nowait(None)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(writer_task, 2)
