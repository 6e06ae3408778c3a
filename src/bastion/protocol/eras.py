"""The two protocol eras of MCP and the versions in each."""

from __future__ import annotations

from enum import Enum
from typing import Final

HANDSHAKE_VERSIONS: Final[tuple[str, ...]] = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
STATELESS_VERSIONS: Final[tuple[str, ...]] = ("2026-07-28",)
LATEST_HANDSHAKE: Final = HANDSHAKE_VERSIONS[-1]
LATEST_STATELESS: Final = STATELESS_VERSIONS[-1]
ALL_VERSIONS: Final[tuple[str, ...]] = HANDSHAKE_VERSIONS + STATELESS_VERSIONS

META_PROTOCOL_VERSION: Final = "io.modelcontextprotocol/protocolVersion"
META_CLIENT_INFO: Final = "io.modelcontextprotocol/clientInfo"
META_CLIENT_CAPABILITIES: Final = "io.modelcontextprotocol/clientCapabilities"
META_LOG_LEVEL: Final = "io.modelcontextprotocol/logLevel"
META_SERVER_INFO: Final = "io.modelcontextprotocol/serverInfo"


class Era(str, Enum):
    """Which protocol era a peer speaks."""

    HANDSHAKE = "handshake"
    """2024-11-05 … 2025-11-25: ``initialize``, sessions, server-to-client requests."""
    STATELESS = "stateless"
    """2026-07-28: no handshake; version and capabilities in each request's ``_meta``."""


def era_of(version: str) -> Era:
    return Era.STATELESS if version in STATELESS_VERSIONS else Era.HANDSHAKE


def negotiate_handshake(requested: object) -> str:
    """The version the gateway answers an ``initialize`` with (the spec's negotiation rule)."""
    if isinstance(requested, str) and requested in HANDSHAKE_VERSIONS:
        return requested
    return LATEST_HANDSHAKE
