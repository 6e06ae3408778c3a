"""The lean HTTP/1.1 client, against a real socket server that answers exactly the bytes we script."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest

from bastion.transports.http_client import HttpClient, HttpClientError

Handler = Callable[[bytes, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[bool]]


@dataclass
class Server:
    url: str
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)


async def _read_request(reader: asyncio.StreamReader) -> bytes | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return head + (await reader.readexactly(length) if length else b"")


@asynccontextmanager
async def serve(handler: Handler) -> AsyncIterator[Server]:
    """A server on 127.0.0.1; ``handler`` answers each request and returns False to close."""
    state = Server(url="")

    async def on_conn(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state.connections += 1
        try:
            while (request := await _read_request(reader)) is not None:
                state.requests.append(request)
                if not await handler(request, reader, writer):
                    break
        finally:
            writer.close()

    server = await asyncio.start_server(on_conn, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    state.url = f"http://127.0.0.1:{port}/mcp?x=1"
    try:
        yield state
    finally:
        server.close()


def _json(body: bytes, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + extra + \
        b"Content-Length: %d\r\n\r\n" % len(body) + body


def answer(raw: bytes, *, keep_open: bool = True) -> Handler:
    """A handler that answers every request with ``raw``, then keeps or closes the connection."""

    async def handler(_req: bytes, _r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        w.write(raw)
        await w.drain()
        return keep_open

    return handler


_ok = answer(_json(b'{"ok":true}', b"Mcp-Session-Id: abc\r\n"))


async def test_json_answer_and_keep_alive_reuse() -> None:
    async with serve(_ok) as srv:
        client = HttpClient(srv.url)
        for _ in range(3):
            async with await client.request("POST", {"Content-Type": "application/json"}, b'{"a":1}') as resp:
                assert resp.status == 200
                assert resp.headers["mcp-session-id"] == "abc"
                assert resp.content_type == "application/json"
                assert await resp.read() == b'{"ok":true}'
        await client.close()
    assert srv.connections == 1
    first = srv.requests[0]
    assert first.startswith(b"POST /mcp?x=1 HTTP/1.1\r\nHost: 127.0.0.1:")
    assert b"Content-Length: 7\r\n" in first and first.endswith(b'\r\n\r\n{"a":1}')


async def test_event_stream_is_delivered_as_it_arrives() -> None:
    second = asyncio.Event()

    async def sse(_req: bytes, _r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        w.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
        w.write(b"7\r\ndata: 1\r\n")
        await w.drain()
        await second.wait()  # only once the client has seen the first piece
        w.write(b"7\r\ndata: 2\r\n0\r\n\r\n")
        await w.drain()
        return True

    async with serve(sse) as srv:
        client = HttpClient(srv.url)
        resp = await client.request("GET", {"Accept": "text/event-stream"})
        assert resp.content_type == "text/event-stream"
        seen = []
        async for chunk in resp.iter_chunks():
            seen.append(chunk)
            second.set()
        assert b"".join(seen) == b"data: 1data: 2"
        assert len(seen) == 2
        # the stream ended cleanly: the connection is reused
        srv_handler_calls = len(srv.requests)
        await client.request("GET", {})  # answered by the same handler, on the same connection
        assert len(srv.requests) == srv_handler_calls + 1 and srv.connections == 1
        await client.close()


async def test_body_delimited_by_connection_close() -> None:
    async with serve(answer(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it", keep_open=False)) as srv:
        client = HttpClient(srv.url)
        resp = await client.request("POST", {}, b"{}")
        assert await resp.read() == b"all of it"
        await client.request("POST", {}, b"{}")  # not reused: a new connection
        assert srv.connections == 2
        await client.close()


async def test_connection_lost_mid_body_is_an_error() -> None:
    async with serve(answer(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part", keep_open=False)) as srv:
        client = HttpClient(srv.url)
        resp = await client.request("POST", {}, b"{}")
        with pytest.raises(HttpClientError, match="closed by the server"):
            await resp.read()
        await client.close()


@pytest.mark.parametrize("response", [b"NOT HTTP AT ALL\r\n\r\n", b"HTTP/1.1 abc OK\r\n\r\n"])
async def test_malformed_response_is_an_error(response: bytes) -> None:
    async with serve(answer(response)) as srv:
        client = HttpClient(srv.url)
        with pytest.raises(HttpClientError, match="malformed HTTP response"):
            await client.request("POST", {}, b"{}")
        await client.close()


@pytest.mark.parametrize("headers", [{"Mcp-Name": "x\r\nEvil: 1"}, {"Mcp-Name": "x\ny"}, {"A\rB": "v"},
                                     {"Mcp-Name": "nul\0"}])
async def test_line_breaks_in_headers_are_refused_before_sending(headers: dict[str, str]) -> None:
    async with serve(_ok) as srv:
        client = HttpClient(srv.url)
        with pytest.raises(HttpClientError, match="line break or NUL"):
            await client.request("POST", headers, b"{}")
        # the refusal cost no connection slot
        async with await client.request("POST", {}, b"{}") as resp:
            assert resp.status == 200
        await client.close()
    assert len(srv.requests) == 1


async def test_no_server_is_a_readable_error() -> None:
    async with serve(_ok) as srv:
        url = srv.url
    client = HttpClient(url)  # the server is gone
    with pytest.raises(HttpClientError, match=r"cannot connect to 127\.0\.0\.1"):
        await client.request("POST", {}, b"{}")
    await client.close()


async def test_unread_body_closes_the_connection_and_idle_connections_expire() -> None:
    async with serve(_ok) as srv:
        client = HttpClient(srv.url)
        (await client.request("POST", {}, b"{}")).release()  # head only; the body is complete, so reused
        assert srv.connections == 1
        expiring = HttpClient(srv.url, idle_seconds=0)
        for _ in range(2):
            async with await expiring.request("POST", {}, b"{}") as resp:
                await resp.read()
        assert srv.connections == 3  # each request of the expiring client on a new connection
        await client.close()
        await expiring.close()


async def test_abandoned_stream_is_not_reused() -> None:
    async def endless(_req: bytes, _r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        w.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
        await w.drain()
        await asyncio.sleep(0.5)
        return False

    async with serve(endless) as srv:
        client = HttpClient(srv.url)
        resp = await client.request("GET", {})
        async for chunk in resp.iter_chunks():
            assert chunk == b"hello"
            break
        resp.release()
        await client.request("GET", {})
        assert srv.connections == 2
        await client.close()


async def test_cancelled_request_frees_its_slot_and_connection() -> None:
    release = asyncio.Event()

    async def slow_then_fast(req: bytes, _r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        if b"slow" in req:
            await release.wait()
            return False
        return await _ok(req, _r, w)

    async with serve(slow_then_fast) as srv:
        client = HttpClient(srv.url, limit=1)
        task = asyncio.create_task(client.request("POST", {}, b'"slow"'))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        async with await client.request("POST", {}, b'"fast"') as resp:  # the one slot is free again
            assert await resp.read() == b'{"ok":true}'
        release.set()
        assert srv.connections == 2
        await client.close()


async def test_limit_queues_requests_on_one_connection() -> None:
    async with serve(_ok) as srv:
        client = HttpClient(srv.url, limit=1)

        async def one() -> bytes:
            async with await client.request("POST", {}, b"{}") as resp:
                return await resp.read()

        assert await asyncio.gather(*(one() for _ in range(5))) == [b'{"ok":true}'] * 5
        assert srv.connections == 1
        await client.close()


async def test_read_limit_and_interim_answers() -> None:
    async with serve(answer(b"HTTP/1.1 100 Continue\r\n\r\n" + _json(b"x" * 1000))) as srv:
        client = HttpClient(srv.url)
        resp = await client.request("POST", {}, b"{}")
        assert resp.status == 200 and resp.headers["content-type"] == "application/json"
        with pytest.raises(HttpClientError, match="larger than 10 bytes"):
            await resp.read(limit=10)
        async with await client.request("POST", {}, b"{}") as resp:
            assert await resp.read() == b"x" * 1000
        await client.close()


async def test_large_streamed_body_with_a_slow_reader_arrives_whole() -> None:
    piece = bytes(range(256)) * 256  # 64 KiB
    pieces = 40  # 2.5 MiB: reading pauses and resumes several times

    async def big(_req: bytes, _r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        w.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (len(piece) * pieces))
        for _ in range(pieces):
            w.write(piece)
            await w.drain()
        return True

    async with serve(big) as srv:
        client = HttpClient(srv.url)
        resp = await client.request("GET", {})
        got = bytearray()
        async for chunk in resp.iter_chunks():
            got += chunk
            await asyncio.sleep(0)  # a consumer that yields
        assert bytes(got) == piece * pieces
        await client.close()


@pytest.mark.parametrize("url", ["ftp://host/x", "http:///nohost", "not a url"])
def test_only_http_urls(url: str) -> None:
    with pytest.raises(ValueError, match="not an http"):
        HttpClient(url)


def test_host_header_and_target() -> None:
    c = HttpClient("https://example.com/mcp")
    assert (c.port, c.target, c._host_header) == (443, "/mcp", "example.com")
    c = HttpClient("http://[::1]:8080")
    assert (c.host, c.port, c.target, c._host_header) == ("::1", 8080, "/", "[::1]:8080")
