"""Secrets for sandboxed MCP servers: references, providers and redaction.

``secret://vault/kv/github#token`` / ``secret://file/path`` / ``secret://env/NAME`` references
are resolved by a :class:`Resolver` (``Resolver.from_env()`` is the default) and every value is
registered with :data:`default_redactor` before anyone sees it. The sandbox delivers values as
in-memory files (see :class:`bastion.sandbox.config.SecretDelivery`).
"""

from bastion.secrets.providers import EnvProvider, FileProvider, Provider, Resolver, SecretError
from bastion.secrets.redact import (
    MARK,
    RedactingFilter,
    Redactor,
    default_redactor,
    install_log_redaction,
)
from bastion.secrets.refs import SecretRef

__all__ = [
    "MARK",
    "EnvProvider",
    "FileProvider",
    "Provider",
    "RedactingFilter",
    "Redactor",
    "Resolver",
    "SecretError",
    "SecretRef",
    "default_redactor",
    "install_log_redaction",
]
