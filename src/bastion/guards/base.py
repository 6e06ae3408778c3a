"""The guard interface: verdicts, context and modes.

A guard sees every message twice: ``on_request`` when a client's request or notification arrives
(after routing, so ``ctx.upstream`` and ``ctx.target`` name where it goes) and ``on_response`` when
an upstream's answer comes back (for list calls, once per upstream before the lists are merged).
It answers with a verdict:

- :data:`ALLOW`: pass the message on unchanged (its original bytes are forwarded);
- :class:`Mutate`: pass on this new object instead (e.g. a filtered list, a redacted result);
- :class:`Deny`: refuse; the client gets a JSON-RPC error with ``code``, a message naming
  ``rule``, and ``error.data = {"rule": rule}``; the connection stays up.

Guards run in config order; the first deny wins. A guard that raises is treated as a deny by rule
``<guard>.error`` (fail closed), unless its mode is ``monitor``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol

from bastion.protocol import errors
from bastion.protocol.eras import Era
from bastion.protocol.jsonrpc import JSONObj, Message

Mode = Literal["enforce", "monitor", "off"]
Phase = Literal["request", "response"]


@dataclass(frozen=True, slots=True)
class Allow:
    pass


ALLOW = Allow()


@dataclass(frozen=True, slots=True)
class Mutate:
    obj: JSONObj
    rule: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Deny:
    rule: str
    reason: str
    code: int = errors.DENIED


Verdict = Allow | Mutate | Deny


@dataclass(slots=True)
class Context:
    """What a guard knows about the exchange besides the message itself."""

    session_id: str
    era: Era
    transport: str
    principal: str = "anonymous"
    method: str = ""
    upstream: str | None = None
    """The upstream the message goes to or comes from (None for fan-out before routing)."""
    target: str | None = None
    """The tool or prompt name as the upstream knows it, or the resource URI."""
    headers: Mapping[str, str] = field(default_factory=dict)
    """HTTP request headers, lower-cased names (empty for stdio and WebSocket)."""
    request: Message | None = None
    """In the response phase: the request being answered."""
    extra: dict[str, Any] = field(default_factory=dict)


class Guard(Protocol):
    """The docstring of each implementation is the user documentation of that control."""

    name: ClassVar[str]

    def on_request(self, msg: Message, ctx: Context) -> Verdict | Awaitable[Verdict]: ...

    def on_response(self, msg: Message, ctx: Context) -> Verdict | Awaitable[Verdict]: ...


class BaseGuard:
    """Allows everything; subclasses override the phase they act on.

    A guard that acts on some methods or transports only says so, and the chain does not call it
    for the others (its checks stay in place: this only saves the call): ``request_methods`` and
    ``response_methods`` (the client's method; None: every method) and ``transports`` (None: all).
    """

    name: ClassVar[str] = "base"
    request_methods: ClassVar[frozenset[str] | None] = None
    response_methods: ClassVar[frozenset[str] | None] = None
    transports: ClassVar[frozenset[str] | None] = None

    def on_request(self, msg: Message, ctx: Context) -> Verdict | Awaitable[Verdict]:
        return ALLOW

    def on_response(self, msg: Message, ctx: Context) -> Verdict | Awaitable[Verdict]:
        return ALLOW
