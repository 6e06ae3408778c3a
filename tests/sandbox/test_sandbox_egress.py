"""Egress allow-list: the filtering proxy is the only way out, and every attempt is audited."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sandbox_support import Starter, hostile_config, needs_bwrap

from bastion.sandbox import Egress, EgressEvent, EgressProxy
from bastion.sandbox.egress import AllowList


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"hello from the allowed host"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_port() -> Iterator[int]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def test_allow_list_matching() -> None:
    a = AllowList([Egress.parse("api.github.com:443"), Egress.parse("*.example.org:80")])
    assert a.allows("API.github.com", 443)
    assert not a.allows("api.github.com", 80)
    assert a.allows("x.example.org", 80) and a.allows("a.b.example.org", 80)
    assert not a.allows("example.org", 80) and not a.allows("badexample.org", 80)


async def test_proxy_connect_allowed_and_refused_are_audited(http_port: int) -> None:
    events: list[EgressEvent] = []
    proxy = EgressProxy([Egress(host="127.0.0.1", port=http_port)], server="t", audit=events.append)
    path = await proxy.start()
    try:
        r, w = await asyncio.open_unix_connection(path)
        w.write(f"CONNECT 127.0.0.1:{http_port} HTTP/1.1\r\n\r\n".encode())
        assert (await r.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200")
        w.write(b"GET / HTTP/1.0\r\n\r\n")
        assert b"hello from the allowed host" in await asyncio.wait_for(r.read(), 10)
        w.close()
        r, w = await asyncio.open_unix_connection(path)
        w.write(f"CONNECT 127.0.0.1:{http_port + 1} HTTP/1.1\r\n\r\n".encode())
        assert (await asyncio.wait_for(r.read(), 10)).startswith(b"HTTP/1.1 403")
        w.close()
    finally:
        await proxy.close()
    assert [(e.port, e.decision, e.outcome) for e in events] == [
        (http_port, "allow", "connected"), (http_port + 1, "deny", "refused")]


@needs_bwrap
async def test_sandbox_reaches_allowed_host_only_through_proxy(start: Starter, http_port: int) -> None:
    events: list[EgressEvent] = []
    c = await start(hostile_config(network=[f"127.0.0.1:{http_port}"]), audit=events.append)
    ok = await c.call("http_get", url=f"http://127.0.0.1:{http_port}/")
    assert ok["ok"] and ok["status"] == 200 and "allowed host" in ok["body"]
    refused = await c.call("http_get", url=f"http://127.0.0.1:{http_port + 1}/")
    assert refused["ok"] is False and refused["status"] == 403
    # bypassing the proxy: no route
    direct = await c.call("connect", host="192.0.2.1", port=80)
    assert direct["ok"] is False
    decisions = [(e.host, e.port, e.decision) for e in events]
    assert ("127.0.0.1", http_port, "allow") in decisions
    assert ("127.0.0.1", http_port + 1, "deny") in decisions
    assert all(e.server for e in events)
