"""Newline-delimited messages: chunked line reading and per-pass coalesced writing."""

from __future__ import annotations

import asyncio
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.transports.lines import LineTooLong, LineWriter, begin_batch, end_batch, read_lines


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


async def test_lines_written_in_a_batch_leave_when_it_ends_one_write_per_writer() -> None:
    loop = asyncio.get_running_loop()
    pipes = [os.pipe() for _ in range(2)]
    writes: list[list[bytes]] = [[], []]
    outs = []
    for (_r, w), seen in zip(pipes, writes, strict=True):
        transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, os.fdopen(w, "wb"))
        writer = asyncio.StreamWriter(transport, protocol, None, loop)
        real = writer.write
        writer.write = lambda data, real=real, seen=seen: (seen.append(data), real(data))[1]  # type: ignore[method-assign]
        outs.append(LineWriter(writer, loop))
    begin_batch()
    begin_batch()  # batches nest: only the outermost end writes
    for i in range(3):
        outs[0].write_line(b"a%d" % i)
        outs[1].write_line(b"b%d" % i)
    end_batch()
    assert writes == [[], []]
    end_batch()
    assert writes == [[b"a0\na1\na2\n"], [b"b0\nb1\nb2\n"]]  # at once, before the loop ran again
    outs[0].write_line(b"later")  # outside a batch: at the end of the pass, as before
    assert len(writes[0]) == 1
    await asyncio.sleep(0)
    assert writes[0][-1] == b"later\n"
    for out, (r, _) in zip(outs, pipes, strict=True):
        out.stream.close()
        os.close(r)


async def test_a_writer_that_fails_at_the_end_of_a_batch_does_not_hold_back_the_others() -> None:
    class Broken:
        def is_closing(self) -> bool:
            raise OSError("gone")

    class Kept:
        def __init__(self) -> None:
            self.data: list[bytes] = []

        def is_closing(self) -> bool:
            return False

        def write(self, data: bytes) -> None:
            self.data.append(data)

    loop = asyncio.get_running_loop()
    kept = Kept()
    broken_out, kept_out = LineWriter(Broken(), loop), LineWriter(kept, loop)  # type: ignore[arg-type]
    begin_batch()
    broken_out.write_line(b"x")
    kept_out.write_line(b"y")
    end_batch()
    assert kept.data == [b"y\n"]
    kept_out.write_line(b"z")  # the batch is over: nothing is left holding
    await asyncio.sleep(0)
    assert kept.data == [b"y\n", b"z\n"]
