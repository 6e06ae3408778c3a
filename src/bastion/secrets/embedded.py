"""Secret references inside configuration strings, e.g. an upstream header
``Authorization: "Bearer secret://vault/kv/github#token"``: each ``secret://…`` token is replaced by
its current value when the connection is made, so a rotated secret is used from the next connect on.
The client's own credentials never travel upstream; these are the upstream's own (zone 3).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from bastion.secrets.providers import Resolver
from bastion.secrets.refs import SecretRef

REF = re.compile(r"secret://[^\s\"',;]+")


def refs_in(text: str) -> list[str]:
    return REF.findall(text)


def validate(text: str) -> None:
    """Raise ValueError if ``text`` holds a malformed reference."""
    for ref in refs_in(text):
        SecretRef.parse(ref)


async def resolve_text(text: str, resolver: Resolver | None = None) -> str:
    refs = refs_in(text)
    if not refs:
        return text
    r = resolver or Resolver.from_env()
    for ref in dict.fromkeys(refs):
        text = text.replace(ref, await r.aresolve(ref))
    return text


async def resolve_headers(headers: Mapping[str, str], resolver: Resolver | None = None) -> dict[str, str]:
    """Headers with every embedded reference resolved (values are registered with the redactor)."""
    if not any(refs_in(v) for v in headers.values()):
        return dict(headers)
    r = resolver or Resolver.from_env()
    return {k: await resolve_text(v, r) for k, v in headers.items()}
