"""Connections to upstream MCP servers, in either protocol era.

One :class:`Upstream` per configured server, shared by every client session. It owns the id space
on that connection (client ids are remapped, so clients never collide), maps progress tokens, hands
messages that belong to a client request back through that request's :class:`Relay`, and restarts
a dead connection with exponential backoff. Requests made while it is down wait up to the connect
timeout, then fail with a readable error.

Era: ``auto`` probes ``server/discover`` at 2026-07-28 and falls back to ``initialize`` on any
error (the SDKs' rule); ``handshake`` or ``stateless`` force one.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from bastion import __version__
from bastion.config import HttpUpstream as HttpUpstreamConfig
from bastion.config import StdioUpstream as StdioUpstreamConfig
from bastion.config import Upstream as UpstreamConfig
from bastion.gateway import sandboxing
from bastion.gateway.relay import Relay
from bastion.guards.header_match import param_headers
from bastion.protocol import errors
from bastion.protocol.eras import (
    LATEST_HANDSHAKE,
    LATEST_STATELESS,
    META_CLIENT_CAPABILITIES,
    META_CLIENT_INFO,
    META_LOG_LEVEL,
    META_PROTOCOL_VERSION,
    META_SERVER_INFO,
    STATELESS_VERSIONS,
    Era,
)
from bastion.protocol.jsonrpc import (
    JSONObj,
    Kind,
    Message,
    ProtocolError,
    error_obj,
    notification_obj,
    parse,
    request_obj,
    result_obj,
    with_id,
)
from bastion.sandbox.config import SandboxConfig
from bastion.sandbox.egress import EgressEvent
from bastion.secrets.embedded import resolve_headers
from bastion.timers import TICK, deadline
from bastion.transports.base import MessageStream
from bastion.transports.http_client import HttpClient, HttpClientError
from bastion.transports.sse import parse_events
from bastion.transports.sse_client import LegacySSEClient
from bastion.transports.stdio_child import StdioChild
from bastion.transports.ws_client import WebSocketClient

log = logging.getLogger("bastion.upstream")

CLIENT_INFO: JSONObj = {"name": "mcp-bastion", "version": __version__}
CLIENT_CAPABILITIES: JSONObj = {
    "sampling": {},
    "elicitation": {"form": {}, "url": {}},
}
"""What the gateway declares to handshake-era upstreams. Not ``roots``: the upstream session is
shared by every client, so one client's roots (its file paths) would be used, and shown, for others."""
MAX_INPUT_ROUNDS = 8
RECYCLE_MARGIN = 5.0
LISTEN_SECONDS = 365 * 24 * 3600.0

OnNotification = Callable[[str, Message], None]


class UpstreamError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


OnReply = Callable[["Message | UpstreamError"], None]
"""Told the outcome of a request sent with :meth:`StreamUpstream.send_now`: the answer or the error."""


@dataclass(slots=True)
class _InFlight:
    future: asyncio.Future[Message] | None
    """Awaited by the task that sent the request; None when ``on_reply`` is told instead."""
    relay: Relay | None
    client_token: Any = None
    on_reply: OnReply | None = None
    deadline: float = 0.0
    """Loop time after which a request sent with ``send_now`` times out (see ``_expire_due``)."""
    timeout: float = 0.0
    method: str = ""

    def settle(self, outcome: Message | UpstreamError) -> None:
        """Deliver the answer (or the error), once."""
        if self.future is not None:
            if not self.future.done():
                if isinstance(outcome, UpstreamError):
                    self.future.set_exception(outcome)
                else:
                    self.future.set_result(outcome)
            return
        on_reply, self.on_reply = self.on_reply, None
        if on_reply is not None:
            on_reply(outcome)


class Upstream(ABC):
    stream_cancels = False
    """2026-07-28 cancellation is a notification on message streams, a closed POST over HTTP."""

    def __init__(self, name: str, cfg: UpstreamConfig, on_notification: OnNotification) -> None:
        self.name = name
        self.cfg = cfg
        self.on_notification = on_notification
        self.era: Era | None = None if cfg.era == "auto" else Era(cfg.era)
        self.protocol_version: str | None = None
        self.server_info: JSONObj = {}
        self.capabilities: JSONObj = {}
        self.instructions: str | None = None
        self.ready = asyncio.Event()
        self.last_error: str | None = None
        self.restarts = 0
        self._ids = itertools.count(1)
        self._inflight: dict[int, _InFlight] = {}
        self._progress: dict[int, _InFlight] = {}
        self._closing = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self.tool_schemas: dict[str, JSONObj] = {}
        """Input schemas from this upstream's tools/list (its own names), for SEP-2243 headers."""
        self._generation = 0

    # ---- public API -------------------------------------------------------------------------

    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    async def request(
        self, method: str, params: JSONObj | None, *, relay: Relay | None = None, timeout: float | None = None
    ) -> Message:
        """Send a request and return the upstream's response (result or error), upstream id in it."""
        await self._wait_ready()
        msg = await self._request_once(method, params, relay, timeout)
        rounds = 0
        while (
            relay is not None
            and not relay.stateless_client
            and msg.kind is Kind.RESPONSE
            and msg.result.get("resultType") == "input_required"
            and rounds < MAX_INPUT_ROUNDS
        ):
            # A 2026-07-28 upstream asks for input; the client speaks the handshake era, so ask it
            # with ordinary server-to-client requests and retry on its behalf.
            rounds += 1
            answers: JSONObj = {}
            requests = msg.result.get("inputRequests") or {}
            for key, req in requests.items() if isinstance(requests, dict) else ():
                resp = await relay.server_request(str(req.get("method", "")), req.get("params"))
                if "error" in resp:
                    return Message.from_obj(error_obj(msg.id, errors.INTERNAL_ERROR, "client refused input"))
                answers[key] = resp.get("result", {})
            retry = dict(params or {})
            retry["inputResponses"] = answers
            if "requestState" in msg.result:
                retry["requestState"] = msg.result["requestState"]
            msg = await self._request_once(method, retry, relay, timeout)
        return msg

    async def notify(self, method: str, params: JSONObj | None = None) -> None:
        if self.era is Era.STATELESS:
            return  # the stateless era defines no client-to-server notifications
        await self._wait_ready()
        await self._send_notification(notification_obj(method, params))

    async def cancel(self, upstream_id: int, reason: str = "cancelled by client") -> None:
        # Handshake era: always. 2026-07-28: on a shared stream (stdio, WebSocket) the client MUST send
        # notifications/cancelled; over HTTP, aborting the POST (the cancelled task) is the cancellation.
        if self.ready.is_set() and (self.era is Era.HANDSHAKE or self.stream_cancels):
            with contextlib.suppress(Exception):
                await self._send_notification(
                    notification_obj("notifications/cancelled", {"requestId": upstream_id, "reason": reason})
                )

    @property
    def state(self) -> str:
        return "ready" if self.ready.is_set() else ("closed" if self._closing else "down")

    # ---- shared machinery ----------------------------------------------------------------

    async def _wait_ready(self) -> None:
        if self.ready.is_set():
            return
        try:
            await asyncio.wait_for(self.ready.wait(), self.cfg.connect_timeout)
        except TimeoutError:
            why = f": {self.last_error}" if self.last_error else ""
            raise UpstreamError(errors.UPSTREAM_UNAVAILABLE, f"upstream {self.name} is unavailable{why}") from None

    def _prepare(
        self, method: str, params: JSONObj | None, relay: Relay | None, future: asyncio.Future[Message] | None
    ) -> tuple[int, JSONObj, _InFlight]:
        """Give a request its upstream id (and progress token), register it as in flight."""
        uid = next(self._ids)
        params = dict(params) if params else {}
        meta = params.get("_meta")
        client_token = meta.get("progressToken") if isinstance(meta, dict) else None
        if client_token is not None or self.era is Era.STATELESS:
            meta = dict(meta) if isinstance(meta, dict) else {}
            if client_token is not None:
                meta["progressToken"] = uid
            if self.era is Era.STATELESS:
                meta.update(self._stateless_meta(relay))
            params["_meta"] = meta
        inflight = _InFlight(future, relay, client_token, method=method)
        self._inflight[uid] = inflight
        if client_token is not None:
            self._progress[uid] = inflight
        return uid, request_obj(uid, method, params), inflight

    def _forget(self, uid: int) -> None:
        self._inflight.pop(uid, None)
        self._progress.pop(uid, None)

    async def _request_once(
        self, method: str, params: JSONObj | None, relay: Relay | None, timeout: float | None
    ) -> Message:
        uid, obj, inflight = self._prepare(method, params, relay, asyncio.get_running_loop().create_future())
        try:
            with deadline(timeout or self.cfg.timeout):  # no extra task or loop timer of its own
                return await self._exchange(obj, inflight)
        except TimeoutError:
            self._spawn(self.cancel(uid, "timed out"))  # fire and forget
            raise UpstreamError(
                errors.UPSTREAM_TIMEOUT,
                f"upstream {self.name} did not answer {method} within {timeout or self.cfg.timeout:g}s",
            ) from None
        except asyncio.CancelledError:
            self._spawn(self.cancel(uid))
            raise
        finally:
            self._forget(uid)

    def _stateless_meta(self, relay: Relay | None = None) -> JSONObj:
        # The upstream may only ask (elicitation, sampling, roots) what the client behind this
        # request can answer, and may only log if that client asked for log messages.
        meta: JSONObj = {
            META_PROTOCOL_VERSION: self.protocol_version or LATEST_STATELESS,
            META_CLIENT_INFO: CLIENT_INFO,
            META_CLIENT_CAPABILITIES: dict(getattr(relay, "client_capabilities", None) or {}),
        }
        level = getattr(relay, "log_level", None)
        if isinstance(level, str):
            meta[META_LOG_LEVEL] = level
        return meta

    @abstractmethod
    async def _exchange(self, obj: JSONObj, inflight: _InFlight) -> Message: ...

    @abstractmethod
    async def _send_notification(self, obj: JSONObj) -> None: ...

    @abstractmethod
    async def _send_response(self, obj: JSONObj) -> None: ...

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _cancel_tasks(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    def _fail_inflight(self, reason: str) -> None:
        for uid, inflight in list(self._inflight.items()):
            if inflight.future is None:
                self._forget(uid)  # nobody awaits it to clean up
            inflight.settle(UpstreamError(errors.UPSTREAM_UNAVAILABLE, f"upstream {self.name} {reason}"))

    def _handle_incoming(self, msg: Message, relay: Relay | None) -> None:
        """A message that is not the awaited response: notification or server-to-client request."""
        if msg.kind is Kind.REQUEST:
            self._spawn(self._serve_server_request(msg, relay))
            return
        if msg.kind is not Kind.NOTIFICATION:
            self._settle_reply(msg)
            return
        if msg.method == "notifications/progress":
            token = msg.params.get("progressToken")
            target = self._progress.get(token) if isinstance(token, int) else None
            if target is not None and target.relay is not None:
                params = {**msg.params, "progressToken": target.client_token}
                target.relay.notify(notification_obj(msg.method, params))
            return
        if relay is not None and msg.method == "notifications/message":
            relay.notify(msg.obj)
            return
        self.on_notification(self.name, msg)

    def _settle_reply(self, msg: Message) -> None:
        """A response or error: to the request in flight with its id (a stray one is dropped)."""
        uid = msg.id
        if type(uid) is int and (inflight := self._inflight.get(uid)) is not None:
            if inflight.future is None:  # nobody awaits it to clean up; the usual case settled here
                del self._inflight[uid]
                if self._progress:
                    self._progress.pop(uid, None)
                on_reply, inflight.on_reply = inflight.on_reply, None
                if on_reply is not None:
                    on_reply(msg)
                return
            inflight.settle(msg)

    def _attribute(self) -> Relay | None:
        """Which client a server-to-client request on a shared stream belongs to: the one client
        request in flight; when several are in flight it cannot be known, and nobody is asked."""
        relays = [i.relay for i in self._inflight.values() if i.relay is not None]
        return relays[0] if len(relays) == 1 else None

    async def _serve_server_request(self, msg: Message, relay: Relay | None) -> None:
        if msg.method == "ping":
            await self._send_response(result_obj(msg.id, {}))
            return
        if relay is None:
            log.warning("upstream %s sent %s with no attributable client request; refused", self.name, msg.method)
            response = error_obj(
                msg.id, errors.METHOD_NOT_FOUND, f"mcp-bastion: no client session to relay {msg.method} to"
            )
        else:
            answer = await relay.server_request(msg.method, msg.obj.get("params"))
            response = {**answer, "jsonrpc": "2.0", "id": msg.id}
        with contextlib.suppress(Exception):
            await self._send_response(response)

    def _start_listening(self) -> None:
        """A 2026-07-28 upstream sends list-changed notifications only on a ``subscriptions/listen``
        stream: keep one open while the upstream is up, so clients of either era hear of changes."""
        if self.era is not Era.STATELESS:
            return
        flags = {
            "toolsListChanged": bool((self.capabilities.get("tools") or {}).get("listChanged")),
            "promptsListChanged": bool((self.capabilities.get("prompts") or {}).get("listChanged")),
            "resourcesListChanged": bool((self.capabilities.get("resources") or {}).get("listChanged")),
        }
        if any(flags.values()):
            self._generation += 1
            self._spawn(self._listen_loop({k: v for k, v in flags.items() if v}, self._generation))

    async def _listen_loop(self, flags: JSONObj, generation: int) -> None:
        backoff = 1.0
        while not self._closing and generation == self._generation and self.era is Era.STATELESS:
            if not self.ready.is_set():
                await asyncio.sleep(backoff)
                continue
            try:
                await self._request_once("subscriptions/listen", {"notifications": flags}, None, LISTEN_SECONDS)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.debug("upstream %s listen stream ended: %s", self.name, exc)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 30)

    def _adopt_initialize(self, result: JSONObj) -> None:
        self.era = Era.HANDSHAKE
        self.protocol_version = str(result.get("protocolVersion", LATEST_HANDSHAKE))
        self.server_info = dict(result.get("serverInfo") or {})
        self.capabilities = dict(result.get("capabilities") or {})
        instructions = result.get("instructions")
        self.instructions = instructions if isinstance(instructions, str) else None

    def _adopt_discover(self, result: JSONObj) -> bool:
        versions = result.get("supportedVersions") or []
        mutual = [v for v in STATELESS_VERSIONS if v in versions]
        if not mutual:
            return False
        self.era = Era.STATELESS
        self.protocol_version = mutual[-1]
        meta = result.get("_meta") or {}
        self.server_info = dict(result.get("serverInfo") or meta.get(META_SERVER_INFO) or {})
        self.capabilities = dict(result.get("capabilities") or {})
        instructions = result.get("instructions")
        self.instructions = instructions if isinstance(instructions, str) else None
        return True

    def _discover_params(self) -> JSONObj:
        return {"_meta": self._stateless_meta()}

    def _initialize_params(self) -> JSONObj:
        return {"protocolVersion": LATEST_HANDSHAKE, "capabilities": CLIENT_CAPABILITIES, "clientInfo": CLIENT_INFO}


class StreamUpstream(Upstream):
    """An upstream over a message stream: a stdio child, a WebSocket, or legacy HTTP+SSE."""

    stream_cancels = True

    def __init__(
        self,
        name: str,
        cfg: UpstreamConfig,
        on_notification: OnNotification,
        make_stream: Callable[[], MessageStream],
    ) -> None:
        super().__init__(name, cfg, on_notification)
        self._make_stream = make_stream
        self._stream: MessageStream | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._recycling = False
        self.one_shot = False
        """Give up after the first failed start instead of restarting (for scans)."""
        self.on_exit: Callable[[str, str], None] | None = None
        """Told when the server stops unplanned (crash, kill, lifetime), with the reason."""
        self._gave_up = asyncio.Event()
        self.ephemeral = False
        """Start a fresh server after every tool call (sandbox ``ephemeral: true``)."""
        self.recycles = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sweep: asyncio.TimerHandle | None = None

    async def recycle(self) -> None:
        """Replace the running server with a fresh one, between calls: a planned restart."""
        stream = self._stream
        if stream is None or self._closing or not self.ready.is_set():
            return
        self._recycling = True
        self.ready.clear()
        self.recycles += 1
        await stream.close()

    async def _request_once(
        self, method: str, params: JSONObj | None, relay: Relay | None, timeout: float | None
    ) -> Message:
        stream = self._stream
        if (
            stream is not None
            and not self._inflight
            and isinstance(stream, StdioChild)
            and stream.should_recycle(RECYCLE_MARGIN)
        ):
            log.info("upstream %s: sandbox lifetime nearly over; recycling between calls", self.name)
            await self.recycle()
            await self._wait_ready()
        try:
            return await super()._request_once(method, params, relay, timeout)
        finally:
            if self.ephemeral and method == "tools/call" and not self._inflight:
                self._spawn(self.recycle())

    def can_send_now(self) -> bool:
        """True when :meth:`send_now` may be used; otherwise (not ready, pipe full, a recycle due,
        a 2026-07-28 server whose answers may ask for input) the caller takes the awaiting path."""
        stream = self._stream
        return (
            self.ready.is_set()
            and self.era is Era.HANDSHAKE
            and not self.ephemeral
            and isinstance(stream, StdioChild)
            and stream.can_write_now()
            and (bool(self._inflight) or not stream.should_recycle(RECYCLE_MARGIN))
        )

    def send_now(self, method: str, params: JSONObj | None, relay: Relay | None, on_reply: OnReply,
                 limit: float | None = None, verbatim: Message | None = None) -> int:
        """Send a request without a task (after :meth:`can_send_now`): ``on_reply`` is called once,
        with the answer, or with an :class:`UpstreamError` on timeout (this upstream's, or ``limit``
        seconds if that is sooner) or when the server goes away. Returns the upstream id, for
        :meth:`withdraw`.

        ``verbatim``: a client request whose params the server takes as they are (no ``_meta``,
        the server's own names) and whose bytes are sent with only the id changed; ``params`` is
        then not needed."""
        stream = self._stream
        assert isinstance(stream, StdioChild)
        data = None
        if verbatim is not None and verbatim.id is not None:
            uid = next(self._ids)
            data = with_id(verbatim.raw, verbatim.id, uid)
            if data is not None:
                inflight = self._inflight[uid] = _InFlight(None, relay, method=method)
            else:  # the id is not where it can be swapped: encoded anew
                params = verbatim.params
        if data is None:
            uid, obj, inflight = self._prepare(method, params, relay, None)
            data = orjson.dumps(obj)
        try:
            stream.write_now(data)
        except (ConnectionError, OSError) as exc:
            self._forget(uid)
            raise UpstreamError(errors.UPSTREAM_UNAVAILABLE, f"upstream {self.name}: {exc}") from None
        inflight.on_reply = on_reply
        # No loop timer per request: one sweep per tick looks at what is in flight (see _expire_due).
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()  # kept: finding it costs a system call
        timeout = self.cfg.timeout if limit is None else min(limit, self.cfg.timeout)
        inflight.timeout = timeout
        inflight.deadline = loop.time() + timeout
        if self._sweep is None:
            self._sweep = loop.call_later(TICK, self._expire_due)
        return uid

    def _expire_due(self) -> None:
        """Time out the requests sent with :meth:`send_now` whose deadline has passed; look again
        next tick while any is in flight."""
        self._sweep = None
        loop = self._loop
        assert loop is not None
        now = loop.time()
        waiting = False
        due: list[int] = []
        for uid, inflight in self._inflight.items():
            if inflight.on_reply is not None:
                if inflight.deadline <= now:
                    due.append(uid)
                else:
                    waiting = True
        for uid in due:
            self._expire(uid)
        if waiting:
            self._sweep = loop.call_later(TICK, self._expire_due)

    def _expire(self, uid: int) -> None:
        inflight = self._inflight.get(uid)
        if inflight is None:
            return
        self._forget(uid)
        self._spawn(self.cancel(uid, "timed out"))
        inflight.settle(UpstreamError(errors.UPSTREAM_TIMEOUT, f"upstream {self.name} did not answer "
                                      f"{inflight.method} within {inflight.timeout:g}s"))

    def withdraw(self, uid: int) -> None:
        """The client cancelled a request sent with :meth:`send_now`: tell the server, drop the answer."""
        inflight = self._inflight.get(uid)
        if inflight is None:
            return
        self._forget(uid)
        inflight.on_reply = None
        self._spawn(self.cancel(uid))

    async def start(self) -> None:
        self._supervisor = asyncio.create_task(self._supervise())
        waiters = [asyncio.ensure_future(self.ready.wait()), asyncio.ensure_future(self._gave_up.wait())]
        await asyncio.wait(waiters, timeout=self.cfg.connect_timeout, return_when=asyncio.FIRST_COMPLETED)
        for w in waiters:
            w.cancel()
        if not self.ready.is_set():
            log.error("upstream %s did not start: %s", self.name, self.last_error or "timeout")

    async def _supervise(self) -> None:
        backoff = 0.5
        max_backoff = self.cfg.restart_backoff_max if isinstance(self.cfg, StdioUpstreamConfig) else 30.0
        while not self._closing:
            stream = self._make_stream()
            self._stream = stream
            closed = asyncio.Event()
            reason = "stopped"

            def on_close(why: str, _closed: asyncio.Event = closed) -> None:
                nonlocal reason
                reason = why
                _closed.set()

            started = time.monotonic()
            try:
                await stream.start(self._on_bytes, on_close)
                await asyncio.wait_for(self._handshake(), self.cfg.connect_timeout)
                self.last_error = None
                self.ready.set()
                log.info("upstream %s ready (%s, %s)", self.name, self.era and self.era.value, self.protocol_version)
                self._start_listening()
                if self.restarts or self.recycles:
                    # A new process may offer other tools than the last one: tell the clients.
                    for kind in ("tools", "prompts", "resources"):
                        if kind in self.capabilities:
                            self.on_notification(
                                self.name, Message.from_obj(notification_obj(f"notifications/{kind}/list_changed"))
                            )
                await closed.wait()
            except asyncio.CancelledError:
                await stream.close()
                raise
            except Exception as exc:
                reason = f"failed to start: {exc or type(exc).__name__}"
            self.ready.clear()
            self._fail_inflight(reason)
            await stream.close()
            if self._closing:
                return
            if self._recycling:
                self._recycling = False
                continue  # a planned restart: no backoff, not a failure
            self.last_error = reason
            if self.on_exit is not None:
                self.on_exit(self.name, reason)
            if self.one_shot:
                self._gave_up.set()
                return
            if time.monotonic() - started > 30:
                backoff = 0.5
            log.warning("upstream %s %s; restarting in %.1fs", self.name, reason, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, max_backoff)
            self.restarts += 1

    async def _handshake(self) -> None:
        if self.cfg.era != "handshake":
            probe = await self._raw_request("server/discover", self._discover_params())
            if probe.kind is Kind.RESPONSE and self._adopt_discover(probe.result):
                return
            if self.cfg.era == "stateless":
                raise ConnectionError("server/discover failed: the server does not speak 2026-07-28")
            self.era = None
        init = await self._raw_request("initialize", self._initialize_params())
        if init.kind is not Kind.RESPONSE:
            raise ConnectionError(f"initialize refused: {init.obj.get('error')}")
        self._adopt_initialize(init.result)
        await self._send_notification(notification_obj("notifications/initialized"))

    async def _raw_request(self, method: str, params: JSONObj) -> Message:
        uid = next(self._ids)
        inflight = _InFlight(asyncio.get_running_loop().create_future(), None)
        self._inflight[uid] = inflight
        try:
            return await self._exchange(request_obj(uid, method, params), inflight)
        finally:
            self._inflight.pop(uid, None)

    def _on_bytes(self, data: bytes) -> None:
        try:
            msg = parse(data)
        except ProtocolError as exc:
            log.warning("upstream %s sent an invalid message: %s", self.name, exc.message)
            return
        kind = msg.kind
        if kind is Kind.RESPONSE or kind is Kind.ERROR:  # most of the traffic
            self._settle_reply(msg)
            return
        self._handle_incoming(msg, self._attribute() if kind is Kind.REQUEST else None)

    async def _exchange(self, obj: JSONObj, inflight: _InFlight) -> Message:
        stream = self._stream
        if stream is None:
            raise UpstreamError(errors.UPSTREAM_UNAVAILABLE, f"upstream {self.name} is not connected")
        try:
            await stream.send(_encode(obj))
        except (ConnectionError, OSError) as exc:
            raise UpstreamError(errors.UPSTREAM_UNAVAILABLE, f"upstream {self.name}: {exc}") from None
        assert inflight.future is not None
        return await inflight.future

    async def _send_notification(self, obj: JSONObj) -> None:
        if self._stream is not None:
            await self._stream.send(_encode(obj))

    _send_response = _send_notification

    async def close(self) -> None:
        self._closing = True
        self.ready.clear()
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(BaseException):
                await self._supervisor
        if self._stream is not None:
            await self._stream.close()
        self._fail_inflight("is shutting down")
        self._cancel_tasks()


class StreamableHttpUpstream(Upstream):
    """An upstream over Streamable HTTP, either era. Pooled keep-alive connections (:class:`HttpClient`)."""

    cfg: HttpUpstreamConfig

    def __init__(self, name: str, cfg: HttpUpstreamConfig, on_notification: OnNotification) -> None:
        super().__init__(name, cfg, on_notification)
        self.cfg = cfg
        self.session_id: str | None = None
        self._resolved_headers: dict[str, str] = {}
        self._http: HttpClient | None = None
        self._get_task: asyncio.Task[None] | None = None
        self._start_lock = asyncio.Lock()

    async def start(self) -> None:
        # Time limits are the gateway's own (per request, bastion.timers.deadline); the client has none.
        self._http = HttpClient(self.cfg.url)
        try:
            await asyncio.wait_for(self._connect(), self.cfg.connect_timeout)
        except Exception as exc:
            self.last_error = f"failed to connect: {exc or type(exc).__name__}"
            log.error("upstream %s: %s (will retry on first use)", self.name, self.last_error)

    async def _connect(self) -> None:
        async with self._start_lock:
            if self.ready.is_set():
                return
            await self._handshake()
            self.last_error = None
            self.ready.set()
            log.info("upstream %s ready (%s, %s)", self.name, self.era and self.era.value, self.protocol_version)
            self._start_listening()

    async def _wait_ready(self) -> None:
        if self.ready.is_set():
            return
        try:
            await asyncio.wait_for(self._connect(), self.cfg.connect_timeout)
        except UpstreamError:
            raise
        except Exception as exc:
            self.last_error = str(exc) or type(exc).__name__
            raise UpstreamError(
                errors.UPSTREAM_UNAVAILABLE, f"upstream {self.name} is unavailable: {self.last_error}"
            ) from None

    async def _handshake(self) -> None:
        self.session_id = None
        self._resolved_headers = await resolve_headers(self.cfg.headers)
        if self.cfg.era != "handshake":
            self.era = Era.STATELESS
            self.protocol_version = LATEST_STATELESS
            try:
                probe = await self._post(request_obj(0, "server/discover", self._discover_params()), None)
            except UpstreamError:
                probe = None
            if probe is not None and probe.kind is Kind.RESPONSE and self._adopt_discover(probe.result):
                return
            if self.cfg.era == "stateless":
                raise ConnectionError("server/discover failed: the server does not speak 2026-07-28")
        self.era = Era.HANDSHAKE
        self.protocol_version = None
        init = await self._post(request_obj(0, "initialize", self._initialize_params()), None, capture_session=True)
        if init is None or init.kind is not Kind.RESPONSE:
            raise ConnectionError(f"initialize refused: {init.obj.get('error') if init else 'no answer'}")
        self._adopt_initialize(init.result)
        await self._post(notification_obj("notifications/initialized"), None)
        if self._get_task is None or self._get_task.done():
            self._get_task = asyncio.create_task(self._listen())

    def _headers(self, obj: JSONObj) -> dict[str, str]:
        headers = {
            **self._resolved_headers,
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
        }
        if self.era is Era.STATELESS:
            headers["MCP-Protocol-Version"] = self.protocol_version or LATEST_STATELESS
            method = obj.get("method")
            if isinstance(method, str):
                headers["Mcp-Method"] = method
                params = obj.get("params") or {}
                name = params.get("uri") if method.startswith("resources/") else params.get("name")
                if isinstance(name, str) and method in (
                    "tools/call",
                    "prompts/get",
                    "resources/read",
                    "resources/subscribe",
                    "resources/unsubscribe",
                ):
                    headers["Mcp-Name"] = name
                if method == "tools/call" and isinstance(name, str):
                    headers.update(param_headers(self.tool_schemas.get(name), params.get("arguments")))
        else:
            if self.session_id:
                headers["Mcp-Session-Id"] = self.session_id
            if self.protocol_version:
                headers["MCP-Protocol-Version"] = self.protocol_version
        return headers

    async def _post(
        self, obj: JSONObj, inflight: _InFlight | None, *, capture_session: bool = False
    ) -> Message | None:
        assert self._http is not None
        want = obj.get("id") if "method" in obj else None
        try:
            async with await self._http.request("POST", self._headers(obj), _encode(obj)) as resp:
                if capture_session:
                    self.session_id = resp.headers.get("mcp-session-id")
                if resp.status == 202 or want is None:
                    if resp.status >= 400:
                        log.warning("upstream %s: POST answered HTTP %s", self.name, resp.status)
                    return None
                if resp.status == 404 and self.session_id and self.era is Era.HANDSHAKE:
                    raise _SessionExpired()
                relay = inflight.relay if inflight else None
                if resp.content_type == "text/event-stream":
                    async for ev in parse_events(resp.iter_chunks()):
                        if not ev.data.strip():
                            continue
                        try:
                            msg = parse(ev.data.encode())
                        except ProtocolError:
                            continue
                        if msg.kind in (Kind.RESPONSE, Kind.ERROR) and msg.id == want:
                            return msg
                        self._handle_incoming(msg, relay)
                    raise UpstreamError(
                        errors.UPSTREAM_UNAVAILABLE, f"upstream {self.name} closed the stream before answering"
                    )
                body = await resp.read()
                try:
                    msg = parse(body)
                except ProtocolError:
                    raise UpstreamError(
                        errors.UPSTREAM_UNAVAILABLE,
                        f"upstream {self.name} answered HTTP {resp.status} without JSON-RPC",
                    ) from None
                return msg
        except HttpClientError as exc:
            self.ready.clear()
            raise UpstreamError(errors.UPSTREAM_UNAVAILABLE, f"upstream {self.name}: {exc}") from None

    async def _exchange(self, obj: JSONObj, inflight: _InFlight) -> Message:
        try:
            msg = await self._post(obj, inflight)
        except _SessionExpired:
            log.info("upstream %s session expired; re-initializing", self.name)
            self.ready.clear()
            await self._wait_ready()
            msg = await self._post(obj, inflight)
        if msg is None:
            raise UpstreamError(errors.UPSTREAM_UNAVAILABLE, f"upstream {self.name} sent no answer")
        return msg

    async def _send_notification(self, obj: JSONObj) -> None:
        with contextlib.suppress(UpstreamError, _SessionExpired):
            await self._post(obj, None)

    _send_response = _send_notification

    async def _listen(self) -> None:
        """The handshake era's GET stream: server messages not tied to a request."""
        assert self._http is not None
        backoff = 1.0
        while not self._closing and self.era is Era.HANDSHAKE:
            try:
                headers = {**self._headers({}), "Accept": "text/event-stream"}
                headers.pop("Content-Type", None)
                async with await self._http.request("GET", headers) as resp:
                    if resp.status in (405, 404, 400):
                        return  # the server offers no stream
                    if resp.status != 200:
                        raise ConnectionError(f"HTTP {resp.status}")
                    backoff = 1.0
                    async for ev in parse_events(resp.iter_chunks()):
                        with contextlib.suppress(ProtocolError):
                            if ev.data.strip():
                                self._handle_incoming(parse(ev.data.encode()), None)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.debug("upstream %s GET stream: %s", self.name, exc)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 30)

    async def close(self) -> None:
        self._closing = True
        if self._get_task is not None:
            self._get_task.cancel()
        if self._http is not None:
            if self.session_id and self.era is Era.HANDSHAKE:
                with contextlib.suppress(Exception):
                    headers = self._headers({})
                    headers.pop("Content-Type", None)
                    async with asyncio.timeout(2):
                        (await self._http.request("DELETE", headers)).release()
            await self._http.close()
        self._fail_inflight("is shutting down")
        self._cancel_tasks()


class _SessionExpired(Exception):
    pass


def _encode(obj: JSONObj) -> bytes:
    return orjson.dumps(obj)


def build_upstream(
    name: str,
    cfg: UpstreamConfig,
    on_notification: OnNotification,
    sandbox: SandboxConfig | None = None,
    on_egress: Callable[[EgressEvent], None] | None = None,
) -> Upstream:
    if isinstance(cfg, StdioUpstreamConfig):
        c = cfg
        args = list(c.args)
        if sandbox is not None:
            if sandbox.backend == "none":
                log.warning("upstream %s runs without isolation (sandbox backend: none)", name)
            args, sandbox = sandboxing.derive(c.command, args, c.cwd, sandbox)
        box = sandbox
        up = StreamUpstream(
            name, cfg, on_notification,
            lambda: StdioChild(name, c.command, args, c.env or None, c.cwd, box, on_egress),
        )
        up.ephemeral = bool(box is not None and box.ephemeral)
        return up
    transport = cfg.effective_transport
    h = cfg
    if transport == "websocket":
        return StreamUpstream(name, cfg, on_notification, lambda: WebSocketClient(h.url, h.headers))
    if transport == "sse":
        if cfg.era == "auto":  # HTTP+SSE is the 2024-11-05 transport: no 2026-07-28 probe
            cfg = cfg.model_copy(update={"era": "handshake"})
        return StreamUpstream(
            name, cfg, on_notification, lambda: LegacySSEClient(h.url, h.headers, h.connect_timeout)
        )
    return StreamableHttpUpstream(name, cfg, on_notification)
