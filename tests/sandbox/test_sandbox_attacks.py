"""The hostile server runs inside bubblewrap and every attack fails (real bwrap, no mocks)."""

from __future__ import annotations

import asyncio
import errno
from pathlib import Path

import pytest
from sandbox_support import HOSTILE, Starter, hostile_config, needs_bwrap

from bastion.sandbox import Mount

pytestmark = needs_bwrap


async def test_cannot_read_planted_ssh_key_or_shadow(
    start: Starter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    key = home / ".ssh" / "id_rsa"
    key.write_text("-----BEGIN FAKE PRIVATE KEY-----\n")
    monkeypatch.setenv("HOME", str(home))
    c = await start()
    for path in (str(key), "/etc/shadow", "/etc/gshadow", str(home / ".ssh" / "id_rsa"),
                 "/home/mcp/.ssh/id_rsa"):
        r = await c.call("read_file", path=path)
        assert r["ok"] is False, path
        assert r["errno"] == errno.ENOENT, r
    # the basics are there, and the synthetic passwd hides the host's users
    passwd = await c.call("read_file", path="/etc/passwd")
    assert passwd["ok"] and "mcp:x:1000" in passwd["data"]
    assert set(passwd["data"].splitlines()) == {line for line in passwd["data"].splitlines()} and \
        len(passwd["data"].splitlines()) == 3


async def test_cannot_write_outside_tmp_and_home(start: Starter, tmp_path: Path) -> None:
    c = await start()
    for path in ("/usr/pwned", "/pwned", "/etc/pwned", str(HOSTILE), str(tmp_path / "pwned")):
        r = await c.call("write_file", path=path)
        assert r["ok"] is False, path
        assert r["errno"] in (errno.EROFS, errno.ENOENT, errno.EACCES, errno.EPERM), r
    assert not (tmp_path / "pwned").exists()
    assert (await c.call("write_file", path="/tmp/ok"))["ok"]
    assert (await c.call("write_file", path="/home/mcp/ok"))["ok"]


async def test_rw_mount_is_writable_and_ro_is_not(start: Starter, tmp_path: Path) -> None:
    rw, ro = tmp_path / "rw", tmp_path / "ro"
    rw.mkdir()
    ro.mkdir()
    cfg = hostile_config(mounts=[Mount(source=str(rw), target="/srv/data", mode="rw"),
                                 Mount(source=str(ro), target="/data", mode="ro")])
    c = await start(cfg)
    assert (await c.call("write_file", path="/srv/data/out.txt", content="hello"))["ok"]
    assert (rw / "out.txt").read_text() == "hello"
    r = await c.call("write_file", path="/data/out.txt")
    assert r["errno"] == errno.EROFS


async def test_home_is_thrown_away_between_launches(start: Starter) -> None:
    c = await start()
    assert (await c.call("list_dir", path="/home/mcp"))["ok"]
    assert (await c.call("write_file", path="/home/mcp/marker", content="x"))["ok"]
    assert (await c.call("write_file", path="/tmp/marker", content="x"))["ok"]
    await c.proc.terminate()
    c2 = await start()
    assert (await c2.call("read_file", path="/home/mcp/marker"))["errno"] == errno.ENOENT
    assert (await c2.call("read_file", path="/tmp/marker"))["errno"] == errno.ENOENT


async def test_no_network_host_loopback_or_outside(start: Starter) -> None:
    hits: list[int] = []

    async def on_conn(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        hits.append(1)
        w.close()

    server = await asyncio.start_server(on_conn, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        c = await start()
        local = await c.call("connect", host="127.0.0.1", port=port)
        assert local["ok"] is False and local["errno"] == errno.ECONNREFUSED
        outside = await c.call("connect", host="192.0.2.1", port=80)
        assert outside["ok"] is False and outside["errno"] == errno.ENETUNREACH
        dns = await c.call("connect", host="example.com", port=443)
        assert dns["ok"] is False
        assert hits == []
    finally:
        server.close()
        await server.wait_closed()


async def test_fork_bomb_is_bounded(start: Starter) -> None:
    c = await start(hostile_config(pids=24))
    if "pids" not in c.proc.limits:
        pytest.skip("no pids enforcement here (no writable cgroup and bastion runs as root)")
    r = await c.call("fork_bomb", cap=500)
    assert r["ok"] is False and "Resource temporarily unavailable" in r["error"]
    assert r["forked"] < 24
    # the server survives and keeps answering
    assert (await c.call("whoami"))["ok"]


async def test_memory_far_over_limit_fails(start: Starter) -> None:
    c = await start(hostile_config(memory="96M"))
    try:
        r = await c.call("alloc", mb=1024)
    except EOFError:
        return  # killed by the cgroup OOM killer: the allocation did not succeed
    assert r["ok"] is False and "MemoryError" in r["error"]
    assert (await c.call("alloc", mb=8))["ok"]


async def test_killed_at_lifetime(start: Starter) -> None:
    c = await start(hostile_config(lifetime=1.5))
    rc = await asyncio.wait_for(c.proc.wait(), 30)
    assert c.proc.killed_for_lifetime
    assert rc != 0
    assert c.proc.expired()


async def test_seccomp_blocks_namespaces_and_runs_as_unprivileged_user(start: Starter) -> None:
    c = await start()
    r = await c.call("unshare")
    assert r["ok"] is False and r["errno"] == errno.EPERM
    who = await c.call("whoami")
    assert who["uid"] == 1000 and who["home"] == "/home/mcp"


async def test_environment_is_only_what_is_declared(
    start: Starter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOST_ONLY_VARIABLE", "leak")
    monkeypatch.setenv("PASSED_VARIABLE", "passed")
    c = await start(hostile_config(env={"DECLARED": "yes"}, pass_env=["PASSED_VARIABLE"]))
    env = (await c.call("env"))["environ"]
    assert env["DECLARED"] == "yes" and env["PASSED_VARIABLE"] == "passed"
    assert "HOST_ONLY_VARIABLE" not in env
    assert set(env) <= {"DECLARED", "PASSED_VARIABLE", "PATH", "HOME", "LANG", "LC_ALL", "TMPDIR",
                        "USER", "LOGNAME", "PWD"}


async def test_terminate_kills_everything_and_cleans_up(start: Starter) -> None:
    c = await start()
    limits = c.proc._plan  # the cgroup directories, if any
    await c.call("whoami")
    rc = await c.proc.terminate(grace=0.1)
    assert c.proc.returncode == rc and not c.proc.alive()
    if limits.cgroup is not None:
        assert all(not d.exists() for d in limits.cgroup.dirs)
