"""An upstream server run as a child process: newline-delimited JSON-RPC on stdin/stdout.

With a sandbox configuration the child is started inside the sandbox (:mod:`bastion.sandbox`),
which also logs its stderr, redacted; without one it runs as a plain child process whose stderr is
forwarded to the logger ``bastion.upstream.<name>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from bastion.transports.base import OnClose, OnMessage
from bastion.transports.lines import LineTooLong, LineWriter, read_lines

if TYPE_CHECKING:
    from bastion.sandbox import EgressEvent, SandboxConfig, SandboxedProcess

READ_LIMIT = 64 * 1024 * 1024


class StdioChild:
    def __init__(
        self,
        name: str,
        command: str,
        args: Sequence[str],
        env: dict[str, str] | None = None,
        cwd: str | None = None,
        sandbox: SandboxConfig | None = None,
        on_egress: Callable[[EgressEvent], None] | None = None,
    ) -> None:
        self.name = name
        self.sandbox = sandbox
        self.on_egress = on_egress
        self.sandboxed: SandboxedProcess | None = None
        self.command = command
        self.args = list(args)
        self.env = env
        self.cwd = cwd
        self.proc: asyncio.subprocess.Process | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._log = logging.getLogger(f"bastion.upstream.{name}")
        self._out: LineWriter | None = None

    @property
    def describe(self) -> str:
        return f"stdio:{self.command}"

    async def start(self, on_message: OnMessage, on_close: OnClose) -> None:
        if self.sandbox is not None:
            from bastion.sandbox import launch

            self.sandboxed = await launch(
                self.command, self.args, self.sandbox, env_extra=self.env or None, name=self.name,
                audit=self.on_egress,
            )
            self.proc = self.sandboxed.process
            self._tasks = [asyncio.create_task(self._read(self.proc, on_message, on_close))]
            return
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
            async for line in read_lines(proc.stdout, READ_LIMIT):
                line = line.strip()
                if line:
                    if self.sandboxed is not None:
                        self.sandboxed.touch()
                    on_message(line)
        except LineTooLong:
            reason = "sent a line longer than the read limit"
        except Exception as exc:  # pragma: no cover - defensive
            reason = f"read failed: {exc}"
        with contextlib.suppress(Exception):
            code = await asyncio.wait_for(proc.wait(), 2)
            reason = f"exited with code {code}"
        if self.sandboxed is not None and self.sandboxed.killed_for_lifetime:
            reason = f"killed by its sandbox at the end of its {self.sandbox.lifetime:g}s lifetime" \
                if self.sandbox is not None else "killed by its sandbox at the end of its lifetime"
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
        out = self._out
        if out is None or out.stream is not proc.stdin:
            out = self._out = LineWriter(proc.stdin, asyncio.get_running_loop())
        out.write_line(data)  # with other messages of this loop pass, in one write
        await out.drain()
        if self.sandboxed is not None:
            self.sandboxed.touch()

    def should_recycle(self, margin: float) -> bool:
        """True when the sandbox's lifetime is nearly over or it has idled out."""
        if self.sandboxed is None or self.sandbox is None:
            return False
        return self.sandboxed.should_recycle(min(margin, self.sandbox.lifetime / 10))

    async def close(self) -> None:
        if self.sandboxed is not None:
            with contextlib.suppress(Exception):
                await self.sandboxed.terminate()
            for t in self._tasks:
                t.cancel()
            self._tasks = []
            return
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
