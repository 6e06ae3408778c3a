"""An upstream reached over the legacy HTTP+SSE transport (protocol 2024-11-05).

``GET url`` opens an event stream whose first ``endpoint`` event names the URL to POST messages
to; every server message then arrives as a ``message`` event.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urljoin

import aiohttp

from bastion.secrets.embedded import resolve_headers
from bastion.transports.base import OnClose, OnMessage
from bastion.transports.sse import parse_events


class LegacySSEClient:
    def __init__(self, url: str, headers: dict[str, str] | None = None, connect_timeout: float = 20) -> None:
        self.url = url
        self.headers = headers or {}
        self.connect_timeout = connect_timeout
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._endpoint: str | None = None

    @property
    def describe(self) -> str:
        return f"sse:{self.url}"

    async def start(self, on_message: OnMessage, on_close: OnClose) -> None:
        self.headers = await resolve_headers(self.headers)  # secret:// references, at every connect
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_connect=10))
        endpoint: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._read(endpoint, on_message, on_close))
        self._endpoint = await asyncio.wait_for(endpoint, self.connect_timeout)

    async def _read(self, endpoint: asyncio.Future[str], on_message: OnMessage, on_close: OnClose) -> None:
        assert self._session is not None
        reason = "event stream ended"
        try:
            async with self._session.get(
                self.url, headers={**self.headers, "Accept": "text/event-stream"}
            ) as resp:
                if resp.status != 200:
                    raise ConnectionError(f"GET {self.url} answered HTTP {resp.status}")
                async for ev in parse_events(resp.content.iter_any()):
                    if ev.event == "endpoint":
                        if not endpoint.done():
                            endpoint.set_result(urljoin(self.url, ev.data.strip()))
                    elif ev.event == "message":
                        on_message(ev.data.encode())
        except Exception as exc:
            reason = f"event stream failed: {exc}"
            if not endpoint.done():
                endpoint.set_exception(ConnectionError(reason))
        on_close(reason)

    async def send(self, data: bytes) -> None:
        if self._session is None or self._endpoint is None:
            raise ConnectionError("legacy SSE upstream not connected")
        try:
            async with self._session.post(
                self._endpoint, data=data, headers={**self.headers, "Content-Type": "application/json"}
            ) as resp:
                if resp.status >= 400:
                    raise ConnectionError(f"POST {self._endpoint} answered HTTP {resp.status}")
        except aiohttp.ClientError as exc:
            raise ConnectionError(str(exc)) from None

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        if self._session is not None:
            await self._session.close()
