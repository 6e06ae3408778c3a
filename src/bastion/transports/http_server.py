"""The client-facing listener: Streamable HTTP (both eras) and WebSocket, as a raw ASGI app.

- ``POST <path>``: one JSON-RPC message. Handshake era: ``initialize`` opens a session
  (``Mcp-Session-Id``), later requests must carry it (400 without, 404 for an unknown one).
  2026-07-28: any request carrying its version (``MCP-Protocol-Version`` header or ``_meta``)
  is served on its own, no session. A request's answer is JSON, or an SSE stream when messages
  (progress, server-to-client requests) come before it.
- ``GET <path>``: the handshake era's stream of server messages not tied to a request.
- ``DELETE <path>``: ends a session.
- ``<websocket_path>``: WebSocket MCP (subprotocol ``mcp``), one session per connection.
- ``/healthz`` (always 200 with upstream states) and ``/readyz`` (503 until an upstream is ready).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

import orjson

from bastion.config import HttpListen
from bastion.gateway.core import Gateway, version_of_request
from bastion.gateway.session import ClientSession
from bastion.protocol import errors
from bastion.protocol.eras import (
    META_CLIENT_CAPABILITIES,
    META_CLIENT_INFO,
    META_LOG_LEVEL,
    META_PROTOCOL_VERSION,
    STATELESS_VERSIONS,
    Era,
)
from bastion.protocol.jsonrpc import JSONObj, Kind, Message, ProtocolError, encode, error_obj, parse
from bastion.timers import wheel
from bastion.transports.sse import format_event
from bastion.transports.stream_session import serve_stream

Scope = MutableMapping[str, Any]
Message_ = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message_]]
Send = Callable[[Message_], Awaitable[None]]

log = logging.getLogger("bastion.http")

STATUS_FOR_CODE = {
    errors.PARSE_ERROR: 400,
    errors.INVALID_REQUEST: 400,
    errors.INVALID_PARAMS: 400,
    errors.HEADER_MISMATCH: 400,
    errors.MISSING_REQUIRED_CLIENT_CAPABILITY: 400,
    errors.UNSUPPORTED_PROTOCOL_VERSION: 400,
    errors.METHOD_NOT_FOUND: 404,
}
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
SSE_HEADERS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache"),
               (b"x-accel-buffering", b"no")]


class HttpApp:
    def __init__(self, gateway: Gateway, cfg: HttpListen, max_body: int) -> None:
        self.gw = gateway
        self.cfg = cfg
        self.path = cfg.path.rstrip("/") or "/"
        self.ws_path = cfg.websocket_path
        self.max_body = max_body
        self.allowed_origins = set(cfg.allowed_origins)
        self._get_streams: dict[str, asyncio.Queue[bytes | None]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "websocket":
            await self._websocket(scope, receive, send)
        elif kind == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    for q in self._get_streams.values():
                        q.put_nowait(None)
                    await send({"type": "lifespan.shutdown.complete"})
                    return

    # ---- HTTP ---------------------------------------------------------------------------------

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"].rstrip("/") or "/"
        method = scope["method"]
        if path == "/healthz":
            await _respond(send, 200, orjson.dumps(self.gw.health()))
            return
        if path == "/readyz":
            ok = self.gw.ready()
            await _respond(send, 200 if ok else 503, b'{"ready":true}' if ok else b'{"ready":false}')
            return
        if path != self.path:
            await _respond(send, 404, b'{"error":"not found"}')
            return
        # RFC 9110 5.5: optional whitespace around a field value is not part of it (httptools keeps it).
        headers = {k.decode("latin-1").lower(): v.decode("latin-1").strip(" \t") for k, v in scope["headers"]}
        if not self._origin_ok(headers.get("origin")):
            self._audit_refusal("origin", errors.INVALID_REQUEST, "http.origin")
            await _jsonrpc_error(send, 403, None, errors.INVALID_REQUEST, "origin not allowed")
            return
        if method == "POST":
            await self._post(scope, receive, send, headers)
        elif method == "GET":
            await self._get(receive, send, headers)
        elif method == "DELETE":
            session = self.gw.sessions.get(headers.get("mcp-session-id", ""))
            if session is None:
                await _respond(send, 404, b'{"error":"unknown session"}')
                return
            self.gw.close_session(session)
            q = self._get_streams.pop(session.id, None)
            if q is not None:
                q.put_nowait(None)
            await _respond(send, 200, b"{}")
        else:
            await _respond(send, 405, b'{"error":"method not allowed"}', [(b"allow", b"GET, POST, DELETE")])

    def _audit_refusal(self, method: str, code: int, rule: str | None) -> None:
        self.gw.audit.record(transport="http", method=method, verdict="deny" if rule else "error",
                             rule=rule, code=code)

    def _origin_ok(self, origin: str | None) -> bool:
        if origin is None or origin in self.allowed_origins:
            return True
        host = urlsplit(origin).hostname or ""
        return host in LOOPBACK_HOSTS or (host == self.cfg.host and host not in ("0.0.0.0", "::"))

    async def _read_body(self, receive: Receive) -> bytes | None:
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return b""
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_body:
                return None
            chunks.append(body)
            if not message.get("more_body"):
                return b"".join(chunks)

    async def _post(self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str]) -> None:
        body = await self._read_body(receive)
        if body is None:
            self._audit_refusal("(oversized)", errors.MESSAGE_TOO_LARGE, "http.max_body")
            await _jsonrpc_error(send, 413, None, errors.MESSAGE_TOO_LARGE,
                                 f"message exceeds the {self.max_body}-byte limit")
            return
        try:
            msg = parse(body)
        except ProtocolError as exc:
            self._audit_refusal("(invalid)", exc.code, None)
            await _jsonrpc_error(send, 400, exc.request_id, exc.code, exc.message)
            return
        version = version_of_request(msg, headers) if msg.method != "initialize" else None
        if version is None and headers.get("mcp-protocol-version", "").startswith("2026"):
            version = headers["mcp-protocol-version"]
        if version is not None:
            meta = msg.params.get("_meta")
            meta_version = meta.get(META_PROTOCOL_VERSION) if isinstance(meta, dict) else None
            header_version = headers.get("mcp-protocol-version")
            if meta_version is not None and header_version is not None and meta_version != header_version:
                await _jsonrpc_error(send, 400, msg.id, errors.HEADER_MISMATCH,
                                     "MCP-Protocol-Version header does not match params._meta")
                return
            if version not in STATELESS_VERSIONS:
                await _jsonrpc_error(send, 400, msg.id, errors.UNSUPPORTED_PROTOCOL_VERSION,
                                     f"unsupported protocol version {version}",
                                     {"supported": list(STATELESS_VERSIONS), "requested": version})
                return
            await self._stateless(msg, receive, send, headers)
            return
        sid = headers.get("mcp-session-id")
        if msg.method == "initialize" and msg.kind is Kind.REQUEST:
            session = ClientSession(transport="http")
            self.gw.open_session(session)
            extra = [(b"mcp-session-id", session.id.encode())]
        else:
            extra = []
            if not sid:
                await _jsonrpc_error(send, 400, msg.id, errors.INVALID_REQUEST,
                                     "missing Mcp-Session-Id header (send initialize first, or use 2026-07-28)")
                return
            found = self.gw.sessions.get(sid)
            if found is None:
                await _jsonrpc_error(send, 404, msg.id, errors.INVALID_REQUEST, "unknown or expired session")
                return
            session = found
        if msg.kind is not Kind.REQUEST:
            await self.gw.handle(session, msg, _drop, headers)
            await _respond(send, 202, b"")
            return
        await self._exchange(session, msg, receive, send, headers, extra, stateless=False)
        if msg.method == "initialize" and session.send is None:
            q = self._get_streams.setdefault(session.id, asyncio.Queue())
            session.send = q.put_nowait

    async def _stateless(self, msg: Message, receive: Receive, send: Send, headers: dict[str, str]) -> None:
        if msg.kind is not Kind.REQUEST:
            await _respond(send, 202, b"")  # no client-to-server notifications in 2026-07-28
            return
        meta = msg.params.get("_meta")
        missing = [k for k in (META_PROTOCOL_VERSION, META_CLIENT_CAPABILITIES)
                   if not isinstance(meta, dict) or k not in meta]
        if missing:
            await _jsonrpc_error(send, 400, msg.id, errors.INVALID_PARAMS,
                                 f"params._meta is missing the required key(s): {', '.join(missing)}")
            return
        assert isinstance(meta, dict)
        session = ClientSession(transport="http", era=Era.STATELESS)
        session.client_info = meta.get(META_CLIENT_INFO) or {}
        session.client_capabilities = meta.get(META_CLIENT_CAPABILITIES) or {}
        level = meta.get(META_LOG_LEVEL)
        session.log_level = level if isinstance(level, str) else None
        session.initialized = True
        await self._exchange(session, msg, receive, send, headers, [], stateless=True)

    async def _exchange(
        self,
        session: ClientSession,
        msg: Message,
        receive: Receive,
        send: Send,
        headers: dict[str, str],
        extra: list[tuple[bytes, bytes]],
        *,
        stateless: bool,
    ) -> None:
        """Answer one request: JSON if nothing comes before the answer, otherwise SSE.

        The handler runs in the request's own task. A message emitted before the answer starts an
        SSE stream (a second task writes it). A client that closes its POST cancels the call (that
        is how a 2026-07-28 client cancels); the watcher for that starts only once a call has run a
        while, and cancels the handler.
        """
        me = asyncio.current_task()
        assert me is not None
        loop = me.get_loop()  # (finding the running loop again would cost a system call)
        x = _Exchange(loop, send, extra)
        timer = wheel(loop).add(WATCH_DISCONNECT_AFTER, x.watch, (loop, receive, me))  # coarse: no loop timer per call
        cancelled = False
        reply: bytes | None = None
        rid = msg.id
        answered: asyncio.Future[bytes] = loop.create_future()
        try:
            if not stateless and self.gw.relay_now(session, msg, x.emit, answered.set_result, answered.cancel, headers):
                try:  # sent on without the awaiting machinery; a callback answers
                    reply = await answered
                except asyncio.CancelledError:
                    if me.cancelling():  # this task was cancelled (client gone, shutdown): withdraw the call
                        relayed = session.inflight.get(rid) if rid is not None else None
                        if relayed is not None:
                            relayed.cancel()
                        raise
                    cancelled = True  # the client sent notifications/cancelled (on_cancel)
            else:
                reply = await self.gw.handle(session, msg, x.emit, headers)
        except asyncio.CancelledError:
            if not (x.gone or (rid is not None and rid in session.cancelled)):
                raise  # not the client's doing (shutdown): let it through
            session.cancelled.discard(rid)
            me.uncancel()
            cancelled = True
        finally:
            timer.cancel()
            x.unwatch()
        if x.streamer is not None:
            x.finish(None if cancelled else reply)
            await x.streamer
            return
        if x.gone:
            return
        if cancelled:  # notifications/cancelled: no answer (the client has given up)
            await _respond(send, 204, b"", extra)
            return
        body = reply or b""
        status = 200
        if stateless:
            code = _error_code(body)
            status = STATUS_FOR_CODE.get(code, 200) if code is not None else 200
        await _respond(send, status, body, extra)

    async def _get(self, receive: Receive, send: Send, headers: dict[str, str]) -> None:
        if headers.get("mcp-protocol-version", "").startswith("2026"):
            await _respond(send, 405, b'{"error":"2026-07-28 has no GET stream; use subscriptions/listen"}',
                           [(b"allow", b"POST")])
            return
        sid = headers.get("mcp-session-id")
        session = self.gw.sessions.get(sid or "")
        if session is None:
            await _respond(send, 400 if not sid else 404, b'{"error":"missing or unknown Mcp-Session-Id"}')
            return
        # Messages sent before the stream opened were buffered in the session's queue.
        q = self._get_streams.setdefault(session.id, asyncio.Queue())
        session.send = q.put_nowait
        await send({"type": "http.response.start", "status": 200,
                    "headers": SSE_HEADERS + [(b"mcp-session-id", session.id.encode())]})
        await send({"type": "http.response.body", "body": b": stream open\n\n", "more_body": True})
        disconnected = asyncio.ensure_future(_wait_disconnect(receive))
        try:
            while True:
                getter = asyncio.ensure_future(q.get())
                done, _ = await asyncio.wait({getter, disconnected}, return_when=asyncio.FIRST_COMPLETED)
                if disconnected in done:
                    getter.cancel()
                    return
                data = getter.result()
                if data is None:
                    break
                await send({"type": "http.response.body", "body": format_event(data), "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            disconnected.cancel()
            if self._get_streams.get(session.id) is q:
                del self._get_streams[session.id]
                session.send = None

    # ---- WebSocket ----------------------------------------------------------------------------

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.ws_path is None or scope["path"].rstrip("/") != self.ws_path.rstrip("/"):
            await receive()
            await send({"type": "websocket.close", "code": 1008})
            return
        connect = await receive()
        if connect["type"] != "websocket.connect":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if not self._origin_ok(headers.get("origin")):
            await send({"type": "websocket.close", "code": 1008})
            return
        sub = "mcp" if "mcp" in scope.get("subprotocols", []) else None
        await send({"type": "websocket.accept", "subprotocol": sub})

        async def incoming() -> AsyncIterator[bytes]:
            while True:
                m = await receive()
                if m["type"] == "websocket.disconnect":
                    return
                data = m.get("bytes") or (m.get("text") or "").encode()
                if len(data) > self.max_body:
                    await send({"type": "websocket.send", "text": encode(error_obj(
                        None, errors.MESSAGE_TOO_LARGE, f"message exceeds the {self.max_body}-byte limit")).decode()})
                    continue
                yield data

        async def write(data: bytes) -> None:
            await send({"type": "websocket.send", "text": data.decode()})

        await serve_stream(self.gw, "websocket", incoming(), write)
        with contextlib.suppress(Exception):
            await send({"type": "websocket.close", "code": 1000})


WATCH_DISCONNECT_AFTER = 0.25
"""Seconds after which a running call starts watching for its client going away."""


class _Exchange:
    """One request's messages before its answer (streamed as SSE by a second task, started by the
    first of them), and the watcher that notices the client going away."""

    def __init__(self, loop: asyncio.AbstractEventLoop, send: Send, extra: list[tuple[bytes, bytes]]) -> None:
        self.loop = loop
        self.send = send
        self.extra = extra
        self.queue: collections.deque[bytes] = collections.deque()
        self.wake: asyncio.Future[None] = loop.create_future()
        self.gone = False
        self.done = False
        self.final: bytes | None = None
        self.streamer: asyncio.Task[None] | None = None
        self.watcher: asyncio.Task[None] | None = None

    def emit(self, data: bytes) -> None:
        self.queue.append(data)
        if self.streamer is None:
            self.streamer = self.loop.create_task(self._stream())
        self._poke()

    def finish(self, final: bytes | None) -> None:
        self.final = final
        self.done = True
        self._poke()

    def _poke(self) -> None:
        if not self.wake.done():
            self.wake.set_result(None)

    async def _stream(self) -> None:
        await self.send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS + self.extra})
        while True:
            while self.queue:
                await self.send({"type": "http.response.body", "body": format_event(self.queue.popleft()),
                                 "more_body": True})
            if self.gone:
                return
            if self.done:
                final = self.final
                await self.send({"type": "http.response.body", "body": format_event(final) if final else b"",
                                 "more_body": False})
                return
            self.wake = self.loop.create_future()
            if not (self.queue or self.done or self.gone):
                await self.wake

    def watch(self, loop: asyncio.AbstractEventLoop, receive: Receive, handler: asyncio.Task[Any]) -> None:
        self.watcher = loop.create_task(self._watch(receive, handler))

    async def _watch(self, receive: Receive, handler: asyncio.Task[Any]) -> None:
        await _wait_disconnect(receive)
        self.gone = True
        self._poke()
        if not self.done:
            handler.cancel()

    def unwatch(self) -> None:
        if self.watcher is not None:
            self.watcher.cancel()


def _drop(data: bytes) -> None:
    return None


def _error_code(reply: bytes) -> int | None:
    if b'"error"' not in reply[:64] and b'"error"' not in reply:
        return None
    try:
        obj: JSONObj = orjson.loads(reply)
    except orjson.JSONDecodeError:
        return None
    err = obj.get("error")
    return err.get("code") if isinstance(err, dict) else None


async def _wait_disconnect(receive: Receive) -> None:
    while True:
        m = await receive()
        if m["type"] == "http.disconnect":
            return


async def _respond(send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if extra:
        headers += extra
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _jsonrpc_error(send: Send, status: int, rid: Any, code: int, message: str, data: Any = None) -> None:
    log.info("refused with HTTP %s: %s", status, message)
    await _respond(send, status, encode(error_obj(rid, code, message, data)))
