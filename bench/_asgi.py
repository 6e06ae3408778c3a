"""Shared bits of the benchmark's small ASGI servers: types, a JSON answer, and a runner that binds
127.0.0.1 on a free port, serves under uvicorn (uvloop + httptools) and prints
``listening http://127.0.0.1:PORT/mcp`` on stdout once it accepts connections."""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn
import uvloop

Scope = MutableMapping[str, Any]
Event = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Event]]
Send = Callable[[Event], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

JSON_CT = (b"content-type", b"application/json")


async def read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b""
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def respond(send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    headers = [JSON_CT, (b"content-length", str(len(body)).encode())]
    if extra:
        headers += extra
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def lifespan(receive: Receive, send: Send, on_start: Callable[[], Awaitable[None]] | None = None,
                   on_stop: Callable[[], Awaitable[None]] | None = None) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            if on_start is not None:
                await on_start()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if on_stop is not None:
                await on_stop()
            await send({"type": "lifespan.shutdown.complete"})
            return


def bind(port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


def announce(sock: socket.socket, path: str = "/mcp") -> None:
    print(f"listening http://127.0.0.1:{sock.getsockname()[1]}{path}", flush=True)


async def _serve(app: ASGIApp, sock: socket.socket) -> None:
    server = uvicorn.Server(uvicorn.Config(
        app, http="httptools", loop="none", lifespan="on", log_level="warning", access_log=False,
        timeout_graceful_shutdown=1, timeout_keep_alive=120,
        proxy_headers=False, server_header=False, date_header=False,  # as the gateway serves
    ))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():  # noqa: ASYNC110 (uvicorn offers no event)
        await asyncio.sleep(0.01)
    announce(sock)
    await task


def run(app: ASGIApp, port: int = 0) -> None:
    sock = bind(port)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    uvloop.run(_serve(app, sock))
