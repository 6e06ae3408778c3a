"""Launching a sandboxed stdio server: :func:`launch` and :class:`SandboxedProcess`.

::

    proc = await launch("uvx", ["mcp-server-time"], SandboxConfig(pids=32), audit=on_egress)
    proc.stdin.write(b'{"jsonrpc":"2.0","id":1,"method":"initialize",...}\\n')
    line = await proc.stdout.readline()
    ...
    await proc.terminate()

``stdin``/``stdout`` are clean pipes to the server (JSON-RPC lines only); the server's stderr is
read line by line, redacted and logged to the ``bastion.sandbox.server`` logger (with the server
name in ``extra``). Limits, egress proxy, secret delivery and clean-up are handled here; the
process handle also answers the lifetime questions the gateway asks between calls
(:meth:`SandboxedProcess.expired`, :meth:`~SandboxedProcess.idle`, ...). The sandbox is killed
by bastion when ``lifetime`` has passed, whatever it is doing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Mapping

from bastion.sandbox.backend import Prepared, get_backend
from bastion.sandbox.config import SandboxConfig
from bastion.sandbox.egress import AuditCallback, EgressProxy
from bastion.sandbox.limits import LimitPlan, plan_limits
from bastion.sandbox.spec import SandboxError, build_spec
from bastion.secrets.providers import Resolver
from bastion.secrets.redact import Redactor, default_redactor

_log = logging.getLogger(__name__)
server_log = logging.getLogger("bastion.sandbox.server")


class SandboxedProcess:
    """A running sandboxed server. Create with :func:`launch`.

    Attributes: ``stdin`` (``asyncio.StreamWriter``), ``stdout`` (``asyncio.StreamReader``),
    ``pid`` (of the host-side sandbox process), ``name``, ``backend``, ``config``,
    ``started_at``/``last_activity`` (``time.monotonic()`` values), ``limits`` (how each limit is
    enforced) and ``returncode`` once it has exited.
    """

    def __init__(
        self,
        proc: asyncio.subprocess.Process,
        cfg: SandboxConfig,
        *,
        name: str,
        prepared: Prepared,
        limits: LimitPlan,
        proxy: EgressProxy | None,
        redactor: Redactor,
    ) -> None:
        self._proc = proc
        self.config = cfg
        self.name = name
        self.backend = prepared.backend
        self.limits = dict(limits.enforced)
        self._prepared = prepared
        self._plan = limits
        self._proxy = proxy
        self._redactor = redactor
        self.started_at = time.monotonic()
        self.last_activity = self.started_at
        self.killed_for_lifetime = False
        self._closed = False
        self._cleanup_lock = asyncio.Lock()
        self._stderr_task: asyncio.Task[None] | None = None
        if proc.stderr is not None:
            self._stderr_task = asyncio.create_task(self._pump_stderr(proc.stderr))
        self._watchdog = asyncio.create_task(self._lifetime_watchdog())
        self._reaper = asyncio.create_task(self._reap())

    # --- pipes -----------------------------------------------------------------------------
    @property
    def stdin(self) -> asyncio.StreamWriter:
        """The server's standard input."""
        assert self._proc.stdin is not None, "launched without a stdin pipe"
        return self._proc.stdin

    @property
    def stdout(self) -> asyncio.StreamReader:
        """The server's standard output."""
        assert self._proc.stdout is not None, "launched without a stdout pipe"
        return self._proc.stdout

    @property
    def process(self) -> asyncio.subprocess.Process:
        """The host-side process of the sandbox (its pipes are the server's stdin/stdout)."""
        return self._proc

    @property
    def pid(self) -> int:
        """Host pid of the sandbox's top process (``bwrap``, ``runsc`` or the server itself)."""
        return self._proc.pid

    @property
    def returncode(self) -> int | None:
        """Exit status, ``None`` while running (negative: killed by that signal)."""
        return self._proc.returncode

    async def send(self, line: bytes) -> None:
        """Write one message line (a newline is added if missing) and mark activity."""
        self.touch()
        self.stdin.write(line if line.endswith(b"\n") else line + b"\n")
        await self.stdin.drain()

    async def receive(self) -> bytes:
        """Read one line from the server (``b""`` at end of stream) and mark activity."""
        line = await self.stdout.readline()
        self.touch()
        return line

    # --- lifetime ----------------------------------------------------------------------------
    def touch(self) -> None:
        """Record activity now (``send``/``receive`` do this; call it when using the pipes directly)."""
        self.last_activity = time.monotonic()

    def age(self) -> float:
        """Seconds since launch."""
        return time.monotonic() - self.started_at

    def remaining(self) -> float:
        """Seconds left before the lifetime is reached (may be negative)."""
        return self.config.lifetime - self.age()

    def expired(self, margin: float = 0.0) -> bool:
        """True when the lifetime is reached (or will be within ``margin`` seconds)."""
        return self.remaining() <= margin

    def idle_for(self) -> float:
        """Seconds since the last activity."""
        return time.monotonic() - self.last_activity

    def idle(self) -> bool:
        """True when ``idle_timeout`` is set and no traffic happened for that long."""
        t = self.config.idle_timeout
        return t is not None and self.idle_for() >= t

    def alive(self) -> bool:
        """True while the server runs."""
        return self._proc.returncode is None

    def should_recycle(self, margin: float = 0.0) -> bool:
        """Whether the gateway should replace this process before its next call: it has exited,
        its lifetime ends within ``margin`` seconds, or it has idled out (asked before every
        call, so the clock is read once)."""
        if self._proc.returncode is not None:
            return True
        now = time.monotonic()
        if self.config.lifetime - (now - self.started_at) <= margin:
            return True
        t = self.config.idle_timeout
        return t is not None and now - self.last_activity >= t

    # --- ending ------------------------------------------------------------------------------
    async def wait(self) -> int:
        """Wait for the server to exit; returns its status. Resources are released."""
        rc = await self._proc.wait()
        await self._cleanup()
        return rc

    async def terminate(self, grace: float = 1.0) -> int:
        """Stop the whole sandbox: close stdin, wait ``grace`` seconds, then kill everything.

        Killing the host process tears down the sandbox's PID namespace (bwrap) or container
        (runsc); with ``none`` the process group is killed. Returns the exit status.
        """
        if self._proc.returncode is None:
            if self._proc.stdin is not None and not self._proc.stdin.is_closing():
                self._proc.stdin.close()
            if grace > 0:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(asyncio.shield(self._proc.wait()), grace)
            if self._proc.returncode is None:
                self._kill()
        rc = await self._proc.wait()
        await self._cleanup()
        return rc

    def _kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            self._proc.kill()

    async def _lifetime_watchdog(self) -> None:
        await asyncio.sleep(max(0.0, self.remaining()))
        if self._proc.returncode is None:
            _log.info("sandbox %s reached its lifetime (%.0fs): killing it", self.name, self.config.lifetime)
            self.killed_for_lifetime = True
            self._kill()

    async def _reap(self) -> None:
        await self._proc.wait()
        await self._cleanup()

    async def _pump_stderr(self, stream: asyncio.StreamReader) -> None:
        extra = {"mcp_server": self.name}
        while True:
            try:
                line = await stream.readline()
            except (ValueError, asyncio.LimitOverrunError):
                continue
            if not line:
                return
            text = self._redactor.redact(line.decode("utf-8", "replace").rstrip("\r\n"))
            server_log.info("[%s] %s", self.name, text, extra=extra)

    async def _cleanup(self) -> None:
        async with self._cleanup_lock:
            if self._closed:
                return
            self._closed = True
            current = asyncio.current_task()
            if self._watchdog is not current:
                self._watchdog.cancel()
            if self._stderr_task is not None and self._stderr_task is not current:
                with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                    await asyncio.wait_for(asyncio.shield(self._stderr_task), 1.0)
            if self._proxy is not None:
                await self._proxy.close()
            await asyncio.to_thread(self._plan.cleanup)
            self._prepared.cleanup()


async def launch(
    command: str,
    args: list[str],
    cfg: SandboxConfig,
    *,
    env_extra: Mapping[str, str] | None = None,
    name: str | None = None,
    audit: AuditCallback | None = None,
    resolver: Resolver | None = None,
    redactor: Redactor | None = None,
    stdio: str = "pipe",
    stdout_fd: int | None = None,
) -> SandboxedProcess:
    """Start ``command args`` in a sandbox described by ``cfg``.

    - ``env_extra``: more variables for the server (after ``cfg.env``);
    - ``name``: the server's name in logs and egress audit events (default: the command);
    - ``audit``: receives an :class:`~bastion.sandbox.egress.EgressEvent` for every outbound
      attempt through the proxy;
    - ``resolver``: resolves ``cfg.secrets`` (default :meth:`Resolver.from_env`); secrets are read
      again on every launch;
    - ``stdio``: ``"pipe"`` (default) or ``"inherit"`` (the server uses bastion's own stdin/stdout,
      as ``bastion run`` does; ``stdin``/``stdout`` are then unavailable);
    - ``stdout_fd``: with ``"pipe"``, the server writes to this descriptor (the write end of a pipe
      the caller reads) instead of a pipe read through ``stdout``.

    Raises :class:`~bastion.sandbox.spec.SandboxError` (or
    :class:`~bastion.secrets.SecretError`) when the sandbox cannot be built.
    """
    backend = get_backend(cfg.backend)
    label = name or os.path.basename(command)
    redactor = redactor if redactor is not None else default_redactor
    resolver = resolver if resolver is not None else Resolver.from_env()
    secrets: dict[str, str] = {}
    for s in cfg.secrets:
        secrets[s.name] = await resolver.aresolve(s.ref)

    proxy: EgressProxy | None = None
    socket_path: str | None = None
    if cfg.allow_list:
        if backend.name == "none":
            _log.warning("sandbox %s: backend 'none' cannot restrict network; egress allow-list ignored",
                         label)
        else:
            proxy = EgressProxy(cfg.allow_list, server=label, audit=audit)
            socket_path = await proxy.start()

    plan: LimitPlan | None = None
    prepared: Prepared | None = None
    try:
        spec = build_spec(command, list(args), cfg, secrets=secrets,
                          env_extra=dict(env_extra or {}), egress_socket=socket_path)
        plan = await asyncio.to_thread(plan_limits, cfg)
        for w in plan.warnings:
            _log.warning("sandbox %s: %s", label, w)
        prepared = backend.prepare(spec, cfg)
        pipe = asyncio.subprocess.PIPE if stdio == "pipe" else None
        proc = await asyncio.create_subprocess_exec(
            *prepared.argv,
            stdin=pipe,
            stdout=stdout_fd if stdout_fd is not None and pipe is not None else pipe,
            stderr=asyncio.subprocess.PIPE,
            env=prepared.env,
            cwd=prepared.cwd,
            pass_fds=prepared.pass_fds,
            preexec_fn=plan.preexec(),
            start_new_session=True,
            limit=2**24,
        )
    except BaseException:
        if proxy is not None:
            await proxy.close()
        if plan is not None:
            plan.cleanup()
        if prepared is not None:
            prepared.cleanup()
        raise
    prepared.close_fds()
    _log.info("sandbox %s started (backend=%s, pid=%d, limits=%s)", label, prepared.backend, proc.pid,
              plan.enforced)
    return SandboxedProcess(proc, cfg, name=label, prepared=prepared, limits=plan, proxy=proxy,
                            redactor=redactor)


__all__ = ["SandboxError", "SandboxedProcess", "launch"]
