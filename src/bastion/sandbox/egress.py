"""Egress control: a filtering HTTP proxy that is a sandbox's only way out.

A sandbox always gets its own, empty network namespace (only loopback). When its config lists
``host:port`` destinations, bastion starts an :class:`EgressProxy` in its own process, listening
on a Unix socket in a private directory; the socket is bound into the sandbox and the in-sandbox
shim (``_egress_shim.py``) exposes it as ``127.0.0.1:<proxy_port>``. ``HTTP_PROXY``,
``HTTPS_PROXY``, ``ALL_PROXY`` (and lower-case forms) point there. Anything that ignores the proxy
has no route at all.

The proxy accepts ``CONNECT host:port`` (HTTPS and any TCP protocol) and absolute-form plain HTTP
requests (``GET http://host:port/...``). A destination is allowed only when it matches an entry
of the allow-list exactly (host names compared case-insensitively; ``*.example.com`` matches
sub-domains, not ``example.com`` itself). Names are resolved by bastion, outside the sandbox.
Every attempt — allowed, refused, failed — is passed to the ``audit`` callback as an
:class:`EgressEvent`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bastion.sandbox.config import Egress

_log = logging.getLogger(__name__)

MAX_HEAD = 16384


@dataclass(frozen=True, slots=True)
class EgressEvent:
    """One outbound connection attempt from a sandbox.

    ``decision`` is ``allow`` or ``deny``; ``outcome`` is ``connected``, ``refused`` (not in the
    allow-list), ``failed`` (allowed but the destination could not be reached) or ``bad-request``.
    """

    server: str
    host: str
    port: int
    method: str
    decision: str
    outcome: str
    reason: str
    time: float


AuditCallback = Callable[[EgressEvent], None]


class AllowList:
    """Matches ``host:port`` against a list of :class:`Egress` entries."""

    def __init__(self, entries: Sequence[Egress]) -> None:
        self._exact = {(e.host.lower(), e.port) for e in entries if not e.host.startswith("*.")}
        self._suffix = [(e.host[1:].lower(), e.port) for e in entries if e.host.startswith("*.")]

    def allows(self, host: str, port: int) -> bool:
        """True when ``host:port`` is listed."""
        h = host.strip("[]").lower().rstrip(".")
        if (h, port) in self._exact:
            return True
        return any(port == p and h.endswith(suffix) for suffix, p in self._suffix)


def _split_hostport(text: str, default_port: int) -> tuple[str, int]:
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.lstrip(":")
    else:
        host, sep, port = text.rpartition(":")
        if not sep:
            host, port = text, ""
    if port and not port.isdigit():
        raise ValueError(f"bad port in {text!r}")
    return host, int(port) if port else default_port


class EgressProxy:
    """The filtering proxy for one sandbox (see the module docstring)."""

    def __init__(
        self,
        allow: Sequence[Egress],
        *,
        server: str = "",
        audit: AuditCallback | None = None,
        connect_timeout: float = 10.0,
    ) -> None:
        self.allow = AllowList(allow)
        self.server = server
        self._audit = audit
        self._connect_timeout = connect_timeout
        self._dir: str | None = None
        self._srv: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.socket_path: str | None = None

    async def start(self) -> str:
        """Listen on a fresh Unix socket in a private (0700) directory; returns its path."""
        self._dir = tempfile.mkdtemp(prefix="bastion-egress-")
        os.chmod(self._dir, 0o700)
        path = os.path.join(self._dir, "egress.sock")
        self._srv = await asyncio.start_unix_server(self._handle, path=path)
        self.socket_path = path
        return path

    async def close(self) -> None:
        """Stop listening, cut open tunnels and remove the socket directory."""
        if self._srv is not None:
            self._srv.close()
            self._srv = None
        for t in list(self._tasks):
            t.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def _emit(self, host: str, port: int, method: str, decision: str, outcome: str, reason: str) -> None:
        event = EgressEvent(self.server, host, port, method, decision, outcome, reason, time.time())
        _log.info("egress %s %s:%d %s (%s) server=%s", decision, host, port, outcome, reason, self.server)
        if self._audit is not None:
            try:
                self._audit(event)
            except Exception:
                _log.exception("egress audit callback failed")

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            if task is not None:
                self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=30)
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return
        if len(head) > MAX_HEAD:
            await self._reply(writer, 431, "request head too large")
            return
        first, _, rest = head.partition(b"\r\n")
        parts = first.decode("latin-1").split()
        if len(parts) != 3:
            self._emit("", 0, "?", "deny", "bad-request", "malformed request line")
            await self._reply(writer, 400, "malformed request line")
            return
        method, target, version = parts
        try:
            if method.upper() == "CONNECT":
                host, port = _split_hostport(target, 443)
                path = b""
            else:
                if not target.lower().startswith("http://"):
                    raise ValueError("only CONNECT and absolute http:// URLs are proxied")
                authority, slash, tail = target[7:].partition("/")
                host, port = _split_hostport(authority, 80)
                path = ("/" + tail if slash else "/").encode("latin-1")
        except ValueError as exc:
            self._emit("", 0, method, "deny", "bad-request", str(exc))
            await self._reply(writer, 400, str(exc))
            return
        if not host or not 0 < port < 65536:
            self._emit(host, port, method, "deny", "bad-request", "bad destination")
            await self._reply(writer, 400, "bad destination")
            return
        if not self.allow.allows(host, port):
            self._emit(host, port, method, "deny", "refused", "not in allow-list")
            await self._reply(writer, 403, f"bastion egress: {host}:{port} is not in the allow-list")
            return
        try:
            up_r, up_w = await asyncio.wait_for(
                asyncio.open_connection(host.strip("[]"), port), timeout=self._connect_timeout
            )
        except (TimeoutError, OSError) as exc:
            self._emit(host, port, method, "allow", "failed", f"connect: {exc or type(exc).__name__}")
            await self._reply(writer, 502, f"bastion egress: cannot reach {host}:{port}")
            return
        self._emit(host, port, method, "allow", "connected", "in allow-list")
        if method.upper() == "CONNECT":
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
        else:
            headers = [
                h for h in rest.split(b"\r\n")
                if h and not h.lower().startswith((b"proxy-", b"connection:", b"keep-alive:"))
            ]
            new_head = b"\r\n".join(
                [f"{method} ".encode("latin-1") + path + f" {version}".encode("latin-1"),
                 *headers, b"Connection: close", b"", b""]
            )
            up_w.write(new_head)
        await self._splice(reader, writer, up_r, up_w)

    @staticmethod
    async def _splice(
        a_r: asyncio.StreamReader, a_w: asyncio.StreamWriter,
        b_r: asyncio.StreamReader, b_w: asyncio.StreamWriter,
    ) -> None:
        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
                if dst.can_write_eof():
                    dst.write_eof()
            except (ConnectionError, OSError):
                pass

        try:
            await asyncio.gather(pump(a_r, b_w), pump(b_r, a_w))
        finally:
            b_w.close()

    @staticmethod
    async def _reply(writer: asyncio.StreamWriter, status: int, text: str) -> None:
        reasons = {400: "Bad Request", 403: "Forbidden", 431: "Request Header Fields Too Large",
                   502: "Bad Gateway"}
        body = (text + "\n").encode()
        writer.write(
            f"HTTP/1.1 {status} {reasons.get(status, 'Error')}\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body
        )
        with contextlib.suppress(ConnectionError):
            await writer.drain()


def proxy_env(port: int) -> dict[str, str]:
    """The proxy variables set inside a sandbox whose proxy listens on ``127.0.0.1:port``."""
    url = f"http://127.0.0.1:{port}"
    env = {}
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        env[name] = url
        env[name.lower()] = url
    env["NO_PROXY"] = env["no_proxy"] = ""
    return env
