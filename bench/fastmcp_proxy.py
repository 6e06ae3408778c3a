"""FastMCP's proxy (``fastmcp.server.create_proxy``, fastmcp 4.x) in front of one Streamable HTTP
upstream, served over Streamable HTTP on 127.0.0.1 (uvicorn, uvloop + httptools), default settings.

    .venv/bin/python bench/fastmcp_proxy.py --upstream http://127.0.0.1:PORT/mcp [--port 0]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

import uvloop

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _asgi import announce, bind


async def serve(upstream: str, port: int) -> None:
    from fastmcp.server import create_proxy

    proxy = create_proxy(upstream, name="bench-fastmcp-proxy")
    sock = bind(port)
    sock.listen(2048)
    announce(sock)  # connections queue in the backlog until uvicorn accepts; callers probe readiness
    await proxy.run_http_async(
        show_banner=False,
        transport="http",
        host="127.0.0.1",
        port=sock.getsockname()[1],
        log_level="warning",
        uvicorn_config={"http": "httptools", "access_log": False, "timeout_graceful_shutdown": 1},
        sockets=[sock],
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    uvloop.run(serve(args.upstream, args.port))


if __name__ == "__main__":
    main()
