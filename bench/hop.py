"""A bare forwarding hop: an ASGI app that forwards each request's body to one upstream URL with a
pooled aiohttp session, no MCP logic. ``Mcp-Session-Id`` (and the protocol-version header) pass
through both ways. It is the practical limit of one Python hop (see DESIGN.md, "Speed").

    .venv/bin/python bench/hop.py --upstream http://127.0.0.1:PORT/mcp [--port 0]
"""

from __future__ import annotations

import argparse
import os
import sys

import aiohttp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _asgi import Receive, Scope, Send, lifespan, read_body, respond, run

FORWARD_UP = {b"content-type", b"accept", b"mcp-session-id", b"mcp-protocol-version", b"last-event-id"}
FORWARD_DOWN = ("Content-Type", "Mcp-Session-Id")


class Hop:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.http: aiohttp.ClientSession | None = None

    async def _start(self) -> None:
        self.http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=256, keepalive_timeout=60),
            timeout=aiohttp.ClientTimeout(total=None),
            skip_auto_headers=("User-Agent", "Accept-Encoding"),
        )

    async def _stop(self) -> None:
        if self.http is not None:
            await self.http.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send, self._start, self._stop)
            return
        if scope["type"] != "http":
            return
        assert self.http is not None
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"] if k in FORWARD_UP}
        body = await read_body(receive) if scope["method"] == "POST" else None
        try:
            async with self.http.request(scope["method"], self.upstream, data=body, headers=headers) as resp:
                data = await resp.read()
                extra = [(b"mcp-session-id", v.encode("latin-1"))
                         for v in resp.headers.getall("Mcp-Session-Id", ())]
                ctype = resp.headers.get("Content-Type", "application/json").encode("latin-1")
                await send({"type": "http.response.start", "status": resp.status,
                            "headers": [(b"content-type", ctype), (b"content-length", str(len(data)).encode()),
                                        *extra]})
                await send({"type": "http.response.body", "body": data})
        except aiohttp.ClientError as exc:
            await respond(send, 502, f'{{"error":"upstream: {type(exc).__name__}"}}'.encode())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    run(Hop(args.upstream), args.port)


if __name__ == "__main__":
    main()
