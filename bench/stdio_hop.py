"""A bare stdio forwarding hop: runs the server command as its child and copies bytes both ways
(our stdin to its stdin, its stdout to our stdout) on a uvloop event loop, with no MCP logic, no
parsing, not even line splitting: each chunk read is written on at once. It is the practical limit
of one Python process between a stdio client and a stdio server, as ``hop.py`` is for HTTP (see
DESIGN.md, "Speed").

    .venv/bin/python bench/stdio_hop.py -- COMMAND [ARGS...]
"""

from __future__ import annotations

import asyncio
import os
import sys

import uvloop


class Copy(asyncio.Protocol):
    """Writes what one pipe delivers to another transport; tells ``done`` when the pipe ends."""

    def __init__(self, out: asyncio.WriteTransport, done: asyncio.Future[None]) -> None:
        self.out = out
        self.done = done

    def data_received(self, data: bytes) -> None:
        self.out.write(data)

    def eof_received(self) -> bool:
        self._end()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._end()

    def _end(self) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def main(cmd: list[str]) -> int:
    loop = asyncio.get_running_loop()
    read_fd, write_fd = os.pipe()
    proc = await asyncio.create_subprocess_exec(*cmd, stdin=asyncio.subprocess.PIPE, stdout=write_fd)
    os.close(write_fd)
    assert proc.stdin is not None
    stdout, _ = await loop.connect_write_pipe(asyncio.Protocol, sys.stdout)
    from_child: asyncio.Future[None] = loop.create_future()
    from_client: asyncio.Future[None] = loop.create_future()
    await loop.connect_read_pipe(lambda: Copy(stdout, from_child), os.fdopen(read_fd, "rb", buffering=0))
    await loop.connect_read_pipe(lambda: Copy(proc.stdin.transport, from_client), sys.stdin)  # type: ignore[arg-type]
    await from_client
    proc.stdin.close()
    await from_child
    code = await proc.wait()
    stdout.close()
    return code


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        raise SystemExit("usage: stdio_hop.py -- COMMAND [ARGS...]")
    sys.exit(uvloop.run(main(args)))
