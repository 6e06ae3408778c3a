"""Header/body match for stateless-era (2026-07-28) HTTP requests.

A 2026-07-28 client repeats routing facts in HTTP headers so that load balancers and gateways can
route without reading the body: ``Mcp-Method`` (the JSON-RPC method), ``Mcp-Name`` (the tool or
prompt name, or the resource URI) and ``MCP-Protocol-Version`` (the version in
``params._meta``). If a header disagrees with the body, an intermediary and the server could act on
different requests, so the request is refused with error -32020 (rule ``header_match.method``,
``header_match.name`` or ``header_match.version``) before routing. A missing ``Mcp-Method`` is a
mismatch too. Handshake-era requests, stdio and WebSocket carry no such headers and pass.
"""

from __future__ import annotations

from typing import ClassVar

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
        return ALLOW
