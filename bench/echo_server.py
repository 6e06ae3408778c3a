"""A fast, minimal MCP server over Streamable HTTP (handshake era), one tool: ``echo``.

Raw ASGI under uvicorn (uvloop + httptools), no SDK: it is the "direct" baseline of
``bench/overhead.py``, so it must cost as little as possible per call.

- ``POST /mcp`` ``initialize`` → result + a new ``Mcp-Session-Id``; other requests need a known
  session (400 without the header, 404 for an unknown one); ``tools/list``, ``tools/call echo``,
  ``ping``; any other method → JSON-RPC error -32601 (so ``server/discover`` probes fall back);
  notifications and responses → 202.
- ``GET /mcp`` → 405 (no server-to-client stream); ``DELETE /mcp`` ends the session.

    .venv/bin/python bench/echo_server.py [--port 0]     # prints "listening http://127.0.0.1:PORT/mcp"
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import orjson

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _asgi import Receive, Scope, Send, lifespan, read_body, respond, run

TOOLS = {"tools": [{
    "name": "echo",
    "description": "Echo the text back",
    "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
}]}
SERVER_INFO = {"name": "bench-echo", "version": "1.0"}
DEFAULT_VERSION = "2025-06-18"

sessions: set[str] = set()
_counter = 0


def _error(rid: Any, code: int, message: str) -> bytes:
    return orjson.dumps({"jsonrpc": "2.0", "id": rid, "error": {"code": code, "message": message}})


def _result(rid: Any, result: Any) -> bytes:
    return orjson.dumps({"jsonrpc": "2.0", "id": rid, "result": result})


def _call(rid: Any, params: dict[str, Any]) -> bytes:
    if params.get("name") != "echo":
        return _error(rid, -32602, f"unknown tool: {params.get('name')}")
    args = params.get("arguments") or {}
    text = args.get("text") if isinstance(args, dict) else None
    if not isinstance(text, str):
        return _result(rid, {"content": [{"type": "text", "text": "missing 'text'"}], "isError": True})
    return _result(rid, {"content": [{"type": "text", "text": text}], "isError": False})


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    global _counter
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    method = scope["method"]
    sid: str | None = None
    for k, v in scope["headers"]:
        if k == b"mcp-session-id":
            sid = v.decode("latin-1")
    if method == "GET":
        await respond(send, 405, b'{"error":"no GET stream"}', [(b"allow", b"POST, DELETE")])
        return
    if method == "DELETE":
        if sid is not None and sid in sessions:
            sessions.discard(sid)
            await respond(send, 200, b"{}")
        else:
            await respond(send, 404, b'{"error":"unknown session"}')
        return
    if method != "POST":
        await respond(send, 405, b'{"error":"method not allowed"}')
        return
    body = await read_body(receive)
    try:
        msg = orjson.loads(body)
    except orjson.JSONDecodeError:
        await respond(send, 400, _error(None, -32700, "parse error"))
        return
    if not isinstance(msg, dict):
        await respond(send, 400, _error(None, -32600, "invalid request"))
        return
    rpc_method = msg.get("method")
    rid = msg.get("id")
    if rpc_method == "initialize" and rid is not None:
        _counter += 1
        new_sid = f"echo-{os.getpid()}-{_counter}"
        sessions.add(new_sid)
        params = msg.get("params") or {}
        version = params.get("protocolVersion") if isinstance(params, dict) else None
        result = {
            "protocolVersion": version if isinstance(version, str) else DEFAULT_VERSION,
            "capabilities": {"tools": {"listChanged": False}},
            "serverInfo": SERVER_INFO,
        }
        await respond(send, 200, _result(rid, result), [(b"mcp-session-id", new_sid.encode())])
        return
    if rpc_method == "server/discover" and rid is not None:
        await respond(send, 200, _error(rid, -32601, "method not found: server/discover"))
        return
    if not sid:
        await respond(send, 400, _error(rid, -32600, "missing Mcp-Session-Id"))
        return
    if sid not in sessions:
        await respond(send, 404, _error(rid, -32600, "unknown session"))
        return
    if rid is None or rpc_method is None:  # notification or a response
        await respond(send, 202, b"")
        return
    if rpc_method == "tools/call":
        params = msg.get("params")
        out = _call(rid, params if isinstance(params, dict) else {})
    elif rpc_method == "tools/list":
        out = _result(rid, TOOLS)
    elif rpc_method == "ping":
        out = _result(rid, {})
    else:
        out = _error(rid, -32601, f"method not found: {rpc_method}")
    await respond(send, 200, out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, default=0)
    run(app, ap.parse_args().port)


if __name__ == "__main__":
    main()
