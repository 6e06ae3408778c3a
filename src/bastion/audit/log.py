"""The audit log: one JSON line per exchange.

Fields: ``ts`` (UTC, ISO 8601), ``session``, ``principal``, ``transport``, ``era``, ``method``,
``upstream``, ``target`` (tool/prompt name or resource URI), ``verdict`` (allow | mutate | deny |
error), ``rule`` (the rule that decided, if any), ``rules`` (every rule that acted), ``code`` (the
JSON-RPC error code sent, if any), ``latency_ms``, and ``args_sha256``: a digest of the canonical
arguments. Arguments are never logged raw: they may hold secrets.

Records are batched on the event loop and appended in one write every 50 ms (or 64 KiB): a
page-cache append of a few kilobytes, far cheaper than a writer thread, whose mere presence makes
every socket write of the gateway contend for the interpreter lock (measured: 28% of throughput).
An exchange's record (:meth:`AuditLog.exchange`) is only noted when it happens (time, latency,
the arguments); it is formatted, and its digest taken, when the batch is written. Everything
pending is written on close; the file is opened append-only, mode 0600.
"""

from __future__ import annotations

import asyncio
import binascii
import hashlib
import logging
import os
import sys
import time
from typing import Any

import orjson

log = logging.getLogger("bastion.audit")

_MILLIS = [b".%03d+00:00" % i for i in range(1000)]
_WHOLE = [b"%d" % i for i in range(1000)]
_FRACTION = [b".%03d" % i for i in range(1000)]
FLUSH_SECONDS = 0.05
FLUSH_BYTES = 64 * 1024
EXCHANGE_BYTES = 256
"""What a noted exchange is counted as towards FLUSH_BYTES until it is formatted."""

_Exchange = tuple[float, bytes, int, Any]
"""A noted exchange: wall time, its members up to ``latency_ms``, latency in ns, arguments or None."""


def args_digest(args: Any) -> str | None:
    """SHA-256 of the canonical JSON of ``args`` (keys sorted), hex; None for no arguments."""
    if args is None:
        return None
    return args_digest_bytes(args).decode("ascii")


def args_digest_bytes(args: Any) -> bytes:
    """:func:`args_digest` of arguments that are there, as ASCII bytes."""
    return binascii.hexlify(hashlib.sha256(orjson.dumps(args, option=orjson.OPT_SORT_KEYS)).digest())


class AuditLog:
    """Append-only JSON-lines log. ``path``: a file, ``"-"`` for stderr, or None for no log."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._fd: int | None = None
        self._owned = False
        self._pending: list[bytes | _Exchange] = []
        self._pending_bytes = 0
        self._flush_handle: asyncio.TimerHandle | None = None
        self.records = 0
        self._second = -1
        self._second_text = b""
        self.enabled = path is not None
        """False when records go nowhere (callers may skip building them)."""
        if path == "-":
            self._fd = sys.stderr.fileno()
        elif path is not None:
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
            self._owned = True

    def record(self, **fields: Any) -> None:
        """Log one record; fields that are None are left out."""
        if self._fd is not None:
            self.write({k: v for k, v in fields.items() if v is not None})

    def write(self, fields: dict[str, Any]) -> None:
        """Log one record as given (the caller has left out empty fields)."""
        if self._fd is None:
            return
        body = orjson.dumps(fields)
        self._append(b'{"ts":"' + self._timestamp() + (b'",' + body[1:] if len(body) > 2 else b'"}') + b"\n")

    def exchange(self, members: bytes, start_ns: int, args: Any) -> None:
        """Log one exchange: ``members`` (JSON, no braces) come after ``ts``; ``latency_ms`` (from
        ``start_ns``, a ``perf_counter_ns``, to now) and ``args_sha256`` (of ``args``, unless None)
        follow. Only noted here; formatted when the batch is written."""
        if self._fd is None:
            return
        self._pending.append((time.time(), members, time.perf_counter_ns() - start_ns, args))
        self.records += 1
        self._pending_bytes += EXCHANGE_BYTES
        if self._pending_bytes >= FLUSH_BYTES:
            self.flush()
        elif self._flush_handle is None:
            self._schedule()

    def _append(self, line: bytes) -> None:
        self._pending.append(line)
        self._pending_bytes += len(line)
        self.records += 1
        if self._pending_bytes >= FLUSH_BYTES:
            self.flush()
        elif self._flush_handle is None:
            self._schedule()

    def _schedule(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()  # not on an event loop: write at once
            return
        self._flush_handle = loop.call_later(FLUSH_SECONDS, self.flush)

    def _timestamp(self) -> bytes:
        """Now, UTC, ISO 8601 to the millisecond; the part up to the second is formatted once a second."""
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second = second
            self._second_text = _utc_second(second)
        return self._second_text + _MILLIS[int((now - second) * 1000)]

    def flush(self) -> None:
        """Write what is pending, in one append."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        if not self._pending or self._fd is None:
            return
        pending, self._pending = self._pending, []
        data = self._format(pending)
        self._pending_bytes = 0
        try:
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
        except OSError:
            log.exception("audit log write failed (%d bytes lost)", len(data))

    def _format(self, pending: list[bytes | _Exchange]) -> bytes:
        """The lines of a batch: records as they are, noted exchanges formatted (one loop, its
        pieces joined once: this runs for every exchange)."""
        parts: list[bytes] = []
        add, extend = parts.append, parts.extend
        last, second_text = self._second, self._second_text
        dumps, sort, sha256, hexlify = orjson.dumps, orjson.OPT_SORT_KEYS, hashlib.sha256, binascii.hexlify
        for item in pending:
            if isinstance(item, bytes):
                add(item)
                continue
            now, members, latency_ns, args = item
            second = int(now)
            if second != last:
                last = second
                second_text = _utc_second(second)
            us = (latency_ns + 500) // 1000
            extend((b'{"ts":"', second_text, _MILLIS[int((now - second) * 1000)], b'",', members,
                    b',"latency_ms":', _WHOLE[us // 1000] if us < 1_000_000 else b"%d" % (us // 1000),
                    _FRACTION[us % 1000], b"}\n" if args is None else
                    b',"args_sha256":"%s"}\n' % hexlify(sha256(dumps(args, option=sort)).digest())))
        self._second, self._second_text = last, second_text
        return b"".join(parts)

    def close(self) -> None:
        self.flush()
        if self._fd is not None and self._owned:
            os.close(self._fd)
        self._fd = None
        self.enabled = False


def _utc_second(second: int) -> bytes:
    """A second since the epoch as UTC ISO 8601, up to the seconds."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)).encode()


class Timer:
    """When an exchange began (``perf_counter_ns``): :meth:`AuditLog.exchange` takes its latency from it."""

    __slots__ = ("start",)

    def __init__(self) -> None:
        self.start = time.perf_counter_ns()
