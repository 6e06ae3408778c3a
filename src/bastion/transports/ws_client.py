"""An upstream reached over WebSocket (the community MCP transport: one JSON-RPC message per text
frame, subprotocol ``mcp``)."""

from __future__ import annotations

import asyncio
import contextlib

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from bastion.secrets.embedded import resolve_headers
from bastion.transports.base import OnClose, OnMessage


class WebSocketClient:
    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.url = url
        self.headers = headers or {}
        self._ws: ClientConnection | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def describe(self) -> str:
        return f"websocket:{self.url}"

    async def start(self, on_message: OnMessage, on_close: OnClose) -> None:
        self.headers = await resolve_headers(self.headers)  # secret:// references, at every connect
        self._ws = await connect(
            self.url, subprotocols=[Subprotocol("mcp")], additional_headers=self.headers, max_size=64 * 1024 * 1024
        )
        ws = self._ws
        self._task = asyncio.create_task(self._read(ws, on_message, on_close))

    async def _read(self, ws: ClientConnection, on_message: OnMessage, on_close: OnClose) -> None:
        reason = "connection closed"
        try:
            async for frame in ws:
                on_message(frame.encode() if isinstance(frame, str) else frame)
        except ConnectionClosed as exc:
            reason = f"connection closed ({exc.rcvd.code if exc.rcvd else 'no close frame'})"
        on_close(reason)

    async def send(self, data: bytes) -> None:
        if self._ws is None:
            raise ConnectionError("websocket not connected")
        try:
            await self._ws.send(data.decode())
        except ConnectionClosed as exc:
            raise ConnectionError(str(exc)) from None

    async def close(self) -> None:
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
        if self._task is not None:
            self._task.cancel()
