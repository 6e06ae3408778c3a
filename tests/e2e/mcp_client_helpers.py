"""Small synchronous helpers over the official Python SDK client, for e2e tests."""

from __future__ import annotations

from typing import Any

import anyio
from mcp import Client
from mcp.shared.exceptions import MCPError


def list_and_call(url: str, tool: str, args: dict[str, Any]) -> tuple[set[str], dict[str, Any] | None]:
    """List the tools, then call one; return the names and the JSON-RPC error of the call, if any."""

    async def run() -> tuple[set[str], dict[str, Any] | None]:
        async with Client(url, mode="legacy") as c:
            names = {t.name for t in (await c.list_tools()).tools}
            try:
                await c.call_tool(tool, args)
            except MCPError as exc:
                return names, {"code": exc.error.code, "message": exc.error.message, "data": exc.error.data}
            return names, None

    return anyio.run(run)
