"""Coarse timers for per-request deadlines: one event-loop timer serves all of them.

Arming and cancelling a timer of the event loop costs about 4 µs under uvloop, and
``asyncio.timeout`` about 6 µs; with two per request that was a tenth of the gateway's own CPU
time per call. Per-request deadlines (an upstream's answer timeout, the moment a call starts
watching for its client going away) need no millisecond precision, so they are kept in buckets of
:data:`TICK` seconds that one repeating loop timer empties; it runs only while deadlines are
pending. A deadline fires between 0 and ``TICK`` seconds after it is due, never before.

- :func:`after` calls a function once a delay has passed (returns a handle with ``cancel()``).
- :class:`deadline` is ``asyncio.timeout`` on these timers: ``with deadline(30): await ...``
  inside a task raises :class:`TimeoutError` when the time is up.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from types import TracebackType
from typing import Any

log = logging.getLogger("bastion.timers")

TICK = 0.05
"""Seconds per bucket: how late a deadline may fire."""


class Timer:
    """A pending call; :meth:`cancel` withdraws it (harmless once fired or cancelled)."""

    __slots__ = ("_args", "_bucket", "_callback", "_pending", "_wheel")

    def __init__(self, wheel: Wheel, bucket: int, callback: Callable[..., object], args: tuple[Any, ...]) -> None:
        self._wheel = wheel
        self._bucket = bucket
        self._callback = callback
        self._args = args
        self._pending = True

    def cancel(self) -> None:
        if self._pending:
            self._pending = False
            wheel = self._wheel
            timers = wheel.buckets.get(self._bucket)
            if timers is not None and self in timers:  # out of its bucket
                timers.discard(self)
                wheel.pending -= 1
                if not timers:
                    del wheel.buckets[self._bucket]

    def _fire(self) -> None:
        if self._pending:
            self._pending = False
            try:
                self._callback(*self._args)
            except Exception:  # one failing callback must not stop the others
                log.exception("timer callback %r failed", self._callback)


class Wheel:
    """The buckets of one event loop, and the loop timer that empties them."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.buckets: dict[int, set[Timer]] = {}
        self.pending = 0
        self._handle: asyncio.TimerHandle | None = None

    def add(self, delay: float, callback: Callable[..., object], args: tuple[Any, ...]) -> Timer:
        bucket = math.ceil((self.loop.time() + delay) / TICK)  # the bucket's time is at or after the due time
        timer = Timer(self, bucket, callback, args)
        timers = self.buckets.get(bucket)
        if timers is None:
            timers = self.buckets[bucket] = set()
        timers.add(timer)
        self.pending += 1
        if self._handle is None:
            self._handle = self.loop.call_later(TICK, self._tick)
        return timer

    def _tick(self) -> None:
        self._handle = None
        now = math.floor(self.loop.time() / TICK)
        for bucket in sorted(b for b in self.buckets if b <= now):
            timers = self.buckets.pop(bucket)
            self.pending -= len(timers)
            for timer in timers:
                timer._fire()
        if self.pending:
            self._handle = self.loop.call_later(TICK, self._tick)
        elif _wheels.get(self.loop) is self:
            del _wheels[self.loop]  # idle: nothing keeps the loop referenced


_wheels: dict[asyncio.AbstractEventLoop, Wheel] = {}


def wheel(loop: asyncio.AbstractEventLoop | None = None) -> Wheel:
    """The timers of ``loop`` (default: the running loop, which costs a system call to find); a
    caller that arms many keeps it and calls its ``add``."""
    if loop is None:
        loop = asyncio.get_running_loop()
    found = _wheels.get(loop)
    if found is None:
        found = _wheels[loop] = Wheel(loop)
    return found


def after(delay: float, callback: Callable[..., object], *args: Any) -> Timer:
    """Call ``callback(*args)`` on the running loop once ``delay`` seconds have passed (up to
    :data:`TICK` later)."""
    return wheel().add(delay, callback, args)


class deadline:  # lower case: used like asyncio.timeout
    """``with deadline(seconds):`` inside a task: when the time is up the task is cancelled and the
    block raises :class:`TimeoutError`, as with ``asyncio.timeout``; a cancellation from
    elsewhere passes through unchanged."""

    __slots__ = ("_cancelling", "_delay", "_expired", "_task", "_timer")

    def __init__(self, delay: float) -> None:
        self._delay = delay
        self._expired = False

    def __enter__(self) -> deadline:
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("deadline() must be used inside a task")
        self._task = task
        self._cancelling = task.cancelling()
        self._timer = wheel(task.get_loop()).add(self._delay, self._expire, ())
        return self

    def _expire(self) -> None:
        self._expired = True
        self._task.cancel()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._timer.cancel()
        if self._expired and self._task.uncancel() <= self._cancelling and et is asyncio.CancelledError:
            raise TimeoutError from e
