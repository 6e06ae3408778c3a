"""The client-facing stdio listener: newline-delimited JSON-RPC on our own stdin/stdout.

Only protocol messages go to stdout; all logging goes to stderr.
"""

from __future__ import annotations

import asyncio
import sys

from bastion.gateway.core import Gateway
from bastion.transports.lines import LineWriter, read_lines
from bastion.transports.stdio_child import READ_LIMIT
from bastion.transports.stream_session import serve_stream


async def serve_stdio(gateway: Gateway) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=READ_LIMIT)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    w_transport, w_protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, sys.stdout)
    writer = asyncio.StreamWriter(w_transport, w_protocol, None, loop)

    # an over-long line is dropped (the limits guard reports the sizes it sees)
    incoming = read_lines(reader, READ_LIMIT, skip_long=True)

    out = LineWriter(writer, loop)  # answers of one loop pass leave in one write
    try:
        await serve_stream(gateway, "stdio", incoming, None, write_now=out.write_line)
    finally:
        out.flush()
