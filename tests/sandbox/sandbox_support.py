"""Helpers for sandbox tests: the hostile server and a tiny MCP client over the sandbox pipes."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bastion.sandbox import Mount, SandboxConfig, SandboxedProcess

HOSTILE = Path(__file__).resolve().parent.parent / "fixtures" / "sandbox" / "hostile_server.py"
TIMEOUT = 30.0

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None,
                                 reason="bubblewrap (bwrap) is not installed")


class Client:
    """Speaks newline-delimited JSON-RPC to a sandboxed hostile server."""

    def __init__(self, proc: SandboxedProcess) -> None:
        self.proc = proc
        self._id = 0

    async def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        self._id += 1
        msg = {"jsonrpc": "2.0", "id": self._id, "method": method, "params": params or {}}
        await self.proc.send(json.dumps(msg).encode())
        line = await asyncio.wait_for(self.proc.receive(), TIMEOUT)
        if not line:
            raise EOFError("server closed stdout")
        reply: dict[str, Any] = json.loads(line)
        return reply

    async def call(self, tool: str, **arguments: Any) -> dict[str, Any]:
        reply = await self.request("tools/call", {"name": tool, "arguments": arguments})
        payload: dict[str, Any] = json.loads(reply["result"]["content"][0]["text"])
        return payload


Starter = Callable[..., Awaitable[Client]]


def hostile_config(**kw: Any) -> SandboxConfig:
    mounts = [Mount(source=str(HOSTILE)), *kw.pop("mounts", [])]
    return SandboxConfig(mounts=mounts, **kw)


