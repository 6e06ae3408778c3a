"""Secret providers and the resolver that turns ``secret://`` references into values.

Providers:

- ``vault`` — HashiCorp Vault / OpenBao KV v2 (:mod:`bastion.secrets.vault`, needs ``hvac``);
- ``file`` — files under a base directory (default: the working directory); absolute paths with
  ``secret://file//abs/path``;
- ``env`` — variables of the bastion process; for development only, a warning is logged on use.

Every value a :class:`Resolver` returns is registered with the redactor first, so it cannot appear
in bastion's logs. Nothing is cached: each call reads the source again, so rotation takes effect
at the next (re)launch.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from bastion.secrets.redact import Redactor, default_redactor
from bastion.secrets.refs import SecretRef

_log = logging.getLogger(__name__)


class SecretError(RuntimeError):
    """A secret could not be resolved. The message names the reference, never the value."""


class Provider(Protocol):
    """Reads one secret. Implementations are blocking; the resolver runs them off the loop."""

    name: str

    def get(self, ref: SecretRef) -> str: ...


class FileProvider:
    """Secrets stored as files (e.g. Kubernetes secret volumes, Docker secrets)."""

    name = "file"

    def __init__(self, base_dir: str | os.PathLike[str] | None = None) -> None:
        self._base = Path(base_dir) if base_dir is not None else None

    def get(self, ref: SecretRef) -> str:
        raw = ref.path
        if raw.startswith("/"):
            path = Path(raw)
        else:
            path = (self._base or Path.cwd()) / raw
        try:
            data = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SecretError(f"{ref}: cannot read {path}: {exc.strerror or exc}") from None
        if data.endswith("\n"):
            data = data[:-1]
            if data.endswith("\r"):
                data = data[:-1]
        return data


class EnvProvider:
    """Secrets from the bastion process environment — development only (warned on every use)."""

    name = "env"

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = environ

    def get(self, ref: SecretRef) -> str:
        environ = self._environ if self._environ is not None else os.environ
        _log.warning("secret %s comes from the environment: use vault or file in production", ref)
        try:
            return environ[ref.location]
        except KeyError:
            raise SecretError(f"{ref}: environment variable {ref.location} is not set") from None


class Resolver:
    """Maps provider names to providers and resolves references, registering each value."""

    def __init__(
        self,
        providers: Mapping[str, Provider] | None = None,
        *,
        redactor: Redactor | None = None,
    ) -> None:
        self._providers: dict[str, Provider] = dict(providers or {})
        self._redactor = redactor if redactor is not None else default_redactor

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Resolver:
        """The default resolver: ``file`` and ``env`` always; ``vault`` when ``VAULT_ADDR`` or
        ``BAO_ADDR`` is set (auth from the environment, see :meth:`VaultProvider.from_env`)."""
        env = environ if environ is not None else os.environ
        providers: dict[str, Provider] = {"file": FileProvider(), "env": EnvProvider()}
        if env.get("VAULT_ADDR") or env.get("BAO_ADDR"):
            from bastion.secrets.vault import VaultProvider

            providers["vault"] = VaultProvider.from_env(env)
        return cls(providers)

    def add(self, provider: Provider) -> None:
        """Register (or replace) a provider under its ``name``."""
        self._providers[provider.name] = provider

    def resolve(self, ref: str | SecretRef) -> str:
        """Return the current value of ``ref`` (blocking)."""
        parsed = SecretRef.parse(ref) if isinstance(ref, str) else ref
        provider = self._providers.get(parsed.provider)
        if provider is None:
            raise SecretError(
                f"{parsed}: no provider {parsed.provider!r} configured "
                f"(available: {', '.join(sorted(self._providers)) or 'none'})"
            )
        try:
            value = provider.get(parsed)
        except SecretError:
            raise
        except Exception as exc:  # provider libraries raise many types; never echo values
            raise SecretError(f"{parsed}: {type(exc).__name__}: {exc}") from None
        self._redactor.register(value)
        return value

    async def aresolve(self, ref: str | SecretRef) -> str:
        """Like :meth:`resolve`, run in a worker thread so the event loop never blocks."""
        return await asyncio.to_thread(self.resolve, ref)
