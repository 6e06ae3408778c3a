from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.protocol import errors
from bastion.protocol.jsonrpc import Kind, Message, ProtocolError, encode, error_obj, parse, with_id

CASES = [
    (b'{"jsonrpc":"2.0","id":1,"method":"tools/list"}', Kind.REQUEST),
    (b'{"jsonrpc":"2.0","id":"a","method":"x","params":{}}', Kind.REQUEST),
    (b'{"jsonrpc":"2.0","method":"notifications/initialized"}', Kind.NOTIFICATION),
    (b'{"jsonrpc":"2.0","id":1,"result":{}}', Kind.RESPONSE),
    (b'{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"m"}}', Kind.ERROR),
]


@pytest.mark.parametrize(("raw", "kind"), CASES)
def test_parse_kinds(raw: bytes, kind: Kind) -> None:
    msg = parse(raw)
    assert msg.kind is kind
    assert msg.raw is raw


BAD = [
    (b"{not json", errors.PARSE_ERROR),
    (b"[]", errors.INVALID_REQUEST),
    (b'[{"jsonrpc":"2.0","id":1,"method":"a"}]', errors.INVALID_REQUEST),
    (b'"str"', errors.INVALID_REQUEST),
    (b'{"id":1,"method":"a"}', errors.INVALID_REQUEST),
    (b'{"jsonrpc":"2.0","id":null,"method":"a"}', errors.INVALID_REQUEST),
    (b'{"jsonrpc":"2.0","id":true,"method":"a"}', errors.INVALID_REQUEST),
    (b'{"jsonrpc":"2.0","id":1,"method":5}', errors.INVALID_REQUEST),
    (b'{"jsonrpc":"2.0","id":1,"method":"a","params":[1]}', errors.INVALID_REQUEST),
    (b'{"jsonrpc":"2.0","id":1}', errors.INVALID_REQUEST),
]


@pytest.mark.parametrize(("raw", "code"), BAD)
def test_parse_rejects(raw: bytes, code: int) -> None:
    with pytest.raises(ProtocolError) as info:
        parse(raw)
    assert info.value.code == code


def test_error_keeps_request_id_when_readable() -> None:
    with pytest.raises(ProtocolError) as info:
        parse(b'{"jsonrpc":"1.0","id":7,"method":"a"}')
    assert info.value.request_id == 7


def test_from_obj_roundtrip() -> None:
    msg = Message.from_obj(error_obj(3, -1, "m", {"rule": "r"}))
    assert msg.kind is Kind.ERROR
    assert orjson.loads(msg.raw) == msg.obj
    assert encode(msg.obj) == msg.raw


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@given(st.binary(max_size=200))
def test_parse_never_crashes_on_bytes(raw: bytes) -> None:
    try:
        parse(raw)
    except ProtocolError as exc:
        assert exc.code in (errors.PARSE_ERROR, errors.INVALID_REQUEST)


@given(json_values)
def test_parse_never_crashes_on_json(value: object) -> None:
    raw = orjson.dumps(value)
    try:
        msg = parse(raw)
    except ProtocolError as exc:
        assert exc.code in (errors.PARSE_ERROR, errors.INVALID_REQUEST)
    else:
        assert isinstance(msg.obj, dict)


def _reference(obj: dict[str, object]) -> tuple[Kind, str, object]:
    """What a message is by the rules alone (the slow path): kind, method and id."""
    from bastion.protocol.jsonrpc import _id, classify

    kind = classify(obj)
    if kind in (Kind.REQUEST, Kind.NOTIFICATION):
        return kind, str(obj["method"]), obj["id"] if kind is Kind.REQUEST else None
    return kind, "", _id(obj)


message_like = st.fixed_dictionaries(
    {},
    optional={
        "jsonrpc": st.sampled_from(["2.0", "1.0", 2]),
        "id": st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=3) | st.floats(allow_nan=False),
        "method": st.none() | st.sampled_from(["tools/call", ""]) | st.integers(0, 2),
        "params": st.none() | st.dictionaries(st.text(max_size=3), st.integers(-9, 9), max_size=2)
        | st.lists(st.integers(-9, 9)),
        "result": st.none() | st.dictionaries(st.text(max_size=3), st.integers(-9, 9), max_size=2),
        "error": st.none() | st.fixed_dictionaries({"code": st.integers(-9, 9), "message": st.text(max_size=3)}),
    },
)


@settings(max_examples=400)
@given(message_like)
def test_the_quick_look_at_common_shapes_agrees_with_the_rules(obj: dict[str, object]) -> None:
    """parse() tells the usual shapes apart without classify(); whatever the object, it must come
    to the same kind, method and id, or the same error."""
    raw = orjson.dumps(obj)
    try:
        expected = _reference(obj)
    except ProtocolError as exc:
        with pytest.raises(ProtocolError) as got:
            parse(raw)
        assert (got.value.code, got.value.message) == (exc.code, exc.message)
        return
    msg = parse(raw)
    assert (msg.kind, msg.method, msg.id) == expected


def test_huge_integer_is_a_clean_error_or_value() -> None:
    raw = b'{"jsonrpc":"2.0","id":1,"method":"a","params":{"n":' + b"9" * 400 + b"}}"
    try:
        msg = parse(raw)
    except ProtocolError as exc:
        assert exc.code == errors.PARSE_ERROR
    else:
        assert msg.kind is Kind.REQUEST


@pytest.mark.parametrize(("raw", "old", "new", "expected"), [
    (b'{"jsonrpc":"2.0","id":7,"result":{"a":1}}', 7, "c-1", b'{"jsonrpc":"2.0","id":"c-1","result":{"a":1}}'),
    (b'{"result":{"a":1},"jsonrpc":"2.0","id":7}', 7, 12, b'{"result":{"a":1},"jsonrpc":"2.0","id":12}'),
    (b'{"jsonrpc":"2.0","id":"x","result":{}}', "x", None, b'{"jsonrpc":"2.0","id":null,"result":{}}'),
    (b'{"jsonrpc":"2.0","id":7,"method":"m","params":{"b":2,"a":1}}', 7, 1234,
     b'{"jsonrpc":"2.0","id":1234,"method":"m","params":{"b":2,"a":1}}'),  # integers, the usual case
    (b'{"jsonrpc":"2.0","id":-3,"result":{}}', -3, 0, b'{"jsonrpc":"2.0","id":0,"result":{}}'),
    (b'{"jsonrpc":"2.0","id":71,"method":"m"}', 7, 1, None),  # integers: a longer id that starts alike
    (b'{"jsonrpc":"2.0","id":7,"method":"m","params":{"id":1}}', 7, 1, None),  # integers: another "id"
    # not safely swappable: left to a fresh encoding
    (b'{"jsonrpc":"2.0","id":71,"result":{}}', 7, 1, None),  # a longer id that starts alike
    (b'{"jsonrpc":"2.0","id":7,"result":{"id":1}}', 7, 1, None),  # another "id" inside
    (b'{"jsonrpc":"2.0","id":7,"result":{},"id":7}', 7, 1, None),  # duplicate key
    (b'{"jsonrpc": "2.0", "id": 7, "result": {}}', 7, 1, None),  # not compact
    (b'{"id":7,"jsonrpc":"2.0","result":{}}', 7, 1, None),  # elsewhere
    (b'{"jsonrpc":"2.0","result":{"x":{"y":1},"id":7}}', 7, 1, None),  # a nested last "id"
])
def test_with_id_swaps_only_a_top_level_id_it_can_see(raw: bytes, old: int | str, new: int | str | None,
                                                      expected: bytes | None) -> None:
    out = with_id(raw, old, new)
    assert out == expected
    if out is not None:
        assert orjson.loads(out) == {**orjson.loads(raw), "id": new}


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=5), st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8), max_size=4), st.integers(0, 10**6), st.booleans(), st.one_of(st.text(max_size=6), st.integers()))
def test_with_id_never_yields_a_message_that_means_something_else(result: dict[str, object], uid: int,
                                                                  id_last: bool, new: str | int) -> None:
    obj = {"result": result, "jsonrpc": "2.0", "id": uid} if id_last else {"jsonrpc": "2.0", "id": uid, "result": result}
    raw = orjson.dumps(obj)
    out = with_id(raw, uid, new)
    if out is not None:
        assert orjson.loads(out) == {**obj, "id": new}
