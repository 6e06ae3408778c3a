from __future__ import annotations

import pytest

from bastion.secrets.embedded import refs_in, resolve_headers, validate
from bastion.secrets.providers import EnvProvider, Resolver
from bastion.secrets.redact import Redactor


def test_refs_in_header_values() -> None:
    assert refs_in("Bearer secret://vault/kv/app#token") == ["secret://vault/kv/app#token"]
    assert refs_in("plain") == []
    with pytest.raises(ValueError):
        validate("Bearer secret://nowhere")


async def test_resolve_headers_registers_values() -> None:
    red = Redactor()
    resolver = Resolver({"env": EnvProvider({"UP_TOKEN": "up-token-value"})}, redactor=red)
    headers = await resolve_headers({"Authorization": "Bearer secret://env/UP_TOKEN", "X": "y"}, resolver)
    assert headers == {"Authorization": "Bearer up-token-value", "X": "y"}
    assert red.redact("log: up-token-value") == "log: [REDACTED:secret]"
