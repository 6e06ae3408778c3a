from __future__ import annotations

import pytest

from bastion.scan.jsonc import loads, strip


@pytest.mark.parametrize(("text", "value"), [
    ('{"a": 1}', {"a": 1}),
    ('{"a": 1, // c\n "b": [1, 2,], /* x */ }', {"a": 1, "b": [1, 2]}),
    ('{"url": "http://x//y", "s": "/* not a comment */"}', {"url": "http://x//y", "s": "/* not a comment */"}),
    ('{"q": "a\\"//b"}', {"q": 'a"//b'}),
])
def test_loads(text: str, value: object) -> None:
    assert loads(text) == value


def test_strip_keeps_commas_between_items() -> None:
    assert strip('[1, 2]') == '[1, 2]'
