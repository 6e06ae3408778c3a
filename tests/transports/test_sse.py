from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bastion.transports.sse import Event, format_event, parse_events


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for p in parts:
        yield p


async def collect(*parts: bytes) -> list[Event]:
    return [e async for e in parse_events(chunks(*parts))]


async def test_events_split_across_chunks() -> None:
    events = await collect(b"event: message\r\nda", b"ta: {\"a\":1}\r\n\r\n: ping\n\ndata: x\ndata: y\n\n")
    assert [(e.event, e.data) for e in events] == [("message", '{"a":1}'), ("message", "x\ny")]


async def test_endpoint_event_and_ids() -> None:
    events = await collect(b"event: endpoint\nid: 7\ndata: /messages/?session_id=1\n\n")
    assert events == [Event("endpoint", "/messages/?session_id=1", "7")]


async def test_trailing_event_without_blank_line() -> None:
    assert [e.data for e in await collect(b"data: last")] == ["last"]


@pytest.mark.parametrize("data", [b'{"jsonrpc":"2.0"}', b"[]"])
async def test_format_roundtrip(data: bytes) -> None:
    events = await collect(format_event(data, "message", "1"))
    assert events == [Event("message", data.decode(), "1")]
