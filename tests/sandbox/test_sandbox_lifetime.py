"""Lifetime queries, the Supervisor's recycling, and ``bastion run`` end to end."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sandbox_support import HOSTILE, TIMEOUT, Client, hostile_config, needs_bwrap

from bastion.sandbox import SandboxConfig, Supervisor, launch
from bastion.sandbox.command import build_config, configure

pytestmark = needs_bwrap


async def test_idle_and_expiry_queries() -> None:
    proc = await launch(sys.executable, [str(HOSTILE)], hostile_config(lifetime=60, idle_timeout=0.3))
    try:
        c = Client(proc)
        await c.request("initialize")
        assert not proc.expired() and proc.remaining() > 50 and proc.expired(margin=120)
        assert not proc.idle() and not proc.should_recycle()
        await asyncio.sleep(0.4)
        assert proc.idle() and proc.should_recycle()
        await c.call("whoami")
        assert not proc.idle()
    finally:
        await proc.terminate()
    assert proc.should_recycle()


async def test_supervisor_recycles_dead_and_ephemeral() -> None:
    cfg = hostile_config()
    sup = Supervisor(lambda: launch(sys.executable, [str(HOSTILE)], cfg))
    try:
        p1 = await sup.acquire()
        assert await sup.acquire() is p1
        await p1.terminate()
        p2 = await sup.acquire()
        assert p2 is not p1 and p2.alive() and sup.launches == 2
    finally:
        await sup.close()
    eph = Supervisor(lambda: launch(sys.executable, [str(HOSTILE)], hostile_config(ephemeral=True)))
    p = await eph.acquire()
    await eph.release(p)
    assert not p.alive() and eph.current is None


def _parse(argv: list[str]) -> SandboxConfig:
    import argparse

    parser = argparse.ArgumentParser()
    configure(parser)
    args = parser.parse_args(argv)
    cmd = [a for a in args.server_command if a != "--"]
    return build_config(args, cmd)


def test_run_options_build_config(tmp_path: Path) -> None:
    cfg = _parse(["--sandbox", "bwrap", "--network", "a.example:443", "--allow", "b.example:80",
                  "--mount", f"rw:{tmp_path}:/out", "--memory", "128M", "--pids", "16",
                  "--lifetime", "30", "--env", "A=1", "--secret", "tok=secret://env/TOK",
                  "--", sys.executable, str(HOSTILE)])
    assert cfg.backend == "bwrap" and [str(e) for e in cfg.allow_list] == ["a.example:443", "b.example:80"]
    assert cfg.mounts[0].mode == "rw" and cfg.mounts[0].target == "/out"
    assert cfg.mounts[1].source == str(HOSTILE)  # the script is mounted read-only automatically
    assert cfg.memory == "128M" and cfg.pids == 16 and cfg.lifetime == 30 and cfg.env == {"A": "1"}
    assert cfg.secrets[0].variable == "TOK_FILE"


def test_bastion_run_end_to_end() -> None:
    msgs = [{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}},
            {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
             "params": {"name": "read_file", "arguments": {"path": "/etc/shadow"}}}]
    stdin = "".join(json.dumps(m) + "\n" for m in msgs)
    out = subprocess.run(
        [sys.executable, "-m", "bastion.cli", "run", "--pids", "16", "--", sys.executable, str(HOSTILE)],
        input=stdin, capture_output=True, text=True, timeout=TIMEOUT, env=dict(os.environ),
    )
    assert out.returncode == 0, out.stderr
    replies = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["id"] for r in replies] == [1, 2]
    assert json.loads(replies[1]["result"]["content"][0]["text"])["errno"] == 2


def test_bastion_run_reports_bad_options() -> None:
    out = subprocess.run([sys.executable, "-m", "bastion.cli", "run", "--mount", "xx:/a", "--", "true"],
                         capture_output=True, text=True, timeout=TIMEOUT)
    assert out.returncode == 2 and "invalid mount" in out.stderr


def test_bastion_run_help_explains_options() -> None:
    out = subprocess.run([sys.executable, "-m", "bastion.cli", "run", "--help"],
                         capture_output=True, text=True, timeout=TIMEOUT)
    assert out.returncode == 0
    for opt in ("--sandbox", "--network", "--mount", "--memory", "--pids", "--lifetime", "--secret"):
        assert opt in out.stdout


@pytest.mark.parametrize("backend", ["none"])
async def test_none_backend_is_explicit_and_warned(backend: str, caplog: pytest.LogCaptureFixture) -> None:
    proc = await launch(sys.executable, [str(HOSTILE)], SandboxConfig(backend="none"))  # type: ignore[arg-type]
    try:
        c = Client(proc)
        await c.request("initialize")
        who = await c.call("whoami")
        assert who["home"] != "/home/mcp"
    finally:
        await proc.terminate()
    assert any("WITHOUT isolation" in r.getMessage() for r in caplog.records)
