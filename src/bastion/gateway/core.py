"""The gateway: routes each client message through the guard chain to the right upstream and back.

Transports call :meth:`Gateway.handle` with a parsed message and an ``emit`` function for messages
that belong to the exchange (progress, server-to-client requests); it returns the bytes of the final
response, or None for notifications and client responses. Every exchange leaves one audit record.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType
from typing import Any

import orjson

from bastion import __version__
from bastion.audit.log import AuditLog, Timer
from bastion.config import Config
from bastion.gateway.bridge import AskingRelay, InputBridge
from bastion.gateway.naming import Names, template_regex
from bastion.gateway.session import ClientSession, Emit, RequestRelay
from bastion.gateway.upstream import StreamUpstream, Upstream, UpstreamError, build_upstream
from bastion.guards.base import Context
from bastion.guards.chain import Chain, Outcome
from bastion.guards.registry import build_chain_guards
from bastion.protocol import errors
from bastion.protocol.eras import (
    ALL_VERSIONS,
    META_PROTOCOL_VERSION,
    META_SERVER_INFO,
    STATELESS_VERSIONS,
    Era,
    negotiate_handshake,
)
from bastion.protocol.jsonrpc import (
    JSONObj,
    Kind,
    Message,
    encode,
    error_obj,
    notification_obj,
    result_obj,
    with_id,
)
from bastion.sandbox.egress import EgressEvent
from bastion.timers import deadline

log = logging.getLogger("bastion.gateway")

LIST_METHODS = {
    "tools/list": ("tools", "tools"),
    "prompts/list": ("prompts", "prompts"),
    "resources/list": ("resources", "resources"),
    "resources/templates/list": ("resources", "resourceTemplates"),
}
MAX_UPSTREAM_PAGES = 100
DEFAULT_TTL_MS = 30_000
BRIDGED_METHODS = {"tools/call", "prompts/get", "resources/read"}
_NO_HEADERS: Mapping[str, str] = MappingProxyType({})
"""The headers of a request that came without any (stdio, WebSocket)."""
AUDIT_HEADS = 4096
"""Encoded audit-record heads kept (session, method, upstream, target); the cache starts afresh when full."""
_VERDICT_ONLY = {v: b',"verdict":"%s"' % v.encode() for v in ("allow", "mutate", "deny", "error", "cancelled")}
ROUTED_METHODS = {"tools/call", "prompts/get", "resources/read", "completion/complete"}
"""Requests that go to one upstream as they are (what :meth:`Gateway.relay_now` may take)."""
LONG_LIVED_METHODS = {"subscriptions/listen"}
"""Requests that stay open by design: ``request_timeout`` does not apply to them."""
CACHEABLE_RESULTS = {"resources/read"}
"""Results that need 2026-07-28 cache hints the gateway must add (lists and discover set their own)."""
HANDSHAKE_ONLY_METHODS = {"initialize", "ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe"}
"""Removed in 2026-07-28: a stateless client calling them gets -32601."""
LIST_CHANGED = {
    "notifications/tools/list_changed",
    "notifications/prompts/list_changed",
    "notifications/resources/list_changed",
}


class _Deny(Exception):
    def __init__(self, code: int, message: str, rule: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.rule = rule


SUBSCRIPTION_ID = "io.modelcontextprotocol/subscriptionId"
_LISTEN_FLAGS = {
    "notifications/tools/list_changed": "toolsListChanged",
    "notifications/prompts/list_changed": "promptsListChanged",
    "notifications/resources/list_changed": "resourcesListChanged",
}


class _Listener:
    """One ``subscriptions/listen`` stream and what it opted in to."""

    def __init__(self, flags: JSONObj, uris: set[str], sub_id: Any, emit: Emit) -> None:
        self.flags, self.uris, self.sub_id, self.emit = flags, uris, sub_id, emit

    def offer(self, method: str, uri: str | None) -> None:
        if method == "notifications/resources/updated":
            if uri not in self.uris:
                return
            params: JSONObj = {"uri": uri}
        elif self.flags.get(_LISTEN_FLAGS.get(method, "")) is True:
            params = {}
        else:
            return
        params["_meta"] = {SUBSCRIPTION_ID: self.sub_id}
        self.emit(encode(notification_obj(method, params)))


def _verbatim(session: ClientSession, msg: Message, reply: Message) -> bytes | None:
    """The upstream's reply as it came, with the client's id, when it can go unchanged: a plain
    result (``{"jsonrpc", "id", "result"}``, the id alone differs) to a handshake-era client."""
    obj = reply.obj
    if (reply.kind is Kind.RESPONSE and len(obj) == 3 and type(obj.get("result")) is dict
            and session.era is Era.HANDSHAKE and reply.id is not None):
        return with_id(reply.raw, reply.id, msg.id)
    return None


def _context(session: ClientSession, msg: Message, headers: dict[str, str] | None) -> Context:
    # positional: the fields in order (session_id, era, transport, principal, method, upstream,
    # target, headers): half the cost of keywords on every request
    return Context(session.id, session.era, session.transport, session.principal, msg.method, None, None,
                   _NO_HEADERS if headers is None else headers)


class _Relayed(Timer):
    """A request :meth:`Gateway.relay_now` sends upstream: answers the client when the reply comes,
    or tells the upstream when the client cancels. It is also the exchange's latency timer, started
    when the request came in."""

    __slots__ = ("answer", "ctx", "gateway", "msg", "on_cancel", "rules", "session", "uid", "upstream")

    def __init__(self, gateway: Gateway, session: ClientSession, msg: Message, ctx: Context, answer: Emit,
                 on_cancel: Callable[[], object] | None) -> None:
        self.start = time.perf_counter_ns()
        self.gateway, self.session, self.msg, self.ctx = gateway, session, msg, ctx
        self.answer, self.on_cancel = answer, on_cancel
        self.rules: list[str] = []
        self.uid = 0
        self.upstream: StreamUpstream | None = None

    def on_reply(self, reply: Message | UpstreamError) -> None:
        session, msg, ctx, gw = self.session, self.msg, self.ctx, self.gateway
        if msg.id is not None and session.inflight.get(msg.id) is self:
            del session.inflight[msg.id]
        try:
            if isinstance(reply, UpstreamError):
                raise reply
            ctx.request = msg
            outcome = gw.chain.check("response", reply, ctx)
            if outcome is None and not self.rules:
                # nothing changed or flagged it: the reply's own bytes with the client's id, when
                # it is a plain result (handshake-era clients take results as they come)
                raw = _verbatim(session, msg, reply)
                if raw is not None:
                    gw._audit(session, msg, ctx, "allow", None, None, self.rules, self)
                    self.answer(raw)
                    return
            if outcome is None:
                outcome = Outcome(reply)
            data = gw._answer(session, msg, ctx, gw._result_of(outcome, ctx), self.rules, self,
                              outcome.message)
        except Exception as exc:
            data = gw._refuse(session, msg, ctx, exc, self.rules, self)
        self.answer(data)

    def cancel(self) -> None:
        """The client cancelled the request or went away: the upstream is told, nothing is answered."""
        session, msg = self.session, self.msg
        if msg.id is None or session.inflight.pop(msg.id, None) is not self:
            return
        if self.upstream is not None:
            self.upstream.withdraw(self.uid)
        self.gateway._audit(session, msg, self.ctx, "cancelled", None, None, self.rules, self)
        if self.on_cancel is not None:
            self.on_cancel()


class Gateway:
    def __init__(self, cfg: Config, audit: AuditLog | None = None) -> None:
        self.cfg = cfg
        self.audit = audit or AuditLog(None)
        self.chain = Chain(build_chain_guards(cfg.guards))
        self._sync_chain = self.chain.sync["request"] and self.chain.sync["response"]
        enabled = {n: u for n, u in cfg.upstreams.items() if u.enabled}
        self.upstreams: dict[str, Upstream] = {
            name: build_upstream(
                name, ucfg, self._on_upstream_notification, cfg.sandbox_for(name), self._on_egress
            )
            for name, ucfg in enabled.items()
        }
        for up in self.upstreams.values():
            if isinstance(up, StreamUpstream):
                up.on_exit = self._on_upstream_exit
        self.names = Names(self.upstreams, cfg.prefixing(), cfg.namespace.separator)
        self.sessions: dict[str, ClientSession] = {}
        self._audit_heads: dict[tuple[Any, ...], bytes] = {}
        self.listeners: set[_Listener] = set()
        """2026-07-28 ``subscriptions/listen`` streams."""
        self._resource_routes: dict[str, str] = {}
        self._template_routes: list[tuple[re.Pattern[str], str]] = []
        self._pending_changes: set[str] = set()
        self._closed = asyncio.Event()
        self.bridge = InputBridge()
        self._change_task: asyncio.Task[None] | None = None
        self._handlers: dict[str, Callable[[ClientSession, Message, Emit, Context], Awaitable[JSONObj]]] = {
            "initialize": self._initialize,
            "server/discover": self._discover,
            "ping": self._ping,
            "tools/call": self._routed,
            "prompts/get": self._routed,
            "resources/read": self._routed,
            "resources/subscribe": self._subscribe,
            "resources/unsubscribe": self._subscribe,
            "completion/complete": self._routed,
            "logging/setLevel": self._set_level,
            "subscriptions/listen": self._listen,
            **dict.fromkeys(LIST_METHODS, self._list),
        }

    # ---- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        await asyncio.gather(*(u.start() for u in self.upstreams.values()))

    async def close(self) -> None:
        self._closed.set()
        self.bridge.close()
        for s in list(self.sessions.values()):
            s.close()
        await asyncio.gather(*(u.close() for u in self.upstreams.values()), return_exceptions=True)
        self.audit.close()

    def ready(self) -> bool:
        return any(u.ready.is_set() for u in self.upstreams.values())

    def health(self) -> JSONObj:
        return {
            "status": "ok",
            "upstreams": {
                n: {"state": u.state, "era": u.era.value if u.era else None, "restarts": u.restarts,
                    "error": u.last_error}
                for n, u in self.upstreams.items()
            },
            "sessions": len(self.sessions),
        }

    def _on_upstream_exit(self, upstream: str, reason: str) -> None:
        """An upstream stopped unplanned (crash, OOM kill, lifetime): the audit says so."""
        self.audit.record(method="upstream/exit", upstream=upstream, verdict="error", reason=reason)

    def _on_egress(self, event: EgressEvent) -> None:
        """Every outbound connection attempt of a sandboxed server, allowed or not."""
        self.audit.record(
            method="egress", upstream=event.server, target=f"{event.host}:{event.port}",
            verdict="allow" if event.decision == "allow" else "deny",
            rule=None if event.decision == "allow" else "sandbox.egress", reason=event.reason,
            outcome=event.outcome,
        )

    def open_session(self, session: ClientSession) -> None:
        self.sessions[session.id] = session

    def close_session(self, session: ClientSession) -> None:
        session.close()
        self.sessions.pop(session.id, None)

    # ---- entry point --------------------------------------------------------------------------

    async def handle(
        self, session: ClientSession, msg: Message, emit: Emit, headers: dict[str, str] | None = None
    ) -> bytes | None:
        if msg.kind is Kind.REQUEST:
            return await self._request(session, msg, emit, headers or {})
        if msg.kind is Kind.NOTIFICATION:
            await self._notification(session, msg)
            return None
        if not session.resolve(msg.id, msg.obj):
            log.debug("session %s answered unknown request %r", session.id, msg.id)
        return None

    async def _request(self, session: ClientSession, msg: Message, emit: Emit, headers: dict[str, str]) -> bytes:
        timer = Timer()
        ctx = _context(session, msg, headers)
        rules: list[str] = []
        rid = msg.id
        task = asyncio.current_task()
        if rid is not None and task is not None:
            session.inflight[rid] = task
        try:
            handler = self._admit(session, msg)
            self._route(msg, ctx)
            outcome = await self.chain.run("request", msg, ctx)
            rules += outcome.rules
            if outcome.deny is not None:
                d = outcome.deny
                raise _Deny(d.code, f"denied by {d.rule}: {d.reason}", d.rule)
            if msg.method in LONG_LIVED_METHODS:
                result = await handler(session, outcome.message, emit, ctx)
            else:
                limit = self.cfg.request_timeout
                try:
                    with deadline(limit):
                        result = await handler(session, outcome.message, emit, ctx)
                except TimeoutError:
                    raise UpstreamError(errors.UPSTREAM_TIMEOUT,
                                        f"{msg.method} took longer than request_timeout ({limit:g}s)") from None
            return self._answer(session, msg, ctx, result, rules, timer)
        except asyncio.CancelledError:
            self._audit(session, msg, ctx, "cancelled", None, None, rules, timer)
            raise
        except Exception as exc:
            return self._refuse(session, msg, ctx, exc, rules, timer)
        finally:
            if rid is not None:
                session.inflight.pop(rid, None)

    def relay_now(self, session: ClientSession, msg: Message, emit: Emit, answer: Emit | None = None,
                  on_cancel: Callable[[], object] | None = None, headers: dict[str, str] | None = None) -> bool:
        """Take a request the way :meth:`handle` would, without a task, when nothing on its way
        needs to wait: a call (tools, prompts, resources, completion) from an initialised
        handshake-era client to a stdio upstream that is up, with every guard a plain function.
        The request goes out now and the answer is given to ``answer`` (default ``emit``, which
        takes the messages of the exchange) when it comes back; ``on_cancel`` is told if the
        client cancels it instead. False (nothing done) when the request needs :meth:`handle`.
        Same guards, same answers, same audit records."""
        if (msg.method not in ROUTED_METHODS or session.era is not Era.HANDSHAKE or not session.initialized
                or not self._sync_chain):
            return False
        ctx = _context(session, msg, headers)
        pending = _Relayed(self, session, msg, ctx, emit if answer is None else answer, on_cancel)
        try:
            self._route(msg, ctx)
            assert ctx.upstream is not None
            up = self.upstreams[ctx.upstream]
            if not isinstance(up, StreamUpstream) or not up.can_send_now():
                return False
            outcome = self.chain.check("request", msg, ctx)
            call = msg
            if outcome is not None:
                pending.rules = outcome.rules
                if outcome.deny is not None:
                    d = outcome.deny
                    raise _Deny(d.code, f"denied by {d.rule}: {d.reason}", d.rule)
                call = outcome.message
            relay = session.relay  # the same for the session's calls while its settings stay
            if (relay is None or relay.emit is not emit or relay.log_level != session.log_level
                    or relay.client_capabilities is not session.client_capabilities):
                relay = session.relay = RequestRelay(session, emit)
            # The upstream takes the call as it came when no guard changed it, it has no _meta (a
            # progress token to map, reserved keys to drop) and names what the upstream calls it:
            # then its own bytes go, with the upstream's id.
            params = msg.params
            if call is msg and "_meta" not in params and (
                    params.get("name") == ctx.target if msg.method == "tools/call" or msg.method == "prompts/get"
                    else msg.method != "completion/complete"):
                pending.uid = up.send_now(msg.method, None, relay, pending.on_reply, self.cfg.request_timeout,
                                          verbatim=msg)
            else:
                pending.uid = up.send_now(call.method, self._upstream_call(call, ctx), relay, pending.on_reply,
                                          self.cfg.request_timeout)
        except Exception as exc:
            pending.answer(self._refuse(session, msg, ctx, exc, pending.rules, pending))
            return True
        pending.upstream = up
        rid = msg.id
        if rid is not None:
            session.inflight[rid] = pending
        return True

    def _admit(
        self, session: ClientSession, msg: Message
    ) -> Callable[[ClientSession, Message, Emit, Context], Awaitable[JSONObj]]:
        """The handler of a request, or :class:`_Deny` if the session may not make it."""
        if session.era is Era.HANDSHAKE and not session.initialized and msg.method not in (
            "initialize",
            "ping",
            "server/discover",
        ):
            raise _Deny(errors.INVALID_REQUEST, f"{msg.method} before initialize")
        handler = self._handlers.get(msg.method)
        if session.era is Era.STATELESS and msg.method in HANDSHAKE_ONLY_METHODS:
            handler = None
        if handler is None:
            raise _Deny(errors.METHOD_NOT_FOUND, f"method not found: {msg.method}")
        return handler

    def _answer(self, session: ClientSession, msg: Message, ctx: Context, result: JSONObj, rules: list[str],
                timer: Timer, reply: Message | None = None) -> bytes:
        """The response to send for a handler's result (or error), audited. ``reply``: the
        upstream's answer that ``result`` came from, whose bytes are forwarded (with the client's
        id) when nothing changed it."""
        rid = msg.id
        rules += ctx.extra.get("rules", [])
        verdict, code, rule = "allow", None, None
        if "error" in result:
            verdict, code = "error", result["error"].get("code")
            rule = ctx.extra.get("deny_rule")
            if rule:
                verdict = "deny"
            body = error_obj(rid, result["error"].get("code", errors.INTERNAL_ERROR),
                             result["error"].get("message", ""), result["error"].get("data"))
        else:
            if session.era is Era.STATELESS and "resultType" not in result:
                result = {**result, "resultType": "complete"}
            if (session.era is Era.STATELESS and msg.method in CACHEABLE_RESULTS
                    and result.get("resultType") == "complete"):
                # required on 2026-07-28 cacheable results; a handshake-era upstream sends none
                result = {"ttlMs": 0, "cacheScope": "private", **result}
            if rules:
                verdict = "mutate"
            elif reply is not None and reply.obj.get("result") is result:
                raw = _verbatim(session, msg, reply)
                if raw is not None:
                    self._audit(session, msg, ctx, verdict, None, None, rules, timer)
                    return raw
            body = result_obj(rid, result)
        self._audit(session, msg, ctx, verdict, rule or (rules[0] if rules and verdict != "allow" else None),
                    code, rules, timer)
        return encode(body)

    def _refuse(self, session: ClientSession, msg: Message, ctx: Context, exc: Exception, rules: list[str],
                timer: Timer) -> bytes:
        """The error response for a request that failed with ``exc``, audited."""
        rid = msg.id
        code: int | None
        rule: str | None = None
        if isinstance(exc, _Deny):
            verdict = "deny" if exc.rule else "error"
            code, rule = exc.code, exc.rule
            body = error_obj(rid, exc.code, exc.message, {"rule": exc.rule} if exc.rule else None)
        elif isinstance(exc, UpstreamError):
            verdict, code = "error", exc.code
            body = error_obj(rid, exc.code, exc.message)
        else:  # never let one bad exchange take the session down
            log.error("internal error handling %s", msg.method, exc_info=exc)
            verdict, code = "error", errors.INTERNAL_ERROR
            body = error_obj(rid, errors.INTERNAL_ERROR, f"internal error: {type(exc).__name__}")
        self._audit(session, msg, ctx, verdict, rule or (rules[0] if rules and verdict != "allow" else None),
                    code, rules, timer)
        return encode(body)

    def _audit(self, session: ClientSession, msg: Message, ctx: Context, verdict: str, rule: str | None,
               code: int | None, rules: list[str], timer: Timer) -> None:
        audit = self.audit
        if not audit.enabled:
            return
        # The members that name the exchange are the same for every call of one tool by one
        # session: encoded once, kept (bounded); the rest is formatted into the line.
        key = (session.id, session.principal, session.transport, session.era, msg.method, ctx.upstream, ctx.target)
        head = self._audit_heads.get(key)
        if head is None:
            rec: dict[str, Any] = {"session": session.id, "principal": session.principal,
                                   "transport": session.transport, "era": session.era, "method": msg.method}
            if ctx.upstream is not None:
                rec["upstream"] = ctx.upstream
            if ctx.target is not None:
                rec["target"] = ctx.target
            head = orjson.dumps(rec)[1:-1]
            if len(self._audit_heads) >= AUDIT_HEADS:
                self._audit_heads.clear()
            self._audit_heads[key] = head
        if rule is None and not rules and code is None:
            tail = _VERDICT_ONLY.get(verdict) or b',"verdict":' + orjson.dumps(verdict)
        else:
            more: dict[str, Any] = {"verdict": verdict}
            if rule is not None:
                more["rule"] = rule
            if rules:
                more["rules"] = rules
            if code is not None:
                more["code"] = code
            tail = b"," + orjson.dumps(more)[1:-1]
        method = msg.method
        args = msg.params.get("arguments") if method == "tools/call" or method == "prompts/get" else None
        audit.exchange(head + tail, timer.start, args)

    def _route(self, msg: Message, ctx: Context) -> None:
        """Fill ctx.upstream/target for methods aimed at one upstream (before the guards run)."""
        p = msg.params
        if msg.method in ("tools/call", "prompts/get"):
            kind = "tools" if msg.method == "tools/call" else "prompts"
            name = p.get("name")
            if not isinstance(name, str):
                raise _Deny(errors.INVALID_PARAMS, f"{msg.method}: params.name must be a string")
            single = self.names.single
            if single is not None:  # one upstream, names as it gives them: nothing to look up
                ctx.upstream, ctx.target = single, name
            else:
                if self.names.is_ambiguous(kind, name):
                    raise _Deny(errors.UNKNOWN_TARGET, f"{kind[:-1]} {name!r} is offered by several upstreams",
                                "namespace.collision")
                target = self.names.resolve(kind, name)
                if target is None:
                    raise _Deny(errors.UNKNOWN_TARGET if kind == "tools" else errors.INVALID_PARAMS,
                                f"unknown {kind[:-1]}: {name}")
                ctx.upstream, ctx.target = target
            if kind == "tools":
                schema = self.upstreams[ctx.upstream].tool_schemas.get(ctx.target)
                if schema is not None:
                    ctx.extra["input_schema"] = schema
        elif msg.method in ("resources/read", "resources/subscribe", "resources/unsubscribe"):
            uri = p.get("uri")
            if not isinstance(uri, str):
                raise _Deny(errors.INVALID_PARAMS, f"{msg.method}: params.uri must be a string")
            ctx.target = uri
            ctx.upstream = self._resource_upstream(uri)
        elif msg.method == "completion/complete":
            raw_ref = p.get("ref")
            ref: JSONObj = raw_ref if isinstance(raw_ref, dict) else {}
            name, uri = ref.get("name"), ref.get("uri")
            if ref.get("type") == "ref/prompt" and isinstance(name, str):
                target = self.names.resolve("prompts", name)
                if target is None:
                    raise _Deny(errors.INVALID_PARAMS, f"unknown prompt: {name}")
                ctx.upstream, ctx.target = target
            elif ref.get("type") == "ref/resource" and isinstance(uri, str):
                ctx.target = uri
                ctx.upstream = self._resource_upstream(uri)
            else:
                raise _Deny(errors.INVALID_PARAMS, "completion/complete: unsupported ref")

    def _resource_upstream(self, uri: str) -> str:
        if len(self.upstreams) == 1:
            return next(iter(self.upstreams))
        up = self._resource_routes.get(uri)
        if up is not None:
            return up
        for rx, owner in self._template_routes:
            if rx.fullmatch(uri):
                return owner
        raise _Deny(errors.UNKNOWN_TARGET, f"no upstream serves resource {uri} (list resources first)")

    # ---- handlers -----------------------------------------------------------------------------

    async def _initialize(self, s: ClientSession, msg: Message, emit: Emit, ctx: Context) -> JSONObj:
        p = msg.params
        s.protocol_version = negotiate_handshake(p.get("protocolVersion"))
        info, caps = p.get("clientInfo"), p.get("capabilities")
        s.client_info = info if isinstance(info, dict) else {}
        s.client_capabilities = caps if isinstance(caps, dict) else {}
        s.initialized = True
        result: JSONObj = {
            "protocolVersion": s.protocol_version,
            "capabilities": self._capabilities(),
            "serverInfo": self._server_info(),
        }
        instructions = self._instructions()
        if instructions:
            result["instructions"] = instructions
        return result

    async def _discover(self, s: ClientSession, msg: Message, emit: Emit, ctx: Context) -> JSONObj:
        result: JSONObj = {
            "supportedVersions": list(ALL_VERSIONS),
            "capabilities": self._capabilities(),
            "serverInfo": self._server_info(),
            "cacheScope": "private",
            "ttlMs": DEFAULT_TTL_MS,
            "resultType": "complete",
            "_meta": {META_SERVER_INFO: self._server_info()},
        }
        instructions = self._instructions()
        if instructions:
            result["instructions"] = instructions
        return result

    async def _listen(self, s: ClientSession, msg: Message, emit: Emit, ctx: Context) -> JSONObj:
        """2026-07-28 ``subscriptions/listen``: acknowledge, then stream the opted-in notifications
        until the client goes away (the request is cancelled) or the gateway shuts down."""
        wanted = msg.params.get("notifications")
        wanted = wanted if isinstance(wanted, dict) else {}
        honored: JSONObj = {k: True for k in ("toolsListChanged", "promptsListChanged", "resourcesListChanged")
                            if wanted.get(k) is True}
        uris = [u for u in wanted.get("resourceSubscriptions") or [] if isinstance(u, str)]
        for uri in uris:
            with contextlib.suppress(_Deny, UpstreamError):
                up = self.upstreams[self._resource_upstream(uri)]
                if up.era is Era.HANDSHAKE and (up.capabilities.get("resources") or {}).get("subscribe"):
                    await up.request("resources/subscribe", {"uri": uri})
        if uris:
            honored["resourceSubscriptions"] = uris
        sub_id = msg.id
        emit(encode(notification_obj("notifications/subscriptions/acknowledged",
                                     {"notifications": honored, "_meta": {SUBSCRIPTION_ID: sub_id}})))
        listener = _Listener(honored, set(uris), sub_id, emit)
        self.listeners.add(listener)
        try:
            await self._closed.wait()
        finally:
            self.listeners.discard(listener)
        return {"_meta": {META_SERVER_INFO: self._server_info()}, "resultType": "complete"}

    async def _ping(self, s: ClientSession, msg: Message, emit: Emit, ctx: Context) -> JSONObj:
        return {}

    async def _set_level(self, s: ClientSession, msg: Message, emit: Emit, ctx: Context) -> JSONObj:
        level = msg.params.get("level")
        s.log_level = level if isinstance(level, str) else None
        for up in self.upstreams.values():
            if up.ready.is_set() and "logging" in up.capabilities and up.era is Era.HANDSHAKE:
                with contextlib.suppress(UpstreamError):
                    await up.request("logging/setLevel", msg.params)
        return {}

    async def _subscribe(self, s: ClientSession, msg: Message, emit: Emit, ctx: Context) -> JSONObj:
        assert ctx.target is not None
        up = self.upstreams[ctx.upstream] if ctx.upstream else None
        if up is not None and up.era is Era.STATELESS:
            result: JSONObj = {}  # 2026-07-28 has no resources/subscribe: the gateway keeps the subscription
        else:
            result = await self._routed(s, msg, emit, ctx)
        if "error" not in result:
            if msg.method == "resources/subscribe":
                s.subscriptions.add(ctx.target)
            else:
                s.subscriptions.discard(ctx.target)
        return result

    async def _routed(self, s: ClientSession, msg: Message, emit: Emit, ctx: Context) -> JSONObj:
        assert ctx.upstream is not None
        up = self.upstreams[ctx.upstream]
        params = self._upstream_call(msg, ctx)
        if s.era is Era.STATELESS and msg.method in BRIDGED_METHODS:
            bridged = await self._bridged_request(s, up, msg.method, params, emit)
            if isinstance(bridged, dict):
                return bridged  # input_required: the client answers, then retries
            reply = bridged
        else:
            reply = await up.request(msg.method, params, relay=RequestRelay(s, emit))
        ctx.request = msg
        outcome = await self.chain.run("response", reply, ctx)
        return self._result_of(outcome, ctx)

    @staticmethod
    def _upstream_call(msg: Message, ctx: Context) -> JSONObj:
        """The params of a routed request as its upstream must get them (its own names)."""
        params = _upstream_params(msg.params)
        if msg.method in ("tools/call", "prompts/get"):
            params["name"] = ctx.target
        elif msg.method == "completion/complete" and params.get("ref", {}).get("type") == "ref/prompt":
            params["ref"] = {**params["ref"], "name": ctx.target}
        return params

    async def _bridged_request(
        self, s: ClientSession, up: Upstream, method: str, params: JSONObj, emit: Emit
    ) -> Message | JSONObj:
        """Run a call for a stateless client; if the upstream asks a question, park the call and
        return an ``input_required`` result (see :mod:`bastion.gateway.bridge`)."""
        state = params.get("requestState")
        if self.bridge.is_ours(state):
            assert isinstance(state, str)
            parked = self.bridge.resume(state, s.principal, params.get("inputResponses"), emit)
            if parked is None:
                raise _Deny(errors.INVALID_PARAMS, "unknown or expired requestState")
            task, relay = parked.task, parked.relay
        else:
            relay = AskingRelay(emit, s.client_capabilities, s.log_level)
            task = asyncio.ensure_future(up.request(method, params, relay=relay))
        ask = asyncio.ensure_future(relay.asks.get())
        try:
            await asyncio.wait({task, ask}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            task.cancel()
            ask.cancel()
            raise
        if ask.done() and not task.done():
            return self.bridge.park(task, relay, ask.result(), s.principal)
        ask.cancel()
        return task.result()

    def _result_of(self, outcome: Outcome, ctx: Context) -> JSONObj:
        ctx.extra.setdefault("rules", []).extend(outcome.rules)
        if outcome.deny is not None:
            d = outcome.deny
            ctx.extra["deny_rule"] = d.rule
            return {"error": {"code": d.code, "message": f"denied by {d.rule}: {d.reason}", "data": {"rule": d.rule}}}
        m = outcome.message
        if m.kind is Kind.ERROR:
            err = m.obj.get("error")
            return {"error": err if isinstance(err, dict) else {"code": errors.INTERNAL_ERROR, "message": "error"}}
        return m.result

    async def _list(self, s: ClientSession, msg: Message, emit: Emit, ctx: Context) -> JSONObj:
        capability, key = LIST_METHODS[msg.method]
        offset = _decode_cursor(msg.params.get("cursor"))
        targets = [
            (name, up) for name, up in self.upstreams.items()
            if not up.ready.is_set() or not up.capabilities or capability in up.capabilities
        ]
        results = await asyncio.gather(
            *(self._list_one(name, up, msg, s, emit, ctx) for name, up in targets), return_exceptions=True
        )
        items: list[JSONObj] = []
        ttl = None
        for (name, _), res in zip(targets, results, strict=True):
            if isinstance(res, BaseException):
                if isinstance(res, _Deny | UpstreamError):
                    log.warning("%s from upstream %s left out: %s", msg.method, name, res)
                    ctx.extra.setdefault("rules", []).append(f"list.skipped:{name}")
                    continue
                raise res
            up_items, up_ttl = res
            items.extend(self._publish(msg.method, name, up_items))
            if up_ttl is not None:
                ttl = up_ttl if ttl is None else min(ttl, up_ttl)
        if msg.method == "tools/list":
            items = self._refuse_duplicates(items, "tools")
        elif msg.method == "prompts/list":
            items = self._refuse_duplicates(items, "prompts")
        size = self.cfg.list_page_size
        page = items[offset : offset + size]
        result: JSONObj = {key: page}
        if offset + size < len(items):
            result["nextCursor"] = _encode_cursor(offset + size)
        if s.era is Era.STATELESS:
            result["ttlMs"] = DEFAULT_TTL_MS if ttl is None else ttl
            result["cacheScope"] = "private"
        return result

    async def _list_one(
        self, name: str, up: Upstream, msg: Message, s: ClientSession, emit: Emit, ctx: Context
    ) -> tuple[list[JSONObj], int | None]:
        key = LIST_METHODS[msg.method][1]
        items: list[JSONObj] = []
        cursor: Any = None
        ttl: int | None = None
        for _ in range(MAX_UPSTREAM_PAGES):
            params: JSONObj = {"cursor": cursor} if cursor else {}
            reply = await up.request(msg.method, params, relay=RequestRelay(s, emit))
            uctx = Context(session_id=ctx.session_id, era=ctx.era, transport=ctx.transport,
                           principal=ctx.principal, method=msg.method, upstream=name, request=msg)
            outcome = await self.chain.run("response", reply, uctx)
            ctx.extra.setdefault("rules", []).extend(outcome.rules)
            if outcome.deny is not None:
                raise _Deny(outcome.deny.code, outcome.deny.reason, outcome.deny.rule)
            m = outcome.message
            if m.kind is Kind.ERROR:
                err = m.obj.get("error") or {}
                raise UpstreamError(int(err.get("code", errors.INTERNAL_ERROR)), str(err.get("message", "")))
            page = m.result.get(key)
            if isinstance(page, list):
                items.extend(i for i in page if isinstance(i, dict))
            if isinstance(m.result.get("ttlMs"), int):
                ttl = m.result["ttlMs"]
            cursor = m.result.get("nextCursor")
            if not cursor:
                break
        return items, ttl

    def _publish(self, method: str, upstream: str, items: list[JSONObj]) -> list[JSONObj]:
        """Rename items into the gateway's namespace; learn resource routes."""
        if method == "tools/list":
            up = self.upstreams[upstream]
            for i in items:
                if isinstance(i.get("inputSchema"), dict):
                    up.tool_schemas[str(i.get("name", ""))] = i["inputSchema"]
        if method in ("tools/list", "prompts/list"):
            kind = "tools" if method == "tools/list" else "prompts"
            self.names.learn(kind, upstream, [str(i.get("name", "")) for i in items])
            if self.names.prefix:
                return [{**i, "name": self.names.public(upstream, str(i.get("name", "")))} for i in items]
            return items
        if method == "resources/list":
            kept = []
            for i in items:
                uri = str(i.get("uri", ""))
                owner = self._resource_routes.setdefault(uri, upstream)
                if owner != upstream:
                    log.warning("resource %s offered by %s and %s: keeping %s's", uri, owner, upstream, owner)
                    continue
                kept.append(i)
            return kept
        # templates
        for i in items:
            tpl = i.get("uriTemplate")
            if isinstance(tpl, str):
                rx = template_regex(tpl)
                if all(r.pattern != rx.pattern for r, _ in self._template_routes):
                    self._template_routes.append((rx, upstream))
        return items

    def _refuse_duplicates(self, items: list[JSONObj], kind: str) -> list[JSONObj]:
        if self.names.prefix:
            return items
        seen: dict[str, int] = {}
        for i in items:
            n = str(i.get("name", ""))
            seen[n] = seen.get(n, 0) + 1
        dups = {n for n, c in seen.items() if c > 1}
        if dups:
            log.warning("%s offered by several upstreams, withheld: %s", kind, ", ".join(sorted(dups)))
        return [i for i in items if str(i.get("name", "")) not in dups]

    # ---- notifications ------------------------------------------------------------------------

    async def _notification(self, s: ClientSession, msg: Message) -> None:
        if msg.method == "notifications/initialized":
            s.initialized = True
        elif msg.method == "notifications/cancelled":
            rid = msg.params.get("requestId")
            task = s.inflight.get(rid) if isinstance(rid, int | str) else None
            if task is not None:
                if isinstance(task, asyncio.Task):
                    s.cancelled.add(rid)  # type: ignore[arg-type]
                task.cancel()

    def _on_upstream_notification(self, upstream: str, msg: Message) -> None:
        if msg.method in LIST_CHANGED:
            self._pending_changes.add(msg.method)
            if self._change_task is None or self._change_task.done():
                self._change_task = asyncio.ensure_future(self._flush_changes())
        elif msg.method == "notifications/resources/updated":
            uri = msg.params.get("uri")
            data = msg.raw
            for s in list(self.sessions.values()):
                if uri in s.subscriptions and s.send is not None:
                    s.send(data)
            for listener in list(self.listeners):
                listener.offer(msg.method, uri if isinstance(uri, str) else None)
        elif msg.method == "notifications/message":
            params = {**msg.params, "logger": f"{upstream}/{msg.params.get('logger', '')}".rstrip("/")}
            data = encode(notification_obj(msg.method, params))
            for s in list(self.sessions.values()):
                if s.send is not None and s.era is Era.HANDSHAKE:
                    s.send(data)

    async def _flush_changes(self) -> None:
        await asyncio.sleep(0.05)  # merge bursts from several upstreams into one notification each
        changes, self._pending_changes = self._pending_changes, set()
        for method in sorted(changes):
            data = encode(notification_obj(method))
            for s in list(self.sessions.values()):
                if s.send is not None and s.era is Era.HANDSHAKE:
                    s.send(data)
            for listener in list(self.listeners):
                listener.offer(method, None)

    # ---- aggregated server description ---------------------------------------------------------

    def _single(self) -> Upstream | None:
        if len(self.upstreams) == 1 and not self.names.prefix:
            return next(iter(self.upstreams.values()))
        return None

    def _capabilities(self) -> JSONObj:
        caps: JSONObj = {"tools": {"listChanged": True}}
        ups = [u for u in self.upstreams.values() if u.ready.is_set()]
        if not ups or any("prompts" in u.capabilities for u in ups):
            caps["prompts"] = {"listChanged": True}
        if not ups or any("resources" in u.capabilities for u in ups):
            caps["resources"] = {
                "listChanged": True,
                "subscribe": any((u.capabilities.get("resources") or {}).get("subscribe") for u in ups),
            }
        if any("completions" in u.capabilities for u in ups):
            caps["completions"] = {}
        if any("logging" in u.capabilities for u in ups):
            caps["logging"] = {}
        return caps

    def _server_info(self) -> JSONObj:
        single = self._single()
        if single is not None and single.server_info:
            return single.server_info
        return {"name": "mcp-bastion", "version": __version__}

    def _instructions(self) -> str | None:
        single = self._single()
        if single is not None:
            return single.instructions
        parts = [f"[{n}] {u.instructions}" for n, u in self.upstreams.items() if u.instructions]
        return "\n\n".join(parts) or None


def _upstream_params(params: JSONObj) -> JSONObj:
    """The client's params for the upstream: reserved per-request _meta keys of the client's era
    are dropped (the upstream connection adds its own)."""
    out = dict(params)
    meta = out.get("_meta")
    if isinstance(meta, dict) and any(k.startswith("io.modelcontextprotocol/") for k in meta):
        out["_meta"] = {k: v for k, v in meta.items() if not k.startswith("io.modelcontextprotocol/")}
    return out


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"o": offset})).decode().rstrip("=")


def _decode_cursor(cursor: Any) -> int:
    if cursor is None:
        return 0
    try:
        if not isinstance(cursor, str):
            raise ValueError
        data = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        offset = data["o"]
        if not isinstance(offset, int) or offset < 0:
            raise ValueError
        return offset
    except Exception:
        raise _Deny(errors.INVALID_PARAMS, "invalid cursor") from None


def version_of_request(msg: Message, headers: dict[str, str]) -> str | None:
    """The 2026-07-28 protocol version a request declares (``_meta`` or header), or None."""
    meta = msg.params.get("_meta")
    if isinstance(meta, dict):
        v = meta.get(META_PROTOCOL_VERSION)
        if isinstance(v, str):
            return v
    v = headers.get("mcp-protocol-version")
    return v if v in STATELESS_VERSIONS else None
