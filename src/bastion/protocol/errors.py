"""Error codes the gateway puts on the wire.

JSON-RPC reserves -32768..-32000. MCP (2026-07-28) allocates -32020 and up for the spec and leaves
-32000..-32019 to implementations; the SDKs use -32000 and -32001. mcp-bastion's own codes sit in
-32010..-32019 and never change meaning: clients and dashboards may match on them.
"""

from __future__ import annotations

from typing import Final

PARSE_ERROR: Final = -32700
INVALID_REQUEST: Final = -32600
METHOD_NOT_FOUND: Final = -32601
INVALID_PARAMS: Final = -32602
INTERNAL_ERROR: Final = -32603

# MCP 2026-07-28
HEADER_MISMATCH: Final = -32020
MISSING_REQUIRED_CLIENT_CAPABILITY: Final = -32021
UNSUPPORTED_PROTOCOL_VERSION: Final = -32022

# mcp-bastion
DENIED: Final = -32010
"""A guard refused the message; ``error.data.rule`` names the rule."""
UPSTREAM_UNAVAILABLE: Final = -32011
"""The upstream server is not running or its connection broke."""
UPSTREAM_TIMEOUT: Final = -32012
"""The upstream server did not answer within its configured timeout."""
MESSAGE_TOO_LARGE: Final = -32013
"""The message exceeds the configured size or nesting limit."""
UNKNOWN_TARGET: Final = -32014
"""No upstream serves the named tool, prompt or resource."""
