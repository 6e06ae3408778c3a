"""Start a real gateway (or any server) as a subprocess on a free loopback port, and stop it."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_LISTENING = re.compile(r"listening on http://([^:/]+):(\d+)(/\S*)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class GatewayProc:
    proc: subprocess.Popen[bytes]
    url: str
    port: int
    config_path: Path
    audit_path: Path | None
    stderr_lines: list[str] = field(default_factory=list)

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def audit_records(self) -> list[dict[str, Any]]:
        import orjson

        if self.audit_path is None or not self.audit_path.exists():
            return []
        return [orjson.loads(line) for line in self.audit_path.read_bytes().splitlines() if line.strip()]

    def stderr(self) -> str:
        return "\n".join(self.stderr_lines)


def bastion_cmd() -> list[str]:
    return [sys.executable, "-m", "bastion.cli"]


@contextlib.contextmanager
def run_gateway(
    config: dict[str, Any],
    *,
    timeout: float = 60.0,
    extra_args: Sequence[str] = (),
    env: dict[str, str] | None = None,
) -> Iterator[GatewayProc]:
    """Run ``bastion gateway`` with ``config`` (an HTTP listener on a free port is added when the
    config names none) and yield once it listens. Audit goes to a temp file unless configured."""
    with tempfile.TemporaryDirectory(prefix="bastion-gw-") as tmp:
        cfg = dict(config)
        cfg.setdefault("listen", {"http": {"host": "127.0.0.1", "port": 0}})
        audit_path: Path | None = Path(tmp) / "audit.jsonl"
        if "audit" in cfg:
            p = cfg["audit"].get("path")
            audit_path = Path(p) if p not in (None, "-") else None
        else:
            cfg["audit"] = {"path": str(audit_path)}
        cfg_path = Path(tmp) / "gateway.yaml"
        cfg_path.write_text(yaml.safe_dump(cfg))
        proc = subprocess.Popen(
            [*bastion_cmd(), "gateway", "--config", str(cfg_path), *extra_args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
        lines: list[str] = []
        found: dict[str, Any] = {}
        ready = threading.Event()

        def pump() -> None:
            assert proc.stderr is not None
            for raw in proc.stderr:
                line = raw.decode("utf-8", "replace").rstrip()
                lines.append(line)
                m = _LISTENING.search(line)
                if m and not ready.is_set():
                    found["port"], found["path"] = int(m.group(2)), m.group(3).rstrip(",")
                    ready.set()
            ready.set()

        threading.Thread(target=pump, daemon=True).start()
        ready.wait(timeout)
        if "port" not in found:
            stop_process(proc)
            raise RuntimeError("gateway did not start:\n" + "\n".join(lines[-40:]))
        gw = GatewayProc(
            proc, f"http://127.0.0.1:{found['port']}{found['path']}", found["port"], cfg_path, audit_path, lines
        )
        try:
            yield gw
        finally:
            stop_process(proc)


def stop_process(proc: subprocess.Popen[bytes], grace: float = 8.0) -> int | None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
    return proc.returncode


def wait_http(url: str, timeout: float = 30.0) -> None:
    """Wait until something answers HTTP at ``url`` (any status)."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing answered at {url}")
