"""A lean HTTP/1.1 client for upstream MCP servers: keep-alive pool, streamed bodies, one write per request.

The gateway's call path is dominated by per-request costs, not bytes, so this client does the least
that HTTP/1.1 needs: the request head and body leave in one ``write``, the response is parsed by
``httptools`` (the same C parser the listener uses) straight into the waiting coroutine, and a
connection goes back to the pool as soon as its response is fully read. Bodies can be read whole
(JSON answers) or chunk by chunk (``text/event-stream``), with reading paused while a consumer
lags behind.

Failure rules:

- Any connect, I/O or parse failure raises :class:`HttpClientError`; the connection is dropped.
- A request is never retried: a ``POST`` of ``tools/call`` must not run twice. Idle connections
  that the server may be about to close (idle longer than ``idle_seconds``) are not reused.
- Header values with CR, LF or NUL are refused before anything is sent (no header injection from a
  client-chosen tool name).
- A response that is not read to its end (cancelled, abandoned stream) closes its connection.
"""

from __future__ import annotations

import asyncio
import collections
import re
import ssl
import time
from collections.abc import AsyncIterator, Mapping
from types import TracebackType
from typing import cast
from urllib.parse import urlsplit

import httptools

_PAUSE_AT = 1 << 18  # buffered body bytes at which reading from the socket pauses
_FORBIDDEN_IN_HEADER = re.compile("[\r\n\0]")


class HttpClientError(Exception):
    """An HTTP exchange failed: no connection, a broken connection, or a response that is not HTTP."""


class _Connection(asyncio.Protocol):
    """One keep-alive connection; carries one exchange at a time."""

    __slots__ = (
        "_buffered",
        "_chunks",
        "_error",
        "_head_done",
        "_headers",
        "_loop",
        "_parser",
        "_paused",
        "_status",
        "_waiter",
        "closed",
        "complete",
        "idle_since",
        "keep_alive",
        "transport",
    )

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._parser = httptools.HttpResponseParser(self)
        self._reset()

    def _reset(self) -> None:
        self._status = 0
        self._headers: dict[str, str] = {}
        self._head_done = False
        self._chunks: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self.complete = False
        self.keep_alive = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._paused = False

    # ---- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass it

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(HttpClientError(f"malformed HTTP response: {exc}"))
            self.close()

    def eof_received(self) -> bool | None:
        return None  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._head_done and not self.complete and self._ends_at_close():
            self.complete = True  # a body delimited by the end of the connection
            self._wake()
            return
        self._fail(HttpClientError(f"connection lost: {exc}" if exc else "connection closed by the server"))

    # ---- httptools callbacks -----------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1").strip(" \t")
        old = self._headers.get(key)
        self._headers[key] = text if old is None else f"{old}, {text}"

    def on_headers_complete(self) -> None:
        self._status = self._parser.get_status_code()
        if 100 <= self._status < 200:  # an interim answer: the real one follows
            self._headers = {}
            return
        self._head_done = True
        self.keep_alive = self._parser.should_keep_alive()
        self._wake()

    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)
        self._buffered += len(body)
        if self._buffered >= _PAUSE_AT and not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if 100 <= self._status < 200:
            return
        self.complete = True
        self._wake()

    # ---- the exchange ------------------------------------------------------------------------

    def _ends_at_close(self) -> bool:
        return "content-length" not in self._headers and "chunked" not in self._headers.get("transfer-encoding", "")

    def _wake(self) -> None:
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(None)

    def _fail(self, exc: BaseException) -> None:
        if self._error is None:
            self._error = exc
        self._wake()

    async def _wait(self) -> None:
        if self._error is not None:
            raise self._error
        self._waiter = self._loop.create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None
        if self._error is not None and not (self._head_done and self._chunks):
            raise self._error

    def send(self, data: bytes) -> None:
        self._reset()
        assert self.transport is not None
        self.transport.write(data)

    async def head(self) -> tuple[int, dict[str, str]]:
        while not self._head_done:
            await self._wait()
        return self._status, self._headers

    async def next_chunk(self) -> bytes | None:
        """The next piece of the body, or None at its end."""
        while not self._chunks:
            if self.complete:
                return None
            await self._wait()
        chunk = self._chunks.popleft()
        self._buffered -= len(chunk)
        if self._paused and self._buffered < _PAUSE_AT // 2 and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()
        return chunk

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class Response:
    """A response whose head has arrived. Read the body with :meth:`read` or :meth:`iter_chunks`;
    :meth:`release` (or leaving ``async with``) hands the connection back, or closes it if the body
    was not read to its end."""

    __slots__ = ("_conn", "_pool", "headers", "status")

    def __init__(self, status: int, headers: dict[str, str], conn: _Connection, pool: HttpClient) -> None:
        self.status = status
        self.headers = headers  # lower-case names
        self._conn: _Connection | None = conn
        self._pool = pool

    @property
    def content_type(self) -> str:
        """The media type, lower case, without parameters (``text/event-stream``)."""
        return self.headers.get("content-type", "").partition(";")[0].strip().lower()

    async def read(self, limit: int | None = None) -> bytes:
        """The whole body. Over ``limit`` bytes raises :class:`HttpClientError` (and drops the connection)."""
        parts: list[bytes] = []
        size = 0
        async for chunk in self.iter_chunks():
            size += len(chunk)
            if limit is not None and size > limit:
                self.release()
                raise HttpClientError(f"response body larger than {limit} bytes")
            parts.append(chunk)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives, in the pieces the network delivered."""
        conn = self._conn
        if conn is None:
            return
        while True:
            chunk = await conn.next_chunk()
            if chunk is None:
                self.release()
                return
            yield chunk

    def release(self) -> None:
        """Return the connection to the pool if the exchange finished cleanly; otherwise close it."""
        conn, self._conn = self._conn, None
        if conn is not None:
            self._pool._give_back(conn)

    async def __aenter__(self) -> Response:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


class HttpClient:
    """Requests to one origin (``http://`` or ``https://``), over a pool of keep-alive connections.

    ``limit`` bounds the open connections (requests beyond it wait for one to come back);
    ``idle_seconds`` is how long an idle connection may be reused (keep it below the server's own
    keep-alive timeout: uvicorn's default is 5 s).
    """

    def __init__(
        self, url: str, *, limit: int = 256, idle_seconds: float = 4.0, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        default_port = self.port == (443 if parts.scheme == "https" else 80)
        host = f"[{self.host}]" if ":" in self.host else self.host
        self._host_header = host if default_port else f"{host}:{self.port}"
        self._ssl: ssl.SSLContext | None = None
        if parts.scheme == "https":
            self._ssl = ssl_context or ssl.create_default_context()
        self._idle: collections.deque[_Connection] = collections.deque()
        self._idle_seconds = idle_seconds
        self._slots = asyncio.Semaphore(limit)
        self._open: set[_Connection] = set()
        self._closed = False

    async def request(self, method: str, headers: Mapping[str, str], body: bytes | None = None) -> Response:
        """Send one request and wait for the response head. The caller must release the response."""
        if self._closed:
            raise HttpClientError("client is closed")
        head = self._head(method, headers, body)
        conn = await self._acquire()
        try:
            conn.send(head + body if body else head)
            status, response_headers = await conn.head()
        except BaseException:
            self._drop(conn)
            raise
        return Response(status, response_headers, conn, self)

    def _head(self, method: str, headers: Mapping[str, str], body: bytes | None) -> bytes:
        lines = [f"{method} {self.target} HTTP/1.1\r\nHost: {self._host_header}\r\n"]
        for name, value in headers.items():
            lines.append(f"{name}: {value}\r\n")
        if _FORBIDDEN_IN_HEADER.search("".join(headers) + "".join(headers.values())):
            bad = next(n for n, v in headers.items() if _FORBIDDEN_IN_HEADER.search(n + v))
            raise HttpClientError(f"header {bad!r} has a line break or NUL in it")
        if body is not None:
            lines.append(f"Content-Length: {len(body)}\r\n")
        lines.append("\r\n")
        return "".join(lines).encode("utf-8")

    async def _acquire(self) -> _Connection:
        await self._slots.acquire()
        try:
            now = time.monotonic()
            while self._idle:
                conn = self._idle.pop()  # the most recently used: warm, least likely to be timed out
                if not conn.closed and now - conn.idle_since < self._idle_seconds:
                    return conn
                self._drop(conn, release_slot=False)
            return await self._connect()
        except BaseException:
            self._slots.release()
            raise

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _, conn = await loop.create_connection(
                lambda: _Connection(loop), self.host, self.port, ssl=self._ssl,
                server_hostname=self.host if self._ssl else None,
            )
        except OSError as exc:
            raise HttpClientError(f"cannot connect to {self.host}:{self.port}: {exc.strerror or exc}") from None
        self._open.add(conn)
        return conn

    def _give_back(self, conn: _Connection) -> None:
        if conn.complete and conn.keep_alive and not conn.closed and not self._closed:
            conn.idle_since = time.monotonic()
            self._idle.append(conn)
            self._slots.release()
        else:
            self._drop(conn)

    def _drop(self, conn: _Connection, *, release_slot: bool = True) -> None:
        conn.close()
        self._open.discard(conn)
        if release_slot:
            self._slots.release()

    async def close(self) -> None:
        """Close every connection; requests in flight fail."""
        self._closed = True
        for conn in list(self._open):
            conn.close()
        self._open.clear()
        self._idle.clear()
