"""Newline-delimited messages: chunked line reading and per-pass coalesced writing."""

from __future__ import annotations

import asyncio
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.transports.lines import LineTooLong, LineWriter, read_lines


async def _lines(chunks: list[bytes], limit: int = 100, skip_long: bool = False) -> list[bytes]:
    reader = asyncio.StreamReader()
    for c in chunks:
        reader.feed_data(c)
    reader.feed_eof()
    return [line async for line in read_lines(reader, limit, skip_long=skip_long)]


@pytest.mark.parametrize(("chunks", "expected"), [
    ([b'{"a":1}\n{"b":2}\n'], [b'{"a":1}', b'{"b":2}']),
    ([b'{"a"', b':1}\n{"b"', b":2}\n"], [b'{"a":1}', b'{"b":2}']),  # split anywhere
    ([b"one\ntwo"], [b"one", b"two"]),  # a last line without newline still counts
    ([b"\n\nx\n"], [b"", b"", b"x"]),  # empty lines are the caller's to skip
    ([b"a", b"b", b"c", b"\n"], [b"abc"]),
    ([], []),
])
async def test_lines_whatever_the_chunking(chunks: list[bytes], expected: list[bytes]) -> None:
    assert await _lines(chunks) == expected


async def test_over_long_line_raises_or_is_skipped() -> None:
    long = b"x" * 150
    with pytest.raises(LineTooLong):
        await _lines([b"ok\n" + long + b"\nafter\n"])
    with pytest.raises(LineTooLong):  # still growing across chunks, no newline yet
        await _lines([b"ok\n", long[:80], long[80:]])
    assert await _lines([b"ok\n" + long + b"\nafter\n"], skip_long=True) == [b"ok", b"after"]
    skipped = await _lines([b"ok\n", long[:80], long[80:], b"yy", b"\nafter\n"], skip_long=True)
    assert [x for x in skipped if x] == [b"ok", b"after"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=20), st.data())
def test_any_chunking_gives_the_same_lines(lines: list[bytes], data: st.DataObject) -> None:
    blob = b"".join(line + b"\n" for line in lines)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(blob)), max_size=10)))
    chunks = [blob[a:b] for a, b in zip([0, *cuts], [*cuts, len(blob)], strict=True)]
    assert asyncio.run(_lines([c for c in chunks if c])) == lines


async def test_writes_of_one_pass_leave_in_one_write_in_order() -> None:
    loop = asyncio.get_running_loop()
    r, w = os.pipe()
    transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, os.fdopen(w, "wb"))
    writer = asyncio.StreamWriter(transport, protocol, None, loop)
    calls: list[bytes] = []
    real_write = writer.write

    def counting(data: bytes) -> None:
        calls.append(data)
        real_write(data)

    writer.write = counting  # type: ignore[method-assign]
    out = LineWriter(writer, loop)
    for i in range(16):
        out.write_line(b'{"id":%d}' % i)
    assert calls == []  # nothing before the pass ends
    await asyncio.sleep(0)
    await out.drain()
    assert len(calls) == 1
    out.write_line(b"last")
    await asyncio.sleep(0)
    assert len(calls) == 2
    expected = b"".join(b'{"id":%d}\n' % i for i in range(16)) + b"last\n"
    got = b""
    while len(got) < len(expected):  # both writes are in the pipe already: this cannot block
        got += os.read(r, 65536)
    writer.close()
    os.close(r)
    assert got == expected


@pytest.mark.parametrize(("chunks", "skip_long", "lines", "error"), [
    ([b"a\nb\n"], False, [[b"a", b"b"]], False),
    ([b"ok\n" + b"x" * 150 + b"\nafter\n"], False, [[b"ok"]], True),  # the lines before it still count
    ([b"ok\n" + b"x" * 150 + b"\nafter\n"], True, [[b"ok", b"after"]], False),
    ([b"x" * 80, b"x" * 80, b"\nnext\n"], True, [[], [], [b"", b"next"]], False),
    ([b"x" * 80, b"x" * 80], False, [[], []], True),  # growing past the limit with no newline yet
])
def test_splitter_table(chunks: list[bytes], skip_long: bool, lines: list[list[bytes]], error: bool) -> None:
    from bastion.transports.lines import LineSplitter

    s = LineSplitter(100, skip_long=skip_long)
    assert [s.feed(c) for c in chunks] == lines
    assert (s.error is not None) == error


def test_splitter_end_gives_the_unterminated_last_line() -> None:
    from bastion.transports.lines import LineSplitter

    s = LineSplitter(100)
    assert s.feed(b"one\ntw") == [b"one"]
    assert s.end() == b"tw"
    assert s.end() is None
