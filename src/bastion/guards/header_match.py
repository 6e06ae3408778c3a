"""Header/body match for stateless-era (2026-07-28) HTTP requests.

A 2026-07-28 client repeats routing facts in HTTP headers so that load balancers and gateways can
route without reading the body: ``Mcp-Method`` (the JSON-RPC method), ``Mcp-Name`` (the tool or
prompt name, or the resource URI) and ``MCP-Protocol-Version`` (the version in
``params._meta``). If a header disagrees with the body, an intermediary and the server could act on
different requests, so the request is refused with error -32020 (rule ``header_match.method``,
``header_match.name`` or ``header_match.version``) before routing. A missing ``Mcp-Method`` is a
mismatch too. Tool arguments whose schema carries ``x-mcp-header: X`` also travel as
``Mcp-Param-X`` headers (SEP-2243); a missing, extra, malformed or different one is refused by rule
``header_match.param`` (checked once the tool's schema is known from a ``tools/list``).
Handshake-era requests, stdio and WebSocket carry no such headers and pass.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from bastion.guards.base import ALLOW, BaseGuard, Context, Deny, Verdict
from bastion.protocol import errors
from bastion.protocol.eras import META_PROTOCOL_VERSION, Era
from bastion.protocol.jsonrpc import Message

NAME_PARAM = {
    "tools/call": "name",
    "prompts/get": "name",
    "resources/read": "uri",
    "resources/subscribe": "uri",
    "resources/unsubscribe": "uri",
}


def expected_name(msg: Message) -> str | None:
    key = NAME_PARAM.get(msg.method)
    if key is None:
        return None
    value = msg.params.get(key)
    return value if isinstance(value, str) else None


class HeaderMatchGuard(BaseGuard):
    name: ClassVar[str] = "header_match"
    transports: ClassVar[frozenset[str] | None] = frozenset({"http"})

    def on_request(self, msg: Message, ctx: Context) -> Verdict:
        if ctx.transport != "http" or ctx.era is not Era.STATELESS:
            return ALLOW
        h = ctx.headers
        method = h.get("mcp-method")
        if method != msg.method:
            shown = "missing" if method is None else repr(method)
            return Deny(
                "header_match.method",
                f"Mcp-Method header {shown} does not match body method {msg.method!r}",
                errors.HEADER_MISMATCH,
            )
        want = expected_name(msg)
        got = h.get("mcp-name")
        if want is not None and got != want:
            shown = "missing" if got is None else repr(got)
            return Deny(
                "header_match.name", f"Mcp-Name header {shown} does not match body {want!r}", errors.HEADER_MISMATCH
            )
        meta = msg.params.get("_meta")
        body_version = meta.get(META_PROTOCOL_VERSION) if isinstance(meta, dict) else None
        header_version = h.get("mcp-protocol-version")
        if body_version is not None and header_version is not None and body_version != header_version:
            return Deny(
                "header_match.version",
                f"MCP-Protocol-Version header {header_version!r} does not match _meta {body_version!r}",
                errors.HEADER_MISMATCH,
            )
        if msg.method == "tools/call":
            why = check_param_headers(ctx.extra.get("input_schema"), msg.params.get("arguments"), h)
            if why is not None:
                return Deny("header_match.param", why, errors.HEADER_MISMATCH)
        return ALLOW


# ---- SEP-2243 custom parameter headers: a tool's top-level argument annotated ``x-mcp-header: X``
# travels as ``Mcp-Param-X`` too (plain printable ASCII verbatim, anything else ``=?base64?...?=``).

_HEADER_SAFE = re.compile(r"[\x20-\x7e]*")
_B64_SENTINEL = re.compile(r"=\?base64\?(?P<payload>[^?]*)\?=")


def _annotated(schema: Any) -> list[tuple[str, str]]:
    """(argument, header token) pairs of a tool input schema's top-level ``x-mcp-header`` properties."""
    props = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(props, dict):
        return []
    return [(arg, sub["x-mcp-header"]) for arg, sub in props.items()
            if isinstance(sub, dict) and isinstance(sub.get("x-mcp-header"), str) and sub["x-mcp-header"]]


def _render(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    return value if isinstance(value, str) else None


def encode_param(value: str) -> str:
    if _HEADER_SAFE.fullmatch(value) and value == value.strip() and not _B64_SENTINEL.fullmatch(value):
        return value
    return f"=?base64?{base64.b64encode(value.encode()).decode()}?="


def decode_param(raw: str) -> str | None:
    m = _B64_SENTINEL.fullmatch(raw)
    if m is None:
        return raw
    try:
        data = base64.b64decode(m["payload"], validate=True)
        if base64.b64encode(data).decode() != m["payload"]:
            return None
        return data.decode()
    except (binascii.Error, UnicodeDecodeError):
        return None


def param_headers(schema: Any, arguments: Any) -> dict[str, str]:
    """The ``Mcp-Param-*`` headers a 2026-07-28 ``tools/call`` with these arguments must carry."""
    args = arguments if isinstance(arguments, dict) else {}
    out = {}
    for arg, token in _annotated(schema):
        rendered = _render(args.get(arg))
        if rendered is not None:
            out[f"Mcp-Param-{token}"] = encode_param(rendered)
    return out


def check_param_headers(schema: Any, arguments: Any, headers: Mapping[str, str]) -> str | None:
    """Why the request's ``Mcp-Param-*`` headers disagree with its arguments, or None."""
    args = arguments if isinstance(arguments, dict) else {}
    for arg, token in _annotated(schema):
        raw = headers.get(f"mcp-param-{token.lower()}")
        rendered = _render(args.get(arg))
        if rendered is None:
            if raw is not None:
                return f"Mcp-Param-{token} header is present but argument {arg!r} is not"
            continue
        if raw is None:
            return f"Mcp-Param-{token} header is missing but argument {arg!r} is present"
        decoded = decode_param(raw)
        if decoded is None:
            return f"Mcp-Param-{token} header carries a malformed base64 value"
        if decoded != rendered:
            return f"Mcp-Param-{token} header does not match argument {arg!r}"
    return None
