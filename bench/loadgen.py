"""Load generator for ``bench/overhead.py``: N concurrent MCP clients calling the ``echo`` tool
on one or more targets, interleaved in short slices so that background noise hits every target
alike.

Targets (``--target NAME=SPEC``, repeatable):

- ``NAME=http://HOST:PORT/mcp``: Streamable HTTP, handshake era. Each client has its own keep-alive
  connection (aiohttp) and its own MCP session (``initialize`` → ``Mcp-Session-Id``,
  ``notifications/initialized``), kept for the whole run.
- ``NAME=stdio:COMMAND ARGS...``: the generator runs the command as a child and drives its
  stdin/stdout itself: one ``initialize``, then N callers with one request each in flight.

Schedule: every target gets ``--warmup`` seconds of unrecorded calls; then ``--rounds`` rounds, in
each of which every target (order rotated per round) gets a slice: ``--slice-warmup`` seconds
unrecorded, then ``--seconds / --rounds`` seconds recorded (calls that start after the warm-up and
end within the slice; throughput is their number over the recorded seconds). Every answer is checked (id, the text
echoed back, not an error); failures are counted.

Prints one JSON object on stdout: per target ``n``, ``seconds``, ``rps``, ``p50_ms``, ``p99_ms``,
``round_p50_ms``, ``round_rps``, ``cpu_us_per_call`` (CPU time of the target's processes, see
``--pid``, per call completed, over the recorded windows), ``errors``, ``error_samples``, and (unless ``--no-latencies``)
``lat_us``, every recorded latency in microseconds.

    .venv/bin/python bench/loadgen.py --clients 16 --seconds 4 \\
        --target direct=http://127.0.0.1:PORT/mcp \\
        --target "stdio=stdio:.venv/bin/python bench/echo_stdio.py"
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import shlex
import sys
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
import uvloop

from _procstat import stat_fields

PROTOCOL_VERSION = "2025-06-18"
INIT_PARAMS = {"protocolVersion": PROTOCOL_VERSION, "capabilities": {},
               "clientInfo": {"name": "bastion-bench-loadgen", "version": "1.0"}}
MAX_SAMPLES = 5
STDIO_LIMIT = 16 * 1024 * 1024
CALL_TIMEOUT = 60.0
TICKS = os.sysconf("SC_CLK_TCK")
ERRORS = (aiohttp.ClientError, TimeoutError, OSError, orjson.JSONDecodeError)


class BadAnswer(Exception):
    pass


@dataclass
class Stats:
    """What one target recorded; ``warm_until``/``stop_at`` bound the slice being run."""

    warm_until: float = 0.0
    stop_at: float = 0.0
    lat: list[float] = field(default_factory=list)
    calls: int = 0
    errors: int = 0
    samples: list[str] = field(default_factory=list)
    seconds: float = 0.0
    round_p50: list[float] = field(default_factory=list)
    round_rps: list[float] = field(default_factory=list)
    cpu_ticks: int = 0
    cpu_calls: int = 0

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.samples) < MAX_SAMPLES:
            self.samples.append(what[:300])

    def record(self, start: float, elapsed: float) -> None:
        """A call that completed: kept when it started after the warm-up and ended in the slice."""
        self.calls += 1
        if start >= self.warm_until and start + elapsed <= self.stop_at:
            self.lat.append(elapsed)


def call_obj(rid: int, text: str) -> bytes:
    return orjson.dumps({"jsonrpc": "2.0", "id": rid, "method": "tools/call",
                         "params": {"name": "echo", "arguments": {"text": text}}})


def check_echo(msg: Any, rid: int, text: str) -> None:
    if not isinstance(msg, dict) or msg.get("id") != rid:
        raise BadAnswer(f"wrong id in {msg!r:.200}")
    result = msg.get("result")
    if not isinstance(result, dict):
        raise BadAnswer(f"no result: {msg!r:.200}")
    content = result.get("content")
    if (result.get("isError") or not isinstance(content, list) or not content
            or not isinstance(content[0], dict) or content[0].get("text") != text):
        raise BadAnswer(f"wrong echo for {text!r}: {result!r:.200}")


def parse_reply(ctype: str, body: bytes, rid: Any) -> Any:
    """The JSON-RPC answer to ``rid`` in a JSON body or an SSE stream."""
    if not ctype.startswith("text/event-stream"):
        return orjson.loads(body)
    for event in body.replace(b"\r\n", b"\n").split(b"\n\n"):
        data = b"\n".join(line[5:].lstrip(b" ") for line in event.split(b"\n") if line.startswith(b"data:"))
        if not data.strip():
            continue
        msg = orjson.loads(data)
        if isinstance(msg, dict) and msg.get("id") == rid and ("result" in msg or "error" in msg):
            return msg
    raise BadAnswer(f"no answer to id {rid!r} in the SSE stream: {body[:200]!r}")


class Target(ABC):
    def __init__(self, name: str, clients: int) -> None:
        self.name = name
        self.clients = clients
        self.stats = Stats()
        self.pids: list[int] = []
        """Processes whose CPU time is charged to this target (``--pid``)."""

    @abstractmethod
    async def open(self) -> None: ...

    @abstractmethod
    async def run_slice(self) -> None:
        """Call until ``stats.stop_at``, recording calls started after ``stats.warm_until``."""

    @abstractmethod
    async def close(self) -> None: ...


# ---- Streamable HTTP --------------------------------------------------------------------------


class HttpClient:
    def __init__(self, url: str, index: int) -> None:
        self.url = url
        self.index = index
        self.calls = itertools.count(1)
        self.http = aiohttp.ClientSession(
            # below the servers' keep-alive (uvicorn: 5 s): the client drops an idle connection
            # first, so a call never goes out on one the server is closing between slices
            connector=aiohttp.TCPConnector(limit=1, keepalive_timeout=4),
            timeout=aiohttp.ClientTimeout(total=CALL_TIMEOUT),
            skip_auto_headers=("User-Agent", "Accept-Encoding"),
        )
        self.headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}

    async def post(self, body: bytes, rid: Any) -> tuple[int, Any]:
        async with self.http.post(self.url, data=body, headers=self.headers) as resp:
            data = await resp.read()
            if rid is None or resp.status == 202:
                return resp.status, None
            if resp.status != 200:
                raise BadAnswer(f"HTTP {resp.status}: {data[:200]!r}")
            if "Mcp-Session-Id" not in self.headers and "Mcp-Session-Id" in resp.headers:
                self.headers["Mcp-Session-Id"] = resp.headers["Mcp-Session-Id"]
            return resp.status, parse_reply(resp.headers.get("Content-Type", ""), data, rid)

    async def open(self) -> None:
        _, init = await self.post(orjson.dumps({"jsonrpc": "2.0", "id": 0, "method": "initialize",
                                                "params": INIT_PARAMS}), 0)
        if not isinstance(init, dict) or "result" not in init:
            raise BadAnswer(f"initialize failed: {init!r:.300}")
        if "Mcp-Session-Id" not in self.headers:
            raise BadAnswer("initialize answered without Mcp-Session-Id")
        self.headers["MCP-Protocol-Version"] = str(init["result"].get("protocolVersion", PROTOCOL_VERSION))
        status, _ = await self.post(b'{"jsonrpc":"2.0","method":"notifications/initialized"}', None)
        if status >= 300:
            raise BadAnswer(f"notifications/initialized answered HTTP {status}")

    async def loop(self, stats: Stats) -> None:
        perf = time.perf_counter
        post, url, headers = self.http.post, self.url, self.headers
        while True:
            start = perf()
            if start >= stats.stop_at:
                return
            i = next(self.calls)
            text = f"hello from client {self.index}, call {i}"
            try:
                async with post(url, data=call_obj(i, text), headers=headers) as resp:
                    data = await resp.read()
                    status, ctype = resp.status, resp.headers.get("Content-Type", "")
                elapsed = perf() - start
                if status != 200:
                    raise BadAnswer(f"HTTP {status}: {data[:200]!r}")
                check_echo(parse_reply(ctype, data, i), i, text)
            except (BadAnswer, *ERRORS) as exc:
                stats.error(f"client {self.index}: {type(exc).__name__}: {exc}")
                await asyncio.sleep(0.01)
                continue
            stats.record(start, elapsed)

    async def close(self) -> None:
        try:
            if "Mcp-Session-Id" in self.headers:
                async with self.http.delete(self.url, headers=self.headers) as resp:
                    await resp.read()
        except ERRORS:
            pass
        await self.http.close()


class HttpTarget(Target):
    def __init__(self, name: str, clients: int, url: str) -> None:
        super().__init__(name, clients)
        self.conns = [HttpClient(url, i) for i in range(clients)]

    async def open(self) -> None:
        await asyncio.gather(*(c.open() for c in self.conns))

    async def run_slice(self) -> None:
        await asyncio.gather(*(c.loop(self.stats) for c in self.conns))

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self.conns))


# ---- stdio ------------------------------------------------------------------------------------


class StdioTarget(Target):
    def __init__(self, name: str, clients: int, cmd: list[str]) -> None:
        super().__init__(name, clients)
        self.cmd = cmd
        self.proc: asyncio.subprocess.Process | None = None
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.ids = itertools.count(1)
        self.reader: asyncio.Task[None] | None = None

    async def _read(self, stdout: asyncio.StreamReader) -> None:
        while line := await stdout.readline():
            msg = orjson.loads(line)
            rid = msg.get("id") if isinstance(msg, dict) else None
            fut = self.pending.pop(rid, None) if isinstance(rid, int) else None
            if fut is not None and not fut.done():
                fut.set_result(msg)
        for fut in self.pending.values():
            if not fut.done():
                fut.set_exception(BadAnswer("the server closed its stdout"))

    async def request(self, body: bytes, rid: int) -> Any:
        assert self.proc is not None and self.proc.stdin is not None
        fut = asyncio.get_running_loop().create_future()
        self.pending[rid] = fut
        self.proc.stdin.write(body + b"\n")
        await self.proc.stdin.drain()
        return await asyncio.wait_for(fut, CALL_TIMEOUT)

    async def open(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(*self.cmd, stdin=asyncio.subprocess.PIPE,
                                                         stdout=asyncio.subprocess.PIPE, limit=STDIO_LIMIT)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.pids = self.pids or [self.proc.pid]
        self.reader = asyncio.create_task(self._read(self.proc.stdout))
        rid = next(self.ids)
        init = await self.request(orjson.dumps({"jsonrpc": "2.0", "id": rid, "method": "initialize",
                                                "params": INIT_PARAMS}), rid)
        if not isinstance(init, dict) or "result" not in init:
            raise BadAnswer(f"initialize failed: {init!r:.300}")
        self.proc.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')

    async def _caller(self, index: int) -> None:
        stats, perf = self.stats, time.perf_counter
        for i in itertools.count(1):
            start = perf()
            if start >= stats.stop_at:
                return
            rid = next(self.ids)
            text = f"hello from client {index}, call {i}"
            try:
                msg = await self.request(call_obj(rid, text), rid)
                elapsed = perf() - start
                check_echo(msg, rid, text)
            except (BadAnswer, TimeoutError, OSError) as exc:
                stats.error(f"caller {index}: {type(exc).__name__}: {exc}")
                await asyncio.sleep(0.01)
                continue
            stats.record(start, elapsed)

    async def run_slice(self) -> None:
        await asyncio.gather(*(self._caller(i) for i in range(self.clients)))

    async def close(self) -> None:
        if self.proc is None:
            return
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            await asyncio.wait_for(self.proc.wait(), 5)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        if self.reader is not None:
            self.reader.cancel()


# ---- main -------------------------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def make_target(spec: str, clients: int) -> Target:
    name, sep, where = spec.partition("=")
    if not sep or not name:
        raise SystemExit(f"--target wants NAME=URL or NAME=stdio:COMMAND, got {spec!r}")
    if where.startswith("stdio:"):
        return StdioTarget(name, clients, shlex.split(where[len("stdio:"):]))
    return HttpTarget(name, clients, where)


def cpu_ticks(pids: list[int]) -> int:
    """utime + stime of these processes (all their threads), in clock ticks."""
    total = 0
    for pid in pids:
        fields = stat_fields(pid)
        if fields is not None:
            total += int(fields[11]) + int(fields[12])
    return total


async def slice_of(target: Target, warmup: float, seconds: float) -> None:
    st = target.stats
    n0 = len(st.lat)
    st.warm_until = time.perf_counter() + warmup
    st.stop_at = st.warm_until + seconds
    task = asyncio.ensure_future(target.run_slice())
    if seconds > 0 and target.pids:
        await asyncio.sleep(max(0.0, st.warm_until - time.perf_counter()))
        ticks0, calls0 = cpu_ticks(target.pids), st.calls
        await asyncio.sleep(max(0.0, st.stop_at - time.perf_counter()))
        st.cpu_ticks += cpu_ticks(target.pids) - ticks0
        st.cpu_calls += st.calls - calls0
    await task
    if seconds > 0:
        st.seconds += seconds
        got = sorted(st.lat[n0:])
        st.round_p50.append(percentile(got, 0.5) * 1000)
        st.round_rps.append(len(got) / seconds)


async def amain(args: argparse.Namespace) -> dict[str, Any]:
    targets = [make_target(spec, args.clients) for spec in args.target]
    for spec in args.pid or []:
        name, _, pids = spec.partition("=")
        for t in targets:
            if t.name == name:
                t.pids = [int(p) for p in pids.split(",") if p]
    fatal: dict[str, str] = {}
    opened: list[Target] = []
    try:
        for t in targets:
            try:
                await t.open()
                opened.append(t)
            except (BadAnswer, *ERRORS) as exc:
                fatal[t.name] = f"could not open a session: {type(exc).__name__}: {exc}"
                await t.close()
        for t in opened:  # warm-up, unrecorded
            await slice_of(t, args.warmup, 0.0)
        per_round = args.seconds / args.rounds
        for r in range(args.rounds):
            for i in range(len(opened)):
                await slice_of(opened[(i + r) % len(opened)], args.slice_warmup, per_round)
    finally:
        await asyncio.gather(*(t.close() for t in opened), return_exceptions=True)
    out: dict[str, Any] = {"clients": args.clients, "targets": {}}
    for t in targets:
        st = t.stats
        lat = sorted(st.lat)
        errs = st.errors + (1 if t.name in fatal else 0)
        out["targets"][t.name] = {
            "n": len(lat),
            "calls": st.calls,
            "seconds": st.seconds,
            "rps": len(lat) / st.seconds if st.seconds else 0.0,
            "p50_ms": percentile(lat, 0.5) * 1000,
            "p99_ms": percentile(lat, 0.99) * 1000,
            "round_p50_ms": st.round_p50,
            "round_rps": st.round_rps,
            "cpu_us_per_call": (st.cpu_ticks / TICKS * 1e6 / st.cpu_calls) if st.cpu_calls else None,
            "errors": errs,
            "error_samples": ([fatal[t.name]] if t.name in fatal else []) + st.samples,
            "lat_us": [round(x * 1e6) for x in st.lat],
        }
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target", action="append", required=True, help="NAME=URL or NAME=stdio:COMMAND ARGS")
    ap.add_argument("--pid", action="append", help="NAME=PID[,PID]: charge these processes' CPU time to a target "
                    "(cpu_us_per_call); a stdio target's child is charged by default")
    ap.add_argument("--clients", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=4.0, help="recorded seconds per target, over all rounds")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--warmup", type=float, default=1.0, help="unrecorded seconds per target, once")
    ap.add_argument("--slice-warmup", type=float, default=0.1, help="unrecorded seconds before each slice")
    ap.add_argument("--no-latencies", action="store_true", help="leave lat_us out of the output")
    args = ap.parse_args()
    out = uvloop.run(amain(args))
    if args.no_latencies:
        for t in out["targets"].values():
            del t["lat_us"]
    # os.write until all of it is out: a buffered write of several megabytes to a pipe was seen to
    # return early (a signal from an exiting child) and the caller got truncated JSON
    sys.stdout.flush()
    view = memoryview(orjson.dumps(out) + b"\n")
    while view:
        view = view[os.write(sys.stdout.fileno(), view):]
    return 1 if any(t["errors"] for t in out["targets"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
