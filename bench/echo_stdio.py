"""A minimal MCP server over stdio (newline-delimited JSON-RPC, handshake era), one tool: ``echo``.

Answers ``initialize``, ``tools/list``, ``tools/call echo`` and ``ping``; ``server/discover`` (and any
other method) gets JSON-RPC error -32601, so a client probing the 2026-07-28 era falls back to
``initialize``. Notifications and responses are ignored. Requests are answered in order.

    .venv/bin/python bench/echo_stdio.py
"""

from __future__ import annotations

import sys
from typing import Any

import orjson

TOOLS = {"tools": [{
    "name": "echo",
    "description": "Echo the text back",
    "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
}]}
SERVER_INFO = {"name": "bench-echo-stdio", "version": "1.0"}


def answer(msg: Any) -> bytes | None:
    if not isinstance(msg, dict):
        return orjson.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "invalid request"}})
    rid = msg.get("id")
    method = msg.get("method")
    if rid is None or method is None:
        return None  # a notification, or a response to nothing we asked
    params = msg.get("params") or {}
    result: Any
    if method == "tools/call":
        args = params.get("arguments") or {}
        if params.get("name") != "echo":
            return orjson.dumps({"jsonrpc": "2.0", "id": rid,
                                 "error": {"code": -32602, "message": f"unknown tool: {params.get('name')}"}})
        result = {"content": [{"type": "text", "text": args.get("text", "")}], "isError": False}
    elif method == "initialize":
        version = params.get("protocolVersion")
        result = {"protocolVersion": version if isinstance(version, str) else "2025-06-18",
                  "capabilities": {"tools": {"listChanged": False}}, "serverInfo": SERVER_INFO}
    elif method == "tools/list":
        result = TOOLS
    elif method == "ping":
        result = {}
    else:
        return orjson.dumps({"jsonrpc": "2.0", "id": rid,
                             "error": {"code": -32601, "message": f"method not found: {method}"}})
    return orjson.dumps({"jsonrpc": "2.0", "id": rid, "result": result})


def main() -> None:
    out = sys.stdout.buffer
    for line in sys.stdin.buffer:
        if not line.strip():
            continue
        try:
            msg = orjson.loads(line)
        except orjson.JSONDecodeError:
            reply: bytes | None = orjson.dumps(
                {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}})
        else:
            reply = answer(msg)
        if reply is not None:
            out.write(reply + b"\n")
            out.flush()


if __name__ == "__main__":
    main()
