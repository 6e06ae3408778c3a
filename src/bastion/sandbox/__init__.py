"""Sandboxed runtimes for stdio MCP servers.

The gateway (and ``bastion run``) start stdio servers through :func:`launch`, which builds an
isolated environment from a :class:`SandboxConfig`:

- backends: ``bwrap`` (bubblewrap, default), ``gvisor`` (``runsc``, optional), ``none``
  (explicit opt-out, warned) — :mod:`bastion.sandbox.bwrap`, :mod:`~bastion.sandbox.gvisor`,
  :mod:`~bastion.sandbox.nobackend`;
- a read-only root from an explicit path list plus the interpreter's own directories
  (:mod:`~bastion.sandbox.paths`), throw-away in-memory ``/tmp`` and ``$HOME``;
- a seccomp deny-list (:mod:`~bastion.sandbox.seccomp`);
- memory / CPU / process limits through cgroups or rlimits (:mod:`~bastion.sandbox.limits`);
- no network, or an allow-list enforced by a filtering proxy (:mod:`~bastion.sandbox.egress`);
- secrets as in-memory files (:mod:`bastion.secrets`);
- a maximum lifetime and idle detection, with :class:`Supervisor` for recycling.
"""

from bastion.sandbox.backend import Backend, Prepared, get_backend
from bastion.sandbox.config import Egress, Mount, SandboxConfig, SecretDelivery, parse_size
from bastion.sandbox.egress import AuditCallback, EgressEvent, EgressProxy
from bastion.sandbox.lifetime import Supervisor
from bastion.sandbox.process import SandboxedProcess, launch
from bastion.sandbox.spec import SandboxError

__all__ = [
    "AuditCallback",
    "Backend",
    "Egress",
    "EgressEvent",
    "EgressProxy",
    "Mount",
    "Prepared",
    "SandboxConfig",
    "SandboxError",
    "SandboxedProcess",
    "SecretDelivery",
    "Supervisor",
    "get_backend",
    "launch",
    "parse_size",
]
