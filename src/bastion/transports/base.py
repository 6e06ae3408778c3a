"""The interface of a message-stream connection to an upstream (stdio child, WebSocket, legacy SSE)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

OnMessage = Callable[[bytes], None]
OnClose = Callable[[str], None]


class MessageStream(Protocol):
    """A bidirectional stream of whole JSON-RPC messages (bytes, one per call)."""

    async def start(self, on_message: OnMessage, on_close: OnClose) -> None:
        """Connect. Afterwards every received message is passed to ``on_message``; when the stream
        ends, ``on_close`` is called once with a reason."""

    async def send(self, data: bytes) -> None: ...

    async def close(self) -> None: ...

    @property
    def describe(self) -> str: ...
