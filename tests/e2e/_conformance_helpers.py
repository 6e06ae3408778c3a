"""Helpers of the conformance end-to-end test: run the official MCP conformance suite's *server*
scenarios against a URL and read the per-scenario ``checks.json`` files it writes with ``-o DIR``.

Two pinned suite packages live in ``node/node_modules``: ``@modelcontextprotocol/conformance`` 0.1.16
(handshake era only; it drives servers with the v1 TypeScript SDK) and, under the npm alias
``conformance-next``, 0.2.0-alpha.11, which also tests the 2026-07-28 stateless wire.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bastion.testing.procs import free_port, stop_process, wait_http
from support import FIXTURES, NODE22, NODE_DIR, node22_problem

CONFORMANCE_SERVER = FIXTURES / "servers" / "conformance_server.py"
SUITE_TIMEOUT = 600.0
"""Bound of one whole suite run (a run takes seconds; scenarios have their own timeouts inside)."""

_SCENARIO_DIR = re.compile(r"^server-(?P<name>.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$")


@dataclass(frozen=True)
class SuiteRun:
    """One way of running the suite: which package, at which protocol version."""

    label: str
    """The protocol version the run tests, as printed in the summary."""
    package: Path
    """The package directory (holds ``package.json`` and ``dist/index.js``)."""
    args: tuple[str, ...]

    @property
    def version(self) -> str:
        try:
            return str(json.loads((self.package / "package.json").read_text())["version"])
        except (OSError, ValueError, KeyError):
            return "?"

    @property
    def entry(self) -> Path:
        return self.package / "dist" / "index.js"

    def __str__(self) -> str:
        return f"{self.label} (conformance {self.version})"


STABLE = NODE_DIR / "@modelcontextprotocol" / "conformance"
NEXT = NODE_DIR / "conformance-next"
SUITE_RUNS = (
    # 0.1.16 only knows the handshake era; `--suite all` adds the pending scenarios to the active 30.
    SuiteRun("2025-11-25", STABLE, ("--suite", "all")),
    # 0.2.0-alpha: the handshake era again (with newer scenario code), then the 2026-07-28 wire.
    SuiteRun("2025-11-25", NEXT, ("--suite", "all", "--spec-version", "2025-11-25")),
    SuiteRun("2026-07-28", NEXT, ("--suite", "all", "--spec-version", "2026-07-28")),
)


def node_problem() -> str | None:
    """Why the suite cannot run here, or None when it can."""
    return node22_problem()


def package_problem(run: SuiteRun) -> str | None:
    if not run.entry.exists():
        return f"{run.entry} missing (install the pinned node packages: cd node && npm ci)"
    return None


@dataclass
class Scenario:
    name: str
    checks: list[dict[str, Any]]

    def with_status(self, status: str) -> list[dict[str, Any]]:
        return [c for c in self.checks if c.get("status") == status]

    @property
    def passed(self) -> bool:
        """The suite's own verdict: a scenario passes when none of its checks is a FAILURE."""
        return not self.with_status("FAILURE")

    def failures(self) -> str:
        return "; ".join(
            f"{c.get('id')}: {c.get('errorMessage') or c.get('description')}" for c in self.with_status("FAILURE")
        )


@dataclass
class Result:
    """The scenarios of one suite run against one URL."""

    where: str
    scenarios: dict[str, Scenario] = field(default_factory=dict)
    returncode: int | None = None
    output: str = ""

    @property
    def passed(self) -> list[str]:
        return sorted(n for n, s in self.scenarios.items() if s.passed)

    @property
    def failed(self) -> list[str]:
        return sorted(n for n, s in self.scenarios.items() if not s.passed)

    def counts(self) -> str:
        return f"{len(self.passed)} passed, {len(self.failed)} failed"

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.output.splitlines()[-lines:])

    def summary(self) -> str:
        """The suite's failing summary lines and whatever was appended after them (gateway stderr)."""
        text = self.output.split("=== SUMMARY ===", 1)[-1]
        return "\n".join(line for line in text.splitlines() if line.strip() and not line.startswith("✓"))


def run_suite(run: SuiteRun, url: str, out_dir: Path, where: str) -> Result:
    """Run every server scenario of ``run`` against ``url``; results come from ``out_dir``'s files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    argv = [str(NODE22), str(run.entry), "server", "--url", url, *run.args, "-o", str(out_dir)]
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "0"},
    )
    try:
        output, _ = proc.communicate(timeout=SUITE_TIMEOUT)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate(timeout=30)
        output += f"\n[suite killed after {SUITE_TIMEOUT:g}s]".encode()
    result = Result(where, returncode=proc.returncode, output=output.decode("utf-8", "replace"))
    for checks_file in sorted(out_dir.glob("*/checks.json")):
        m = _SCENARIO_DIR.match(checks_file.parent.name)
        if m is None:
            continue
        try:
            checks = json.loads(checks_file.read_text())
        except (OSError, ValueError) as exc:
            checks = [{"id": "checks.json", "status": "FAILURE", "errorMessage": f"unreadable: {exc}"}]
        result.scenarios[m["name"]] = Scenario(m["name"], checks if isinstance(checks, list) else [])
    return result


def regressions(direct: Result, via: Result) -> list[str]:
    """Scenarios that pass direct but not through the gateway (missing ones count as failed)."""
    lines = []
    for name in direct.passed:
        got = via.scenarios.get(name)
        if got is None:
            lines.append(f"{via.where}: {name}: no result (scenario did not run or wrote no checks.json)")
        elif not got.passed:
            lines.append(f"{via.where}: {name}: {got.failures()}")
    return lines


def degradations(direct: Result, via: Result) -> list[str]:
    """Checks of passing scenarios that succeed direct but only warn, or are not exercised at all,
    through the gateway (SHOULD-level or optional behaviour: reported, not failed)."""
    lines = []
    for name in direct.passed:
        got = via.scenarios.get(name)
        if got is None or not got.passed:
            continue
        ok_direct = {str(c.get("id")) for c in direct.scenarios[name].with_status("SUCCESS")}
        warned = {str(c.get("id")): c for c in got.with_status("WARNING")}
        seen = {str(c.get("id")) for c in got.checks}
        for check_id in sorted(ok_direct):
            if check_id in warned:
                lines.append(f"{via.where}: {name}: {check_id} warns: {warned[check_id].get('errorMessage')}")
            elif check_id not in seen:
                lines.append(f"{via.where}: {name}: {check_id} not exercised")
    return lines


@contextlib.contextmanager
def conformance_server_http(log_path: Path) -> Iterator[str]:
    """Our conformance fixture over Streamable HTTP on a free loopback port; yields its /mcp URL."""
    port = free_port()
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, str(CONFORMANCE_SERVER), "--http", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_http(f"http://127.0.0.1:{port}/mcp", timeout=30)
            if proc.poll() is not None:
                raise RuntimeError(f"conformance server exited early:\n{log_path.read_text()}")
            yield f"http://127.0.0.1:{port}/mcp"
        finally:
            stop_process(proc)


def stdio_upstream() -> dict[str, Any]:
    """Gateway upstream config of our conformance fixture as a stdio child."""
    return {"command": sys.executable, "args": [str(CONFORMANCE_SERVER)]}
