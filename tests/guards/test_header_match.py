from __future__ import annotations

import pytest

from bastion.guards.base import Allow, Context, Deny
from bastion.guards.header_match import HeaderMatchGuard
from bastion.protocol import errors
from bastion.protocol.eras import META_PROTOCOL_VERSION, Era
from bastion.protocol.jsonrpc import Message

CALL = Message.from_obj({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                         "params": {"name": "echo", "_meta": {META_PROTOCOL_VERSION: "2026-07-28"}}})
READ = Message.from_obj({"jsonrpc": "2.0", "id": 1, "method": "resources/read", "params": {"uri": "file:///a"}})
LIST = Message.from_obj({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})

OK = {"mcp-method": "tools/call", "mcp-name": "echo", "mcp-protocol-version": "2026-07-28"}

CASES = [
    (CALL, OK, "http", Era.STATELESS, None),
    (CALL, {**OK, "mcp-method": "tools/list"}, "http", Era.STATELESS, "header_match.method"),
    (CALL, {k: v for k, v in OK.items() if k != "mcp-method"}, "http", Era.STATELESS, "header_match.method"),
    (CALL, {**OK, "mcp-name": "other"}, "http", Era.STATELESS, "header_match.name"),
    (CALL, {k: v for k, v in OK.items() if k != "mcp-name"}, "http", Era.STATELESS, "header_match.name"),
    (CALL, {**OK, "mcp-protocol-version": "2099-01-01"}, "http", Era.STATELESS, "header_match.version"),
    (READ, {"mcp-method": "resources/read", "mcp-name": "file:///a"}, "http", Era.STATELESS, None),
    (READ, {"mcp-method": "resources/read", "mcp-name": "file:///b"}, "http", Era.STATELESS, "header_match.name"),
    (LIST, {"mcp-method": "tools/list"}, "http", Era.STATELESS, None),
    # handshake era and non-HTTP transports carry no routing headers
    (CALL, {}, "http", Era.HANDSHAKE, None),
    (CALL, {}, "stdio", Era.STATELESS, None),
    (CALL, {}, "websocket", Era.STATELESS, None),
]


@pytest.mark.parametrize(("msg", "headers", "transport", "era", "rule"), CASES)
def test_header_match(msg: Message, headers: dict[str, str], transport: str, era: Era, rule: str | None) -> None:
    ctx = Context(session_id="s", era=era, transport=transport, method=msg.method, headers=headers)
    verdict = HeaderMatchGuard().on_request(msg, ctx)
    if rule is None:
        assert isinstance(verdict, Allow)
    else:
        assert isinstance(verdict, Deny)
        assert verdict.rule == rule
        assert verdict.code == errors.HEADER_MISMATCH


SCHEMA = {"type": "object", "properties": {"region": {"type": "string", "x-mcp-header": "Region"},
                                           "n": {"type": "integer", "x-mcp-header": "N"}, "q": {"type": "string"}}}


@pytest.mark.parametrize(("args", "headers", "rule"), [
    ({"region": "eu", "n": 3, "q": "x"}, {"mcp-param-region": "eu", "mcp-param-n": "3"}, None),
    ({"q": "x"}, {}, None),
    ({"region": "eu"}, {}, "header_match.param"),  # missing
    ({}, {"mcp-param-region": "eu"}, "header_match.param"),  # extra
    ({"region": "eu"}, {"mcp-param-region": "us"}, "header_match.param"),  # different
    ({"region": "Zürich west"}, {"mcp-param-region": "=?base64?WsO8cmljaCB3ZXN0?="}, None),
    ({"region": "Zürich west"}, {"mcp-param-region": "=?base64?!!notb64?="}, "header_match.param"),
])
def test_param_headers(args: dict[str, object], headers: dict[str, str], rule: str | None) -> None:
    msg = Message.from_obj({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                            "params": {"name": "sql", "arguments": args}})
    ctx = Context(session_id="s", era=Era.STATELESS, transport="http", method="tools/call",
                  headers={"mcp-method": "tools/call", "mcp-name": "sql", **headers},
                  extra={"input_schema": SCHEMA})
    verdict = HeaderMatchGuard().on_request(msg, ctx)
    if rule is None:
        assert isinstance(verdict, Allow)
    else:
        assert isinstance(verdict, Deny) and verdict.rule == rule


def test_param_header_encoding_roundtrip() -> None:
    from bastion.guards.header_match import decode_param, encode_param, param_headers

    assert encode_param("plain") == "plain"
    for value in (" padded ", "Zürich", "=?base64?abc?="):
        encoded = encode_param(value)
        assert encoded.startswith("=?base64?") and decode_param(encoded) == value
    assert param_headers(SCHEMA, {"region": "eu", "n": 7}) == {"Mcp-Param-Region": "eu", "Mcp-Param-N": "7"}
