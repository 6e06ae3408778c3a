"""Start-up and shutdown of the gateway process: ready only when listening, SIGTERM stops it cleanly
with its upstream children, and an upstream that cannot start does not keep the others down."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request

import orjson

from bastion.testing.procs import run_gateway
from support import era_upstream


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(x) for x in out.stdout.split()]


def test_sigterm_stops_the_gateway_and_its_upstreams() -> None:
    with run_gateway({"upstreams": {"a": era_upstream("both")}}) as gw:
        assert urllib.request.urlopen(gw.base + "/readyz", timeout=5).status == 200
        kids = _children(gw.proc.pid)
        assert kids, "the upstream child should be running"
        os.kill(gw.proc.pid, signal.SIGTERM)
        assert gw.proc.wait(20) == 0
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(os.path.exists(f"/proc/{k}") for k in kids):
            time.sleep(0.1)
        assert not [k for k in kids if os.path.exists(f"/proc/{k}")]
        assert "shutting down" in gw.stderr()


def test_a_broken_upstream_does_not_block_the_others() -> None:
    config = {"upstreams": {"good": era_upstream("both"),
                            "broken": {"command": "/nonexistent/server", "connect_timeout": 2}}}
    with run_gateway(config) as gw:
        health = orjson.loads(urllib.request.urlopen(gw.base + "/healthz", timeout=5).read())
        assert health["upstreams"]["good"]["state"] == "ready"
        assert health["upstreams"]["broken"]["state"] == "down"
        assert health["upstreams"]["broken"]["error"]
        assert urllib.request.urlopen(gw.base + "/readyz", timeout=5).status == 200
