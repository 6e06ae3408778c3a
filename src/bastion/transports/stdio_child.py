"""An upstream server run as a child process: newline-delimited JSON-RPC on stdin/stdout.

The child's stderr is forwarded to the log (logger ``bastion.upstream.<name>``), line by line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Sequence

from bastion.transports.base import OnClose, OnMessage

READ_LIMIT = 64 * 1024 * 1024


class StdioChild:
    def __init__(
        self,
        name: str,
        command: str,
        args: Sequence[str],
        env: dict[str, str] | None = None,
        cwd: str | None = None,
    ) -> None:
        self.name = name
        self.command = command
        self.args = list(args)
        self.env = env
        self.cwd = cwd
        self.proc: asyncio.subprocess.Process | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._log = logging.getLogger(f"bastion.upstream.{name}")
        self._write_lock = asyncio.Lock()

    @property
    def describe(self) -> str:
        return f"stdio:{self.command}"

    async def start(self, on_message: OnMessage, on_close: OnClose) -> None:
        env = {**os.environ, **(self.env or {})}
        self.proc = await asyncio.create_subprocess_exec(
            self.command,
            *self.args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            cwd=self.cwd,
            limit=READ_LIMIT,
            start_new_session=True,
        )
        proc = self.proc
        self._tasks = [
            asyncio.create_task(self._read(proc, on_message, on_close)),
            asyncio.create_task(self._stderr(proc)),
        ]

    async def _read(self, proc: asyncio.subprocess.Process, on_message: OnMessage, on_close: OnClose) -> None:
        assert proc.stdout is not None
        reason = "closed its stdout"
        try:
            while True:
                try:
                    line = await proc.stdout.readline()
                except ValueError:
                    reason = "sent a line longer than the read limit"
                    break
                if not line:
                    break
                line = line.strip()
                if line:
                    on_message(line)
        except Exception as exc:  # pragma: no cover - defensive
            reason = f"read failed: {exc}"
        with contextlib.suppress(Exception):
            code = await asyncio.wait_for(proc.wait(), 2)
            reason = f"exited with code {code}"
        on_close(reason)

    async def _stderr(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stderr is not None
        while True:
            try:
                line = await proc.stderr.readline()
            except ValueError:
                continue
            if not line:
                return
            self._log.info("%s", line.decode("utf-8", "replace").rstrip())

    async def send(self, data: bytes) -> None:
        proc = self.proc
        if proc is None or proc.stdin is None or proc.returncode is not None:
            raise ConnectionError(f"upstream {self.name} is not running")
        async with self._write_lock:
            proc.stdin.write(data + b"\n")
            await proc.stdin.drain()

    async def close(self) -> None:
        proc = self.proc
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(Exception):
                if proc.stdin is not None:
                    proc.stdin.close()
            try:
                await asyncio.wait_for(proc.wait(), 2)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
                try:
                    await asyncio.wait_for(proc.wait(), 3)
                except TimeoutError:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    await proc.wait()
        for t in self._tasks:
            t.cancel()
        self._tasks = []
