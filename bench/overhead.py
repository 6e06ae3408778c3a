"""Gateway overhead: latency and throughput of an ``echo`` tool call through mcp-bastion, compared in
the same run with a direct connection, a bare forwarding hop and FastMCP's proxy.

Streamable HTTP upstream (``bench/echo_server.py``, raw ASGI under uvicorn), targets:
  direct   the echo server itself
  hop      ``bench/hop.py``: ASGI + pooled aiohttp, forwards bodies, no MCP logic
  gateway  ``bastion gateway`` in front of the echo server, default guards, audit on
  fastmcp  FastMCP's proxy (``create_proxy``) in front of the echo server
stdio upstream (``bench/echo_stdio.py``), targets:
  direct        the load generator drives the child's stdin/stdout itself
  hop           ``bench/stdio_hop.py``: one Python process copying bytes between client and child
  wrap          ``bastion wrap`` around the child (stdio in, stdio out), sandbox backend ``none``
  wrap-bwrap    the same with the default sandbox (bubblewrap)
  gateway       ``bastion gateway`` (HTTP listener) with that stdio upstream, sandbox backend ``none``
  gateway-bwrap the same with the default sandbox

For 1 and 16 concurrent clients (each its own session and keep-alive connection), the load
generator (``bench/loadgen.py``, its own process) interleaves the targets in short slices, so noise
from other processes on the machine hits them alike; FastMCP's proxy, two orders of magnitude
slower, is measured on its own after the others (one 3 s+ slice). Every answer is checked.
"CPU µs/call" is the CPU time of the target's own process (the echo server for ``direct``, the hop,
the gateway, FastMCP's proxy; the stdio child for stdio ``direct``) per completed call: unlike
latency it hardly depends on what else runs on the machine. The machine's CPU time
spent outside the benchmark's processes is reported as "foreign CPU": when it is high, the numbers
are noisy.

Budgets (issue): added p50 ≤ 0.5 ms at 1 client; throughput ≥ 0.5× direct at 16 clients; ≥ 3×
FastMCP proxy's throughput. DESIGN.md's aim: p50 within 0.1 ms of the hop's, throughput ≥ 0.9× the
hop's. Latency budgets are judged at 1 client, throughput budgets at 16. For the stdio upstream
they are judged on ``wrap``: the client reaches the server over stdio with or without the gateway,
so the ratio is the gateway's own cost. The stdio ``hop`` (bytes copied, nothing parsed) shows what
a Python process in that place costs before it reads a single message (a reference row: DESIGN.md's
hop aim is for the HTTP hop). The HTTP listener in front of a stdio server gets ratios
only: its "direct" would be a pipe, and the ratio would weigh HTTP against a pipe. A miss is
reported, not fatal; the exit status is 1 only when a target fails (wrong or missing answers, no
start).

    .venv/bin/python bench/overhead.py [--seconds 8] [--quick] [--json OUT]
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import platform
import selectors
import shlex
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from _procstat import stat_fields
from bastion.testing.procs import bastion_cmd, run_gateway, stop_process

BENCH = Path(__file__).resolve().parent
PY = sys.executable
CONCURRENCY = (1, 16)
PROTOCOL_VERSION = "2025-06-18"


class BenchError(Exception):
    pass


# ---- processes --------------------------------------------------------------------------------


@dataclass
class Served:
    url: str
    pid: int


@contextlib.contextmanager
def bench_server(script: str, args: list[str], logdir: Path, timeout: float = 60.0) -> Iterator[Served]:
    """Run ``bench/<script>``, wait for its ``listening URL`` line, yield its URL and pid."""
    log_path = logdir / f"{Path(script).stem}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([PY, str(BENCH / script), *args], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=log, start_new_session=True)
    try:
        assert proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        buf = b""
        url = None
        deadline = time.monotonic() + timeout
        while url is None and time.monotonic() < deadline:
            if sel.select(deadline - time.monotonic()):
                chunk = os.read(proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                buf += chunk
                url = next((ln.split()[1].decode() for ln in buf.splitlines(keepends=True)
                            if ln.startswith(b"listening ") and ln.endswith(b"\n")), None)
        sel.close()
        if url is None:
            raise BenchError(f"{script} did not start:\n{log_path.read_text(errors='replace')[-2000:]}")
        yield Served(url, proc.pid)
    finally:
        stop_process(proc, grace=3)


def _post(url: str, obj: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict[str, str], Any]:
    req = urllib.request.Request(url, data=orjson.dumps(obj), method="POST", headers={
        "Content-Type": "application/json", "Accept": "application/json, text/event-stream", **headers})
    with urllib.request.urlopen(req, timeout=30) as resp:
        body = resp.read()
        hdrs = {k.lower(): v for k, v in resp.headers.items()}
        if resp.status == 202 or not body:
            return resp.status, hdrs, None
        if hdrs.get("content-type", "").startswith("text/event-stream"):
            datas = [ln[5:].strip() for ln in body.splitlines() if ln.startswith(b"data:")]
            msgs = [orjson.loads(d) for d in datas if d]
            answers = [m for m in msgs if isinstance(m, dict) and m.get("id") == obj.get("id")]
            return resp.status, hdrs, answers[-1] if answers else None
        return resp.status, hdrs, orjson.loads(body)


def check_target(url: str, timeout: float = 60.0) -> None:
    """Wait until ``url`` answers a whole session (initialize, initialized, tools/call echo) right."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            _, hdrs, init = _post(url, {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": PROTOCOL_VERSION, "capabilities": {},
                "clientInfo": {"name": "bench-check", "version": "1"}}}, {})
            sid = hdrs.get("mcp-session-id")
            if not sid or not isinstance(init, dict) or "result" not in init:
                raise BenchError(f"initialize: {init!r:.300} (session {sid!r})")
            h = {"Mcp-Session-Id": sid, "MCP-Protocol-Version": init["result"].get("protocolVersion", "")}
            _post(url, {"jsonrpc": "2.0", "method": "notifications/initialized"}, h)
            _, _, ans = _post(url, {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                    "params": {"name": "echo", "arguments": {"text": "ready?"}}}, h)
            content = ((ans or {}).get("result") or {}).get("content") or [{}]
            if content[0].get("text") != "ready?":
                raise BenchError(f"tools/call echo answered {ans!r:.300}")
            with contextlib.suppress(OSError):
                urllib.request.urlopen(urllib.request.Request(url, method="DELETE", headers=h), timeout=10).close()
            return
        except BenchError:
            raise
        except (OSError, ValueError) as exc:  # not up yet (connection refused, 503, ...)
            last = f"{type(exc).__name__}: {exc}"
            time.sleep(0.2)
    raise BenchError(f"{url} did not answer: {last}")


# ---- CPU accounting ---------------------------------------------------------------------------


def _proc_table() -> dict[int, tuple[int, int]]:
    """pid → (ppid, utime+stime+cutime+cstime in clock ticks)."""
    out: dict[int, tuple[int, int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = stat_fields(entry)
        if fields is not None:
            out[int(entry)] = (int(fields[1]), sum(int(x) for x in fields[11:15]))
    return out


def _own_ticks() -> int:
    table = _proc_table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0, [os.getpid()]
    while todo:
        pid = todo.pop()
        total += table.get(pid, (0, 0))[1]
        todo += children.get(pid, [])
    return total


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of all CPUs since boot."""
    with open("/proc/stat") as f:
        vals = [int(x) for x in f.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = vals
    return user + nice + system + irq + softirq + steal, sum(vals)


@dataclass
class CpuMeter:
    """Share of the machine's CPU used by processes outside this benchmark during a window."""

    foreign: list[float] = field(default_factory=list)

    @contextlib.contextmanager
    def window(self) -> Iterator[None]:
        own0, (busy0, total0) = _own_ticks(), _machine_ticks()
        yield
        own1, (busy1, total1) = _own_ticks(), _machine_ticks()
        if total1 > total0:
            self.foreign.append(max(0.0, ((busy1 - busy0) - (own1 - own0)) / (total1 - total0)))


# ---- measurement ------------------------------------------------------------------------------


@dataclass
class Cell:
    transport: str
    target: str
    clients: int
    n: int
    seconds: float
    p50_ms: float
    p99_ms: float
    rps: float
    round_p50_ms: list[float | None]
    cpu_us_per_call: float | None
    errors: int
    error_samples: list[str]


def pct(sorted_us: list[int], q: float) -> float:
    if not sorted_us:
        return math.nan
    return sorted_us[min(len(sorted_us) - 1, int(q * len(sorted_us)))] / 1000


def measure(transport: str, targets: dict[str, tuple[str, int | None]], clients: int, opts: argparse.Namespace,
            cpu: CpuMeter, seconds: float | None = None, rounds: int | None = None) -> list[Cell]:
    """Run the load generator over ``targets`` (name → (URL or ``stdio:CMD``, pid to charge CPU to))."""
    secs = seconds if seconds is not None else opts.seconds
    nrounds = rounds if rounds is not None else opts.rounds
    cmd = [PY, str(BENCH / "loadgen.py"), "--clients", str(clients), "--seconds", str(secs),
           "--rounds", str(nrounds), "--warmup", str(opts.warmup), "--slice-warmup", str(opts.slice_warmup)]
    for name, (spec, pid) in targets.items():
        cmd += ["--target", f"{name}={spec}"]
        if pid is not None:
            cmd += ["--pid", f"{name}={pid}"]
    budget = len(targets) * (opts.warmup + secs + nrounds * opts.slice_warmup) + 120
    with cpu.window():
        done = subprocess.run(cmd, capture_output=True, timeout=budget, check=False)
    try:
        out = orjson.loads(done.stdout)
    except orjson.JSONDecodeError as exc:
        saved = Path(tempfile.gettempdir()) / "bastion-loadgen-output.json"
        saved.write_bytes(done.stdout)
        raise BenchError(f"loadgen failed (exit {done.returncode}): {exc} (its output: {saved})\n"
                         f"{done.stdout[:300]!r}\n{done.stderr.decode(errors='replace')[-3000:]}"
                         ) from None
    cells = []
    for name, r in out["targets"].items():
        lat = sorted(r["lat_us"])
        cells.append(Cell(transport, name, clients, r["n"], r["seconds"], pct(lat, 0.5), pct(lat, 0.99),
                          r["rps"], r["round_p50_ms"], r["cpu_us_per_call"], r["errors"], r["error_samples"]))
    return cells


def http_phase(opts: argparse.Namespace, tmp: Path, cpu: CpuMeter, log: Any) -> list[Cell]:
    cells: list[Cell] = []
    with contextlib.ExitStack() as stack:
        direct = stack.enter_context(bench_server("echo_server.py", [], tmp))
        hop = stack.enter_context(bench_server("hop.py", ["--upstream", direct.url], tmp))
        gw = stack.enter_context(run_gateway({"upstreams": {"echo": {"url": direct.url}},
                                              "audit": {"path": str(tmp / "audit-http.jsonl")}}))
        fastmcp = stack.enter_context(bench_server("fastmcp_proxy.py", ["--upstream", direct.url], tmp))
        targets: dict[str, tuple[str, int | None]] = {
            "direct": (direct.url, direct.pid), "hop": (hop.url, hop.pid), "gateway": (gw.url, gw.proc.pid)}
        if opts.variants:
            no_audit = stack.enter_context(run_gateway({"upstreams": {"echo": {"url": direct.url}},
                                                        "audit": {"path": None}}))
            bare = stack.enter_context(run_gateway({"upstreams": {"echo": {"url": direct.url}},
                                                    "audit": {"path": None}, "guards": []}))
            targets["gw-no-audit"] = (no_audit.url, no_audit.proc.pid)
            targets["gw-bare"] = (bare.url, bare.proc.pid)
        for url, _ in [*targets.values(), (fastmcp.url, None)]:
            check_target(url)
        log(f"  servers up: direct {direct.url}, hop {hop.url}, gateway {gw.url}, fastmcp {fastmcp.url}")
        for clients in CONCURRENCY:
            log(f"  {clients} client(s): {', '.join(targets)} interleaved ...")
            cells += measure("http", targets, clients, opts, cpu)
            log(f"  {clients} client(s): fastmcp proxy ...")
            cells += measure("http", {"fastmcp": (fastmcp.url, fastmcp.pid)}, clients, opts, cpu,
                             seconds=max(2.0 if opts.quick else 3.0, opts.seconds / 2), rounds=1)
    return cells


def stdio_phase(opts: argparse.Namespace, tmp: Path, cpu: CpuMeter, log: Any) -> list[Cell]:
    server = [PY, str(BENCH / "echo_stdio.py")]
    up: dict[str, Any] = {"command": PY, "args": server[1:]}
    cells: list[Cell] = []
    with contextlib.ExitStack() as stack:
        gw_none = stack.enter_context(run_gateway({
            "upstreams": {"echo": {**up, "sandbox": {"backend": "none"}}},
            "audit": {"path": str(tmp / "audit-stdio-none.jsonl")}}))
        gw_bwrap = stack.enter_context(run_gateway({
            "upstreams": {"echo": {**up, "sandbox": {}}},
            "audit": {"path": str(tmp / "audit-stdio-bwrap.jsonl")}}))
        for url in (gw_none.url, gw_bwrap.url):
            check_target(url)
        log(f"  gateways up: sandbox none {gw_none.url}, bwrap {gw_bwrap.url}")
        wrap_cfg = {}
        for name, sandbox in (("wrap", {"backend": "none"}), ("wrap-bwrap", {})):
            wrap_cfg[name] = tmp / f"{name}.yaml"
            wrap_cfg[name].write_bytes(orjson.dumps({"sandbox": sandbox,
                                                     "audit": {"path": str(tmp / f"audit-{name}.jsonl")}}))
        wrap = [*bastion_cmd(), "wrap", "--log-level", "error", "--config"]
        targets: dict[str, tuple[str, int | None]] = {
            "direct": ("stdio:" + shlex.join(server), None),
            "hop": ("stdio:" + shlex.join([PY, str(BENCH / "stdio_hop.py"), "--", *server]), None),
            "wrap": ("stdio:" + shlex.join([*wrap, str(wrap_cfg["wrap"]), "--", *server]), None),
            "wrap-bwrap": ("stdio:" + shlex.join([*wrap, str(wrap_cfg["wrap-bwrap"]), "--", *server]), None),
            "gateway": (gw_none.url, gw_none.proc.pid),
            "gateway-bwrap": (gw_bwrap.url, gw_bwrap.proc.pid),
        }
        for clients in CONCURRENCY:
            log(f"  {clients} client(s): {', '.join(targets)} interleaved ...")
            cells += measure("stdio", targets, clients, opts, cpu)
    return cells


# ---- report -----------------------------------------------------------------------------------


@dataclass
class Verdict:
    label: str
    value: float
    unit: str
    op: str
    limit: float
    source: str

    @property
    def ok(self) -> bool:
        if math.isnan(self.value):
            return False
        return self.value <= self.limit if self.op == "≤" else self.value >= self.limit

    def text(self) -> str:
        shown = f"{self.value:+.3f} ms" if self.unit == "ms" else f"{self.value:.2f}×"
        lim = f"{self.limit:.2f} ms" if self.unit == "ms" else f"{self.limit:g}×"
        return f"  {self.label:<46} {shown:>11}   {self.op} {lim:<8} {self.source:<10} {'PASS' if self.ok else 'MISS'}"


def _cell(cells: list[Cell], transport: str, target: str, clients: int) -> Cell | None:
    return next((c for c in cells if (c.transport, c.target, c.clients) == (transport, target, clients)), None)


def report(cells: list[Cell], cpu: CpuMeter, elapsed: float) -> tuple[list[str], list[Verdict]]:
    lines: list[str] = []
    verdicts: list[Verdict] = []
    sections = [("http", "Streamable HTTP upstream", ["direct", "hop", "gateway", "gw-no-audit", "gw-bare", "fastmcp"]),
                ("stdio", "stdio upstream", ["direct", "hop", "wrap", "wrap-bwrap", "gateway", "gateway-bwrap"])]
    for transport, title, names in sections:
        if not any(c.transport == transport for c in cells):
            continue
        lines += ["", f"{title}", f"  {'clients':>7}  {'target':<14} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>9} "
                  f"{'p50 range over rounds':>22} {'CPU µs/call':>11} {'calls':>7} {'errors':>6}"]
        for clients in CONCURRENCY:
            for name in names:
                c = _cell(cells, transport, name, clients)
                if c is None:
                    continue
                rng = [x for x in c.round_p50_ms if x is not None and not math.isnan(x)]
                spread = f"{min(rng):.3f}–{max(rng):.3f}" if rng else "-"
                cpu_call = f"{c.cpu_us_per_call:.0f}" if c.cpu_us_per_call is not None else "-"
                lines.append(f"  {clients:>7}  {name:<14} {c.p50_ms:>8.3f} {c.p99_ms:>8.3f} {c.rps:>9.0f} "
                             f"{spread:>22} {cpu_call:>11} {c.n:>7} {c.errors:>6}")
        gateways = [n for n in names if n != "direct" and n != "hop" and n != "fastmcp"
                    and any(c.target == n for c in cells)]
        for gname in gateways:
            lines.append(f"  ratios for {gname}:")
            for clients in CONCURRENCY:
                g = _cell(cells, transport, gname, clients)
                if g is None:
                    continue
                parts = []
                for other in ("direct", "hop"):
                    o = _cell(cells, transport, other, clients)
                    if o is not None:
                        parts.append(f"p50 − {other} {g.p50_ms - o.p50_ms:+.3f} ms")
                for other in ("direct", "hop", "fastmcp"):
                    o = _cell(cells, transport, other, clients)
                    if o is not None and o.rps > 0:
                        parts.append(f"req/s ÷ {other} {g.rps / o.rps:.2f}×")
                lines.append(f"    {clients:>2} client(s): " + ", ".join(parts))
            if gname.startswith("gw-") or (transport == "stdio" and gname.startswith("gateway")):
                # diagnostic variants, and the HTTP listener in front of a stdio server (its "direct"
                # would be a pipe: the ratio measures HTTP against a pipe, not the gateway): ratios only
                continue
            tag = "HTTP" if transport == "http" else f"stdio {gname}"

            def add(label: str, value: float, unit: str, op: str, limit: float, source: str, tag: str = tag) -> None:
                verdicts.append(Verdict(f"{tag}: {label}", value, unit, op, limit, source))

            g1, g16 = _cell(cells, transport, gname, 1), _cell(cells, transport, gname, 16)
            d1, d16 = _cell(cells, transport, "direct", 1), _cell(cells, transport, "direct", 16)
            h1, h16 = _cell(cells, transport, "hop", 1), _cell(cells, transport, "hop", 16)
            f16 = _cell(cells, transport, "fastmcp", 16)
            if g1 and d1:
                add("added p50 vs direct, 1 client", g1.p50_ms - d1.p50_ms, "ms", "≤", 0.5, "issue")
            if g16 and d16 and d16.rps > 0:
                add("req/s vs direct, 16 clients", g16.rps / d16.rps, "x", "≥", 0.5, "issue")
            if g16 and f16 and f16.rps > 0:
                add("req/s vs FastMCP proxy, 16 clients", g16.rps / f16.rps, "x", "≥", 3.0, "issue")
            if transport != "http":
                continue  # DESIGN.md's hop aim is for the HTTP hop; the stdio hop is a reference row
            if g1 and h1:
                add("p50 vs bare hop, 1 client", g1.p50_ms - h1.p50_ms, "ms", "≤", 0.1, "DESIGN.md")
            if g16 and h16 and h16.rps > 0:
                add("req/s vs bare hop, 16 clients", g16.rps / h16.rps, "x", "≥", 0.9, "DESIGN.md")
    lines += ["", "Budgets (latency judged at 1 client, throughput at 16 clients; same-run ratios)"]
    lines += [v.text() for v in verdicts]
    if cpu.foreign:
        worst = max(cpu.foreign)
        lines += ["", f"foreign CPU (other processes on the machine) during the measurements: "
                      f"mean {100 * sum(cpu.foreign) / len(cpu.foreign):.0f}%, worst {100 * worst:.0f}% of "
                      f"{os.cpu_count()} cores" + ("  <- noisy: numbers are less reliable" if worst > 0.15 else "")]
    errors = sum(c.errors for c in cells)
    lines.append(f"errors: {errors}   total time {elapsed:.0f} s")
    return lines, verdicts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=None,
                    help="recorded seconds per target and concurrency (default 8; 1.2 with --quick)")
    ap.add_argument("--quick", action="store_true", help="a ~30 s run")
    ap.add_argument("--json", type=Path, help="write the results as JSON here")
    ap.add_argument("--only", choices=("http", "stdio"), help="run one upstream transport only")
    ap.add_argument("--variants", action="store_true",
                    help="also measure the HTTP gateway without audit (gw-no-audit) and without audit or guards "
                         "(gw-bare), to locate its costs")
    opts = ap.parse_args()
    if opts.seconds is None:
        opts.seconds = 1.2 if opts.quick else 8.0
    slice_len = 0.4 if opts.quick else 1.0
    opts.rounds = max(1, round(opts.seconds / slice_len))
    opts.warmup = 0.3 if opts.quick else 1.0
    opts.slice_warmup = 0.05 if opts.quick else 0.1

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    started = time.monotonic()
    cpu = CpuMeter()
    cells: list[Cell] = []
    failure: str | None = None
    log(f"mcp-bastion overhead bench: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{opts.seconds:g} s per target and concurrency in {opts.rounds} interleaved rounds")
    with tempfile.TemporaryDirectory(prefix="bastion-bench-") as tmp_name:
        tmp = Path(tmp_name)
        try:
            if opts.only in (None, "http"):
                log("Streamable HTTP upstream")
                cells += http_phase(opts, tmp, cpu, log)
            if opts.only in (None, "stdio"):
                log("stdio upstream")
                cells += stdio_phase(opts, tmp, cpu, log)
        except (BenchError, RuntimeError, subprocess.TimeoutExpired) as exc:
            failure = f"{type(exc).__name__}: {exc}"
    elapsed = time.monotonic() - started
    lines, verdicts = report(cells, cpu, elapsed)
    print("\n".join(lines))
    bad = [c for c in cells if c.errors]
    for c in cells:
        if c.n == 0 and not c.errors:
            print(f"WARNING {c.transport}/{c.target}/{c.clients}: no call completed within the recorded windows")
    for c in bad:
        print(f"FAILED {c.transport}/{c.target}/{c.clients}: {c.errors} errors, {c.n} calls: "
              f"{'; '.join(c.error_samples[:3])}")
    if failure:
        print(f"FAILED: {failure}")
    if opts.json:
        opts.json.write_bytes(orjson.dumps({
            "cores": os.cpu_count(), "python": platform.python_version(), "seconds": opts.seconds,
            "rounds": opts.rounds, "elapsed_s": elapsed, "foreign_cpu": cpu.foreign,
            "cells": [c.__dict__ for c in cells],
            "budgets": [{"label": v.label, "value": v.value, "op": v.op, "limit": v.limit, "source": v.source,
                         "pass": v.ok} for v in verdicts],
            "failure": failure,
        }, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY))
    return 1 if (bad or failure) else 0


if __name__ == "__main__":
    sys.exit(main())
