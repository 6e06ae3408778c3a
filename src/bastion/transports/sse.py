"""A minimal Server-Sent Events parser and writer (the subset MCP uses)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass


@dataclass(slots=True)
class Event:
    event: str
    data: str
    id: str | None = None


async def parse_events(chunks: AsyncIterator[bytes]) -> AsyncIterator[Event]:
    """Yield events from a byte stream (handles CRLF, multi-line data, comments)."""
    buf = b""
    event: str = "message"
    data: list[str] = []
    eid: str | None = None
    async for chunk in chunks:
        buf += chunk
        while True:
            nl = buf.find(b"\n")
            if nl < 0:
                break
            line = buf[:nl].rstrip(b"\r")
            buf = buf[nl + 1 :]
            if not line:
                if data:
                    yield Event(event, "\n".join(data), eid)
                event, data = "message", []
                continue
            if line.startswith(b":"):
                continue
            name, _, value = line.partition(b":")
            if value.startswith(b" "):
                value = value[1:]
            text = value.decode("utf-8", "replace")
            if name == b"data":
                data.append(text)
            elif name == b"event":
                event = text
            elif name == b"id":
                eid = text
    tail = buf.rstrip(b"\r")
    if tail.startswith(b"data:"):
        value = tail[5:]
        data.append((value[1:] if value.startswith(b" ") else value).decode("utf-8", "replace"))
    if data:
        yield Event(event, "\n".join(data), eid)


def format_event(data: bytes, event: str | None = None, eid: str | None = None) -> bytes:
    out = b""
    if event:
        out += b"event: " + event.encode() + b"\n"
    if eid:
        out += b"id: " + eid.encode() + b"\n"
    # JSON from orjson has no raw newlines, so one data line suffices.
    return out + b"data: " + data + b"\n\n"
