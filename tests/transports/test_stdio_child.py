"""How the server's stdout is cut into messages (:class:`bastion.transports.stdio_child._Lines`)."""

from __future__ import annotations

import asyncio

import pytest

from bastion.transports.stdio_child import _Lines


@pytest.mark.parametrize(("chunks", "messages"), [
    ([b'{"a":1}\n{"b":2}\n'], [b'{"a":1}', b'{"b":2}']),
    ([b'{"a":1}\r\n'], [b'{"a":1}']),  # CRLF line ends
    ([b'  {"a":1}  \n'], [b'{"a":1}']),  # blanks around a message
    ([b'\n\r\n  \n{"a":1}\n'], [b'{"a":1}']),  # blank lines are no messages
    ([b'{"a":', b'1}\n{"b"', b':2}\r\n'], [b'{"a":1}', b'{"b":2}']),  # split anywhere
    ([b'[1]\n"x"\n'], [b"[1]", b'"x"']),  # not objects: passed on, for the parser to refuse
])
async def test_each_message_is_passed_on_without_its_line_end_and_blanks(chunks: list[bytes],
                                                                         messages: list[bytes]) -> None:
    got: list[bytes] = []
    lines = _Lines(got.append, asyncio.get_running_loop().create_future(), None)
    for chunk in chunks:
        lines.data_received(chunk)
    assert got == messages
