"""Helpers of the TypeScript-client end-to-end tests: find Node 22 and the pinned packages, run the
scripted session of ``node/ts_client.mjs`` and read its JSON lines, watch the audit log."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from support import NODE22, NODE_DIR, node22_problem

DRIVER = Path(__file__).resolve().parent / "node" / "ts_client.mjs"
CLIENT_DIST = NODE_DIR / "@modelcontextprotocol" / "client" / "dist"
EVERYTHING_BIN = NODE_DIR / ".bin" / "mcp-server-everything"
EVERYTHING_PKG = NODE_DIR / "@modelcontextprotocol" / "server-everything" / "package.json"

DRIVER_TIMEOUT = 150.0
"""Bound of one scripted session (the driver's own watchdog fires at 90 s)."""


def node_problem() -> str | None:
    """Why the TS-client tests cannot run here, or None when they can."""
    problem = node22_problem()
    if problem is not None:
        return problem
    for needed in (CLIENT_DIST / "index.mjs", CLIENT_DIST / "stdio.mjs", EVERYTHING_BIN, EVERYTHING_PKG):
        if not needed.exists():
            return f"{needed} missing (install the pinned node packages: cd node && npm ci)"
    return None


def everything_upstream() -> dict[str, Any]:
    """Gateway config of @modelcontextprotocol/server-everything as a stdio child. Its bin script starts
    with ``#!/usr/bin/env node``: put node_modules/.bin (which holds Node 22 as ``node``) first on PATH."""
    return {
        "command": str(EVERYTHING_BIN),
        "args": ["stdio"],
        "env": {"PATH": f"{EVERYTHING_BIN.parent}{os.pathsep}{os.environ.get('PATH', '')}"},
    }


@dataclass
class Session:
    """What one run of the driver printed, plus the gateway's audit records of it."""

    argv: list[str]
    returncode: int
    steps: list[dict[str, Any]]
    stderr: str
    audit: list[dict[str, Any]] = field(default_factory=list)

    def all(self, step: str, **match: Any) -> list[dict[str, Any]]:
        return [s for s in self.steps if s["step"] == step and all(s.get(k) == v for k, v in match.items())]

    def one(self, step: str, **match: Any) -> dict[str, Any]:
        found = self.all(step, **match)
        assert len(found) == 1, f"expected one {step!r} step matching {match}, got {found}\n{self.describe()}"
        return found[0]

    def ok(self, step: str, **match: Any) -> dict[str, Any]:
        s = self.one(step, **match)
        assert s["ok"], f"step {step} {match} failed: {s.get('error')}\n{self.describe()}"
        return s

    def describe(self) -> str:
        lines = "\n".join(json.dumps(s) for s in self.steps)
        return f"$ {' '.join(self.argv)}\n(exit {self.returncode})\n{lines}\n--- stderr (tail) ---\n{self.stderr[-3000:]}"


def run_driver(transport: str, era: str, *, url: str | None = None, command: Sequence[str] = (),
               fixtures: Sequence[str] = (), everything: Sequence[str] = (), unknown: Sequence[str] = (),
               roots: bool = False, timeout: float = DRIVER_TIMEOUT) -> Session:
    argv = [str(NODE22), str(DRIVER), transport, era]
    if url is not None:
        argv += ["--url", url]
    if roots:
        argv.append("--roots")
    for p in fixtures:
        argv += ["--fixture", p]
    for p in everything:
        argv += ["--everything", p]
    for n in unknown:
        argv += ["--unknown", n]
    if command:
        argv += ["--", *command]
    env = {**os.environ, "BASTION_NODE_MODULES": str(NODE_DIR)}
    # Own process group: on timeout the driver and whatever it started (bastion wrap) go together.
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=30)
        raise AssertionError(f"driver did not finish within {timeout:g}s\n{out}\n{err[-3000:]}") from None
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)  # leftovers of a driver that exited early
    steps = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return Session(argv, proc.returncode, steps, err)


def read_audit(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line being written right now
    return records


def wait_for_audit(read: Callable[[], list[dict[str, Any]]], done: Callable[[list[dict[str, Any]]], bool],
                   bound: float = 8.0) -> list[dict[str, Any]]:
    """Poll the audit log until ``done(records)`` or the bound passes; return the last read."""
    deadline = time.monotonic() + bound
    records = read()
    while not done(records) and time.monotonic() < deadline:
        time.sleep(0.1)
        records = read()
    return records


def slow_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r.get("method") == "tools/call" and r.get("target") == "slow"]
