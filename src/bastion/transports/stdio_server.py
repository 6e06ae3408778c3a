"""The client-facing stdio listener: newline-delimited JSON-RPC on our own stdin/stdout.

Only protocol messages go to stdout; all logging goes to stderr. Messages are taken as the pipe
delivers them (a protocol callback cuts each chunk into lines), with no reader task in between.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import sys
import threading
from typing import IO

from bastion.gateway.core import Gateway
from bastion.transports.lines import LineSplitter, LineWriter, begin_batch, end_batch
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
        begin_batch()  # what the messages of this chunk cause to be written leaves together, now
        try:
            for line in self.lines.feed(data):
                try:
                    receive(line)
                except Exception:  # one bad message must not stop the others
                    log.exception("stdio listener: message dropped")
        finally:
            end_batch()

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


def _is_pipe(f: IO[bytes] | IO[str]) -> bool:
    mode = os.fstat(f.fileno()).st_mode
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def _copy(src: int, dst: int, close_dst: bool) -> None:
    try:
        while data := os.read(src, 1 << 16):
            view = memoryview(data)
            while view:
                view = view[os.write(dst, view):]
    except OSError:
        pass
    finally:
        os.close(src if not close_dst else dst)  # our pipe end: its other side sees the end


def _through_pipe(f: IO[bytes] | IO[str], reading: bool) -> tuple[IO[bytes] | IO[str], threading.Thread | None]:
    """``f`` itself when it is a pipe or a socket; otherwise (a file, a terminal, /dev/null: the
    event loop can only watch pipes) a pipe that a thread fills from it or empties into it."""
    if _is_pipe(f):
        return f, None
    r, w = os.pipe()
    src, dst, ours = (f.fileno(), w, r) if reading else (r, f.fileno(), w)
    copier = threading.Thread(target=_copy, args=(src, dst, reading), name="stdio-copy", daemon=True)
    copier.start()
    return os.fdopen(ours, "rb" if reading else "wb", buffering=0), copier


async def serve_stdio(gateway: Gateway) -> None:
    loop = asyncio.get_running_loop()
    (stdin, _), (stdout, copier) = _through_pipe(sys.stdin, True), _through_pipe(sys.stdout, False)
    w_transport, w_protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, stdout)
    writer = asyncio.StreamWriter(w_transport, w_protocol, None, loop)
    out = LineWriter(writer, loop)  # answers of one loop pass leave in one write
    stream = StreamSession(gateway, "stdio", out.write_line)
    closed: asyncio.Future[None] = loop.create_future()
    transport, _ = await loop.connect_read_pipe(lambda: _Stdin(stream, closed), stdin)
    try:
        await closed
        await stream.finish()
    finally:
        gateway.close_session(stream.session)  # also when the gateway stops first
        transport.close()
        out.flush()
        if copier is not None:  # our stdout is a file or a terminal: let the thread write the rest
            w_transport.close()
            await asyncio.sleep(0)
            await asyncio.to_thread(copier.join, 5)
