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
from bastion.transports.lines import LineSplitter, LineWriter, begin_batch, end_batch

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
        self._stdout: asyncio.ReadTransport | None = None

    @property
    def describe(self) -> str:
        return f"stdio:{self.command}"

    async def start(self, on_message: OnMessage, on_close: OnClose) -> None:
        # The server's stdout is a pipe of our own, read by a protocol callback that hands each
        # line on as it arrives (no reader task, no stream buffer in between).
        loop = asyncio.get_running_loop()
        read_fd, write_fd = os.pipe()
        try:
            if self.sandbox is not None:
                from bastion.sandbox import launch

                self.sandboxed = await launch(
                    self.command, self.args, self.sandbox, env_extra=self.env or None, name=self.name,
                    audit=self.on_egress, stdout_fd=write_fd,
                )
                self.proc = self.sandboxed.process
            else:
                env = {**os.environ, **(self.env or {})}
                self.proc = await asyncio.create_subprocess_exec(
                    self.command,
                    *self.args,
                    stdin=asyncio.subprocess.PIPE,
                    stdout=write_fd,
                    stderr=asyncio.subprocess.PIPE,
                    env=env,
                    cwd=self.cwd,
                    limit=READ_LIMIT,
                    start_new_session=True,
                )
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)  # the child has its copy: our stdout end closes when it exits
        ended: asyncio.Future[str] = loop.create_future()
        self._stdout, _ = await loop.connect_read_pipe(
            lambda: _Lines(on_message, ended, self.sandboxed), os.fdopen(read_fd, "rb", buffering=0))
        proc = self.proc
        self._tasks = [asyncio.create_task(self._watch(proc, ended, on_close))]
        if self.sandboxed is None:
            self._tasks.append(asyncio.create_task(self._stderr(proc)))

    async def _watch(self, proc: asyncio.subprocess.Process, ended: asyncio.Future[str], on_close: OnClose) -> None:
        """Once the server's stdout ends (or breaks), find out why and report it."""
        reason = await ended
        if self._stdout is not None:
            self._stdout.close()
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
        self.write_now(data)  # with other messages of this loop pass, in one write
        assert self._out is not None
        await self._out.drain()

    def can_write_now(self) -> bool:
        """True when :meth:`write_now` may be used: the server runs and its stdin pipe is not backed up."""
        proc = self.proc
        if proc is None or proc.stdin is None or proc.returncode is not None:
            return False
        return proc.stdin.transport.get_write_buffer_size() == 0

    def write_now(self, data: bytes) -> None:
        """:meth:`send` without waiting: for callers that checked :meth:`can_write_now` (a full pipe
        is left to :meth:`send`, which waits for it to drain)."""
        proc = self.proc
        if proc is None or proc.stdin is None or proc.returncode is not None:
            raise ConnectionError(f"upstream {self.name} is not running")
        out = self._out
        if out is None or out.stream is not proc.stdin:
            out = self._out = LineWriter(proc.stdin, asyncio.get_running_loop())
        out.write_line(data)
        if self.sandboxed is not None:
            self.sandboxed.touch()

    def should_recycle(self, margin: float) -> bool:
        """True when the sandbox's lifetime is nearly over or it has idled out."""
        if self.sandboxed is None or self.sandbox is None:
            return False
        return self.sandboxed.should_recycle(min(margin, self.sandbox.lifetime / 10))

    async def close(self) -> None:
        if self._stdout is not None:
            self._stdout.close()
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


class _Lines(asyncio.Protocol):
    """Reads the server's stdout: each line goes to ``on_message`` as soon as it is complete;
    ``ended`` gets why reading stopped."""

    def __init__(self, on_message: OnMessage, ended: asyncio.Future[str], sandboxed: SandboxedProcess | None) -> None:
        self.on_message = on_message
        self.ended = ended
        self.sandboxed = sandboxed
        self.lines = LineSplitter(READ_LIMIT)

    def data_received(self, data: bytes) -> None:
        if self.ended.done():
            return  # reading stopped (an over-long line): what follows is not trusted
        lines = self.lines.feed(data)
        if lines and self.sandboxed is not None:
            self.sandboxed.touch()
        on_message = self.on_message
        begin_batch()  # what the messages of this chunk cause to be written leaves together, now
        try:
            for line in lines:
                if line[:1] != b"{" or line[-1:] != b"}":  # the usual line needs no copy
                    line = line.strip()
                if line:
                    try:
                        on_message(line)
                    except Exception:  # one bad message must not stop the others
                        logging.getLogger("bastion.upstream").exception("message from the server dropped")
        finally:
            end_batch()
        if self.lines.error is not None:
            self._end("sent a line longer than the read limit")

    def eof_received(self) -> bool:
        last = self.lines.end()
        if last is not None and last.strip():
            self.on_message(last.strip())
        self._end("closed its stdout")
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._end(f"read failed: {exc}" if exc is not None else "closed its stdout")

    def _end(self, reason: str) -> None:
        if not self.ended.done():
            self.ended.set_result(reason)
