"""Secret references: ``secret://PROVIDER/LOCATION[#KEY]``.

- ``secret://vault/kv/github#token`` — Vault/OpenBao KV v2: mount ``kv``, path ``github``, key
  ``token`` (nested paths work: ``secret://vault/kv/team/ci/github#token``). Without ``#KEY`` the
  secret must hold exactly one key.
- ``secret://file/relative/path`` — a file relative to the file provider's base directory;
  ``secret://file//abs/path`` (two slashes) for an absolute path. The whole file is the value,
  one trailing newline removed.
- ``secret://env/NAME`` — an environment variable of the bastion process (development only).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PREFIX = "secret://"
_ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class SecretRef:
    """A parsed secret reference. ``location`` is provider-specific; ``key`` is the part after ``#``."""

    provider: str
    location: str
    key: str | None = None

    @classmethod
    def parse(cls, text: str) -> SecretRef:
        """Parse a reference, raising ``ValueError`` that says what is wrong."""
        if not text.startswith(PREFIX):
            raise ValueError(f"secret reference {text!r} must start with {PREFIX!r}")
        body = text[len(PREFIX) :]
        provider, sep, rest = body.partition("/")
        if not sep or not rest:
            raise ValueError(f"secret reference {text!r} must be secret://PROVIDER/LOCATION")
        location, hash_, key = rest.partition("#")
        if hash_ and not key:
            raise ValueError(f"secret reference {text!r} has an empty #key")
        ref = cls(provider=provider, location=location, key=key or None)
        ref._validate(text)
        return ref

    def _validate(self, text: str) -> None:
        if self.provider == "vault":
            mount, _, path = self.location.partition("/")
            if not mount or not path.strip("/"):
                raise ValueError(f"vault reference {text!r} must be secret://vault/MOUNT/PATH#KEY")
        elif self.provider == "file":
            if not self.location.strip("/"):
                raise ValueError(f"file reference {text!r} has no path")
            if self.key is not None:
                raise ValueError(f"file reference {text!r} does not take a #key")
        elif self.provider == "env":
            if not _ENV_RE.match(self.location) or self.key is not None:
                raise ValueError(f"env reference {text!r} must be secret://env/NAME")
        elif not re.match(r"^[a-z][a-z0-9_-]*$", self.provider):
            raise ValueError(f"secret reference {text!r} has an invalid provider name")

    @property
    def mount(self) -> str:
        """Vault: the secrets engine mount (first path segment)."""
        return self.location.partition("/")[0]

    @property
    def path(self) -> str:
        """Vault: the secret path under the mount. File: the file path."""
        if self.provider == "vault":
            return self.location.partition("/")[2].strip("/")
        return self.location

    def __str__(self) -> str:
        return f"{PREFIX}{self.provider}/{self.location}" + (f"#{self.key}" if self.key else "")
