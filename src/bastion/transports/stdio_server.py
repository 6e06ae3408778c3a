"""The client-facing stdio listener: newline-delimited JSON-RPC on our own stdin/stdout.

Only protocol messages go to stdout; all logging goes to stderr.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator

from bastion.gateway.core import Gateway
from bastion.transports.stdio_child import READ_LIMIT
from bastion.transports.stream_session import serve_stream


async def serve_stdio(gateway: Gateway) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=READ_LIMIT)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    w_transport, w_protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, sys.stdout)
    writer = asyncio.StreamWriter(w_transport, w_protocol, None, loop)

    async def incoming() -> AsyncIterator[bytes]:
        while True:
            try:
                line = await reader.readline()
            except ValueError:
                continue  # over-long line: dropped (the limits guard reports sizes it sees)
            if not line:
                return
            yield line

    async def write(data: bytes) -> None:
        writer.write(data + b"\n")
        await writer.drain()

    await serve_stream(gateway, "stdio", incoming(), write)
