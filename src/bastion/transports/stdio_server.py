"""The client-facing stdio listener: newline-delimited JSON-RPC on our own stdin/stdout.

Only protocol messages go to stdout; all logging goes to stderr. Messages are taken as the pipe
delivers them (a protocol callback cuts each chunk into lines), with no reader task in between.
"""

from __future__ import annotations

import asyncio
import logging
import sys

from bastion.gateway.core import Gateway
from bastion.transports.lines import LineSplitter, LineWriter
from bastion.transports.stdio_child import READ_LIMIT
from bastion.transports.stream_session import StreamSession

log = logging.getLogger("bastion.transports")


class _Stdin(asyncio.Protocol):
    """Hands each line of our stdin to the session; an over-long line is dropped (the limits
    guard reports the sizes it sees)."""

    def __init__(self, stream: StreamSession, closed: asyncio.Future[None]) -> None:
        self.stream = stream
        self.closed = closed
        self.lines = LineSplitter(READ_LIMIT, skip_long=True)

    def data_received(self, data: bytes) -> None:
        receive = self.stream.receive
        for line in self.lines.feed(data):
            try:
                receive(line)
            except Exception:  # one bad message must not stop the others
                log.exception("stdio listener: message dropped")

    def eof_received(self) -> bool:
        last = self.lines.end()
        if last is not None:
            self.stream.receive(last)
        self._done()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._done()

    def _done(self) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


async def serve_stdio(gateway: Gateway) -> None:
    loop = asyncio.get_running_loop()
    w_transport, w_protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, sys.stdout)
    writer = asyncio.StreamWriter(w_transport, w_protocol, None, loop)
    out = LineWriter(writer, loop)  # answers of one loop pass leave in one write
    stream = StreamSession(gateway, "stdio", out.write_line)
    closed: asyncio.Future[None] = loop.create_future()
    transport, _ = await loop.connect_read_pipe(lambda: _Stdin(stream, closed), sys.stdin)
    try:
        await closed
        await stream.finish()
    finally:
        gateway.close_session(stream.session)  # also when the gateway stops first
        transport.close()
        out.flush()
