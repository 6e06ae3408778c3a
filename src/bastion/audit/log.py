"""The audit log: one JSON line per exchange.

Fields: ``ts`` (UTC, ISO 8601), ``session``, ``principal``, ``transport``, ``era``, ``method``,
``upstream``, ``target`` (tool/prompt name or resource URI), ``verdict`` (allow | mutate | deny |
error), ``rule`` (the rule that decided, if any), ``rules`` (every rule that acted), ``code`` (the
JSON-RPC error code sent, if any), ``latency_ms``, and ``args_sha256``: a digest of the canonical
arguments. Arguments are never logged raw: they may hold secrets.

Records are batched on the event loop (at most 50 ms or 64 KiB) and written by a background thread,
so the event loop never waits on disk; everything pending is written on close.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import queue
import sys
import threading
import time
from datetime import UTC, datetime
from typing import IO, Any

import orjson

log = logging.getLogger("bastion.audit")

FLUSH_SECONDS = 0.05
FLUSH_BYTES = 64 * 1024


def args_digest(args: Any) -> str | None:
    if args is None:
        return None
    canonical = orjson.dumps(args, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


class AuditLog:
    """Append-only JSON-lines log. ``path``: a file, ``"-"`` for stderr, or None for no log."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._stream: IO[bytes] | None = None
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._flush_handle: asyncio.TimerHandle | None = None
        self.records = 0
        if path is not None:
            self._stream = sys.stderr.buffer if path == "-" else open(path, "ab")  # noqa: SIM115
            self._thread = threading.Thread(target=self._writer, name="bastion-audit", daemon=True)
            self._thread.start()

    def record(self, **fields: Any) -> None:
        if self._stream is None:
            return
        fields = {"ts": datetime.now(UTC).isoformat(timespec="milliseconds"), **fields}
        line = orjson.dumps({k: v for k, v in fields.items() if v is not None}) + b"\n"
        self.records += 1
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._queue.put(line)  # not on an event loop: hand it over at once
            return
        # On the loop: collect lines and hand the writer one batch every FLUSH_SECONDS. Waking the
        # writer thread per record costs more than the rest of the exchange.
        self._pending.append(line)
        self._pending_bytes += len(line)
        if self._pending_bytes >= FLUSH_BYTES:
            self.flush()
        elif self._flush_handle is None:
            self._flush_handle = loop.call_later(FLUSH_SECONDS, self.flush)

    def flush(self) -> None:
        """Hand what is pending to the writer thread."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        if self._pending:
            self._queue.put(b"".join(self._pending))
            self._pending = []
            self._pending_bytes = 0

    def _writer(self) -> None:
        assert self._stream is not None
        stream = self._stream
        while True:
            item = self._queue.get()
            batch = [item]
            # Drain whatever else is queued: one write per burst.
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = None in batch
            data = b"".join(b for b in batch if b is not None)
            if data:
                try:
                    stream.write(data)
                    stream.flush()
                except OSError:
                    log.exception("audit log write failed")
            if stop:
                return

    def close(self) -> None:
        self.flush()
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=5)
            self._thread = None
        if self._stream is not None and self.path != "-":
            self._stream.close()
        self._stream = None


class Timer:
    __slots__ = ("start",)

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def ms(self) -> float:
        return round((time.perf_counter() - self.start) * 1000, 3)
