"""How an upstream connection hands messages that belong to a client request back to the gateway."""

from __future__ import annotations

from typing import Protocol

from bastion.protocol.jsonrpc import JSONObj


class Relay(Protocol):
    """The client side of one in-flight request, as seen by the upstream connection."""

    stateless_client: bool
    """True when the client speaks 2026-07-28: it takes ``input_required`` results itself."""
    client_capabilities: JSONObj
    """What the client behind the request declared; a 2026-07-28 upstream is told exactly this."""
    log_level: str | None
    """The log level the client asked for (None: no log messages), for 2026-07-28 upstreams."""

    def notify(self, obj: JSONObj) -> None:
        """A notification related to the request (progress, log message), ids already mapped back.
        Must not block: it queues the message for the client."""

    async def server_request(self, method: str, params: JSONObj | None) -> JSONObj:
        """Ask the client (elicitation, sampling, roots) and return its JSON-RPC response object
        (with ``result`` or ``error``)."""
        ...
