"""Fixtures for sandbox tests."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sandbox_support import HOSTILE, TIMEOUT, Client, Starter, hostile_config

from bastion.sandbox import SandboxConfig, SandboxedProcess, launch


@pytest.fixture
async def start() -> AsyncIterator[Starter]:
    procs: list[SandboxedProcess] = []

    async def _start(cfg: SandboxConfig | None = None, **launch_kw: Any) -> Client:
        proc = await launch(sys.executable, [str(HOSTILE)], cfg or hostile_config(), **launch_kw)
        procs.append(proc)
        client = Client(proc)
        init = await client.request("initialize")
        assert init["result"]["serverInfo"]["name"] == "hostile"
        return client

    yield _start
    for p in procs:
        await asyncio.wait_for(p.terminate(grace=0.2), TIMEOUT)
