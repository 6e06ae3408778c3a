"""HashiCorp Vault / OpenBao KV v2 provider (through ``hvac``; install ``hvac``).

Authentication, one of:

- :class:`TokenAuth` — a token (``VAULT_TOKEN``/``BAO_TOKEN``);
- :class:`AppRoleAuth` — ``role_id`` + ``secret_id`` (``VAULT_ROLE_ID``, ``VAULT_SECRET_ID``);
- :class:`KubernetesAuth` — a Kubernetes service-account JWT (``VAULT_K8S_ROLE``; the token is read
  from the pod's service-account token file on every login, so projected-token rotation works).

``secret://vault/kv/github#token`` reads key ``token`` of the KV v2 secret ``github`` on mount ``kv``.
The latest version is read on every call. When the token has expired or been revoked the provider
logs in again once and retries.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bastion.secrets.providers import SecretError
from bastion.secrets.redact import default_redactor
from bastion.secrets.refs import SecretRef

_log = logging.getLogger(__name__)

K8S_TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount/token"


@dataclass(frozen=True)
class TokenAuth:
    """Authenticate with a fixed token."""

    token: str = ""

    def __repr__(self) -> str:
        return "TokenAuth(token=***)"


@dataclass(frozen=True)
class AppRoleAuth:
    """AppRole login (``mount`` defaults to ``approle``)."""

    role_id: str
    secret_id: str | None = None
    mount: str = "approle"

    def __repr__(self) -> str:
        return f"AppRoleAuth(role_id={self.role_id!r}, secret_id=***, mount={self.mount!r})"


@dataclass(frozen=True)
class KubernetesAuth:
    """Kubernetes service-account login (``mount`` defaults to ``kubernetes``)."""

    role: str
    jwt_path: str = K8S_TOKEN_PATH
    mount: str = "kubernetes"


Auth = TokenAuth | AppRoleAuth | KubernetesAuth


def _hvac() -> Any:
    try:
        return importlib.import_module("hvac")
    except ModuleNotFoundError:
        raise SecretError("the vault provider needs the 'hvac' package (pip install hvac)") from None


class VaultProvider:
    """Reads KV v2 secrets from Vault or OpenBao."""

    name = "vault"

    def __init__(
        self,
        url: str,
        auth: Auth,
        *,
        namespace: str | None = None,
        verify: bool | str = True,
        timeout: float = 10.0,
    ) -> None:
        self._url = url
        self._auth = auth
        self._namespace = namespace
        self._verify = verify
        self._timeout = timeout
        self._client: Any = None
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> VaultProvider:
        """Build from ``VAULT_ADDR``/``BAO_ADDR``, ``VAULT_NAMESPACE``, ``VAULT_CACERT`` and the auth
        variables named in the module docstring (AppRole, then Kubernetes, then token)."""
        env = environ if environ is not None else os.environ

        def get(name: str) -> str | None:
            return env.get(f"VAULT_{name}") or env.get(f"BAO_{name}")

        url = get("ADDR")
        if not url:
            raise SecretError("VAULT_ADDR (or BAO_ADDR) is not set")
        auth: Auth
        if get("ROLE_ID"):
            auth = AppRoleAuth(role_id=get("ROLE_ID") or "", secret_id=get("SECRET_ID"),
                               mount=get("APPROLE_MOUNT") or "approle")
        elif get("K8S_ROLE"):
            auth = KubernetesAuth(role=get("K8S_ROLE") or "", mount=get("K8S_MOUNT") or "kubernetes")
        else:
            token = get("TOKEN")
            if not token:
                token_file = Path.home() / ".vault-token"
                token = token_file.read_text().strip() if token_file.is_file() else ""
            auth = TokenAuth(token)
        verify: bool | str = get("CACERT") or (get("SKIP_VERIFY") not in ("1", "true"))
        return cls(url, auth, namespace=get("NAMESPACE"), verify=verify)

    def _login(self) -> Any:
        hvac = _hvac()
        client = hvac.Client(url=self._url, namespace=self._namespace, verify=self._verify,
                             timeout=self._timeout)
        auth = self._auth
        if isinstance(auth, TokenAuth):
            if not auth.token:
                raise SecretError(f"vault at {self._url}: no token configured")
            default_redactor.register(auth.token)
            client.token = auth.token
        elif isinstance(auth, AppRoleAuth):
            if auth.secret_id:
                default_redactor.register(auth.secret_id)
            client.auth.approle.login(role_id=auth.role_id, secret_id=auth.secret_id,
                                      mount_point=auth.mount)
        else:
            jwt = Path(auth.jwt_path).read_text().strip()
            default_redactor.register(jwt)
            client.auth.kubernetes.login(role=auth.role, jwt=jwt, mount_point=auth.mount)
        if client.token:
            default_redactor.register(client.token)
        return client

    def _read(self, client: Any, ref: SecretRef) -> dict[str, Any]:
        resp = client.secrets.kv.v2.read_secret_version(
            path=ref.path, mount_point=ref.mount, raise_on_deleted_version=True
        )
        data = resp["data"]["data"]
        if not isinstance(data, dict):
            raise SecretError(f"{ref}: unexpected response shape")
        return data

    def get(self, ref: SecretRef) -> str:
        hvac = _hvac()
        errors = hvac.exceptions
        with self._lock:
            for attempt in (0, 1):
                if self._client is None:
                    self._client = self._login()
                try:
                    data = self._read(self._client, ref)
                    break
                except (errors.Forbidden, errors.Unauthorized):
                    self._client = None
                    if attempt:
                        raise SecretError(f"{ref}: permission denied by {self._url}") from None
                except errors.InvalidPath:
                    raise SecretError(f"{ref}: no such secret at {self._url}") from None
        if ref.key is None:
            if len(data) != 1:
                raise SecretError(f"{ref}: secret has keys {sorted(data)}; name one with #KEY")
            value = next(iter(data.values()))
        else:
            if ref.key not in data:
                raise SecretError(f"{ref}: secret has no key {ref.key!r} (keys: {sorted(data)})")
            value = data[ref.key]
        if not isinstance(value, str):
            raise SecretError(f"{ref}: value is a {type(value).__name__}, not a string")
        return value
