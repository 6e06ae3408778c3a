"""Sandbox overhead: start-up time and per-call latency, sandboxed vs direct.

Runs the hostile fixture server (only its harmless ``whoami`` tool) three ways: directly as a
child process, under the ``none`` backend, and under ``bwrap`` (if installed). For each it
measures start-up (spawn until the ``initialize`` reply) over ``--starts`` launches and
``tools/call`` round trips over ``--calls`` calls, and prints p50/p99 in milliseconds.

    .venv/bin/python bench/sandbox.py [--starts 10] [--calls 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bastion.sandbox import Mount, SandboxConfig, launch

HOSTILE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "sandbox" / "hostile_server.py"
INIT = json.dumps({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {}}).encode() + b"\n"
CALL = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                   "params": {"name": "whoami", "arguments": {}}}).encode() + b"\n"
TIMEOUT = 30.0

Pipes = tuple[asyncio.StreamWriter, asyncio.StreamReader, Callable[[], Awaitable[object]]]


async def direct() -> Pipes:
    p = await asyncio.create_subprocess_exec(sys.executable, str(HOSTILE), stdin=asyncio.subprocess.PIPE,
                                             stdout=asyncio.subprocess.PIPE)
    assert p.stdin is not None and p.stdout is not None

    async def stop() -> object:
        assert p.stdin is not None
        p.stdin.close()
        return await p.wait()

    return p.stdin, p.stdout, stop


def sandboxed(backend: str) -> Callable[[], Awaitable[Pipes]]:
    cfg = SandboxConfig.model_validate({"backend": backend, "mounts": [Mount(source=str(HOSTILE))]})

    async def start() -> Pipes:
        proc = await launch(sys.executable, [str(HOSTILE)], cfg)
        return proc.stdin, proc.stdout, lambda: proc.terminate(grace=0.5)

    return start


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] * 1000


async def measure(start: Callable[[], Awaitable[Pipes]], starts: int, calls: int) -> dict[str, float]:
    startup: list[float] = []
    for _ in range(starts):
        t0 = time.perf_counter()
        w, r, stop = await start()
        w.write(INIT)
        await asyncio.wait_for(r.readline(), TIMEOUT)
        startup.append(time.perf_counter() - t0)
        await stop()
    w, r, stop = await start()
    w.write(INIT)
    await asyncio.wait_for(r.readline(), TIMEOUT)
    lat: list[float] = []
    for _ in range(calls):
        t0 = time.perf_counter()
        w.write(CALL)
        await asyncio.wait_for(r.readline(), TIMEOUT)
        lat.append(time.perf_counter() - t0)
    await stop()
    return {"start_p50": pct(startup, 0.5), "start_p99": pct(startup, 0.99),
            "call_p50": pct(lat, 0.5), "call_p99": pct(lat, 0.99), "call_mean": statistics.mean(lat) * 1000}


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--starts", type=int, default=10)
    ap.add_argument("--calls", type=int, default=2000)
    a = ap.parse_args()
    runs: list[tuple[str, Callable[[], Awaitable[Pipes]]]] = [("direct", direct), ("none", sandboxed("none"))]
    if shutil.which("bwrap"):
        runs.append(("bwrap", sandboxed("bwrap")))
    else:
        print("bwrap not installed: skipping the bwrap row", file=sys.stderr)
    results = {name: await measure(fn, a.starts, a.calls) for name, fn in runs}
    base = results["direct"]
    print(f"{'mode':8} {'start p50':>10} {'start p99':>10} {'call p50':>9} {'call p99':>9} "
          f"{'Δcall p50':>10} {'Δcall p99':>10}   (ms; {a.starts} starts, {a.calls} calls)")
    for name, r in results.items():
        print(f"{name:8} {r['start_p50']:10.1f} {r['start_p99']:10.1f} {r['call_p50']:9.3f} {r['call_p99']:9.3f} "
              f"{r['call_p50'] - base['call_p50']:+10.3f} {r['call_p99'] - base['call_p99']:+10.3f}")


if __name__ == "__main__":
    import logging

    logging.basicConfig(level=logging.ERROR)
    asyncio.run(main())
