"""Recycling sandboxes between calls: :class:`Supervisor`.

The gateway owns the decision of *when* to recycle (never in the middle of a call); this helper
owns the mechanics. ``await sup.acquire()`` returns a live process — launching a fresh one when
none exists, the previous one exited, its lifetime is (nearly) over (``margin`` seconds), or it
has been idle longer than ``idle_timeout``. After the call, ``await sup.release(proc)``: with
``ephemeral: true`` the process is terminated at once, so every call gets a pristine sandbox.
``await sup.close()`` terminates whatever runs.

The hard lifetime is also enforced by :class:`~bastion.sandbox.process.SandboxedProcess` itself,
so a server that is never released still dies on time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bastion.sandbox.process import SandboxedProcess

_log = logging.getLogger(__name__)

Factory = Callable[[], Awaitable[SandboxedProcess]]


class Supervisor:
    """Keeps one sandboxed server alive and fresh for a gateway upstream."""

    def __init__(self, factory: Factory, *, margin: float = 5.0) -> None:
        self._factory = factory
        self._margin = margin
        self._proc: SandboxedProcess | None = None
        self._lock = asyncio.Lock()
        self.launches = 0

    @property
    def current(self) -> SandboxedProcess | None:
        """The process now in use, if any."""
        return self._proc

    async def acquire(self) -> SandboxedProcess:
        """A live, non-expired, non-idle process (launching or replacing as needed)."""
        async with self._lock:
            proc = self._proc
            if proc is not None and proc.should_recycle(self._margin):
                _log.info(
                    "recycling sandbox %s (alive=%s age=%.1fs idle=%.1fs)",
                    proc.name, proc.alive(), proc.age(), proc.idle_for(),
                )
                await proc.terminate()
                proc = self._proc = None
            if proc is None:
                proc = self._proc = await self._factory()
                self.launches += 1
            return proc

    async def release(self, proc: SandboxedProcess) -> None:
        """Finish with ``proc`` after a call; ephemeral sandboxes are terminated now."""
        if proc.config.ephemeral:
            async with self._lock:
                if self._proc is proc:
                    self._proc = None
            await proc.terminate()

    async def close(self) -> None:
        """Terminate the current process, if any."""
        async with self._lock:
            proc, self._proc = self._proc, None
        if proc is not None:
            await proc.terminate()
