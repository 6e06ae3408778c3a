"""The backend-neutral description of one sandbox, computed from a config and a command.

:func:`build_spec` decides *what* the server sees (files, environment, command line inside the
sandbox); the backends (:mod:`bwrap`, :mod:`gvisor`, :mod:`none`) decide *how*.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bastion.sandbox import paths
from bastion.sandbox.config import SandboxConfig
from bastion.sandbox.egress import proxy_env

SANDBOX_USER = "mcp"
SANDBOX_UID = 1000
SANDBOX_GID = 1000
SANDBOX_HOME = "/home/mcp"
SECRETS_DIR = "/run/secrets"
BASTION_DIR = "/run/bastion"
EGRESS_SOCKET = f"{BASTION_DIR}/egress.sock"
SHIM_PATH = f"{BASTION_DIR}/egress_shim.py"
BASE_ENV = {"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TMPDIR": "/tmp", "USER": SANDBOX_USER,
            "LOGNAME": SANDBOX_USER, "HOME": SANDBOX_HOME}


class SandboxError(RuntimeError):
    """A sandbox could not be built or started; the message says why."""


@dataclass(frozen=True)
class Bind:
    """A host path bound into the sandbox."""

    source: str
    dest: str
    writable: bool = False


@dataclass(frozen=True)
class DataFile:
    """A file created inside the sandbox from bytes (never written to the host disk)."""

    dest: str
    data: bytes
    mode: int = 0o444
    secret: bool = False


@dataclass
class SandboxSpec:
    """Everything a backend needs to start one server."""

    argv: list[str]
    env: dict[str, str]
    root: list[paths.RootEntry]
    binds: list[Bind]
    files: list[DataFile]
    workdir: str
    home: str = SANDBOX_HOME
    egress_socket: str | None = None  # host path of the proxy socket
    secret_values: list[str] = field(default_factory=list)


def _passwd_files() -> list[DataFile]:
    passwd = (
        "root:x:0:0:root:/root:/usr/sbin/nologin\n"
        f"{SANDBOX_USER}:x:{SANDBOX_UID}:{SANDBOX_GID}:MCP server:{SANDBOX_HOME}:/usr/sbin/nologin\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
    )
    group = f"root:x:0:\n{SANDBOX_USER}:x:{SANDBOX_GID}:\nnogroup:x:65534:\n"
    return [DataFile("/etc/passwd", passwd.encode()), DataFile("/etc/group", group.encode())]


def build_spec(
    command: str,
    args: list[str],
    cfg: SandboxConfig,
    *,
    secrets: dict[str, str] | None = None,
    env_extra: dict[str, str] | None = None,
    egress_socket: str | None = None,
    host_env: dict[str, str] | None = None,
) -> SandboxSpec:
    """Compute the sandbox for ``command args`` under ``cfg``.

    ``secrets`` maps secret names (from ``cfg.secrets``) to their current values.
    ``egress_socket`` is the host path of the egress proxy socket (when ``cfg.network`` lists
    destinations). ``host_env`` (default ``os.environ``) feeds ``pass_env`` only.
    """
    host_env = dict(os.environ) if host_env is None else host_env
    secrets = secrets or {}
    try:
        exe = paths.resolve_executable(command, host_env.get("PATH"))
    except FileNotFoundError as exc:
        raise SandboxError(str(exc)) from None

    ro_dirs = paths.interpreter_binds(exe, host_env.get("PATH"))
    binds: list[Bind] = []
    for m in cfg.mounts:
        src = os.path.abspath(os.path.expanduser(m.source))
        bad = paths.forbidden(src)
        if bad:
            raise SandboxError(f"mount {m.source!r} is refused: {bad} never enters a sandbox")
        if not os.path.exists(src):
            raise SandboxError(f"mount source {m.source!r} does not exist")
        binds.append(Bind(src, m.target or src, writable=m.mode == "rw"))
    declared = {b.dest for b in binds}
    binds[:0] = [Bind(d, d) for d in ro_dirs if d not in declared]

    files = _passwd_files()
    env: dict[str, str] = dict(BASE_ENV)
    extra_path = [os.path.join(d, "bin") for d in ro_dirs if os.path.isdir(os.path.join(d, "bin"))]
    env["PATH"] = ":".join([*dict.fromkeys([os.path.dirname(exe), *extra_path]), paths.DEFAULT_PATH])
    for name in cfg.pass_env:
        if name in host_env:
            env[name] = host_env[name]
    env.update(cfg.env)
    env.update(env_extra or {})

    secret_values: list[str] = []
    for s in cfg.secrets:
        if s.name not in secrets:
            raise SandboxError(f"secret {s.name!r} was not resolved")
        value = secrets[s.name]
        secret_values.append(value)
        if s.deliver == "file":
            files.append(DataFile(s.path, value.encode(), mode=0o400, secret=True))
            env[s.variable] = s.path
        else:
            env[s.variable] = value

    argv = [exe, *args]
    if egress_socket is not None:
        shim = Path(__file__).with_name("_egress_shim.py").read_bytes()
        files.append(DataFile(SHIM_PATH, shim))
        py = sys.executable
        for d in paths.interpreter_binds(py):
            if d not in {b.dest for b in binds}:
                binds.append(Bind(d, d))
        argv = [py, "-I", "-S", SHIM_PATH, str(cfg.proxy_port), EGRESS_SOCKET, "--", *argv]
        env.update(proxy_env(cfg.proxy_port))

    # parents before children, so a mount never hides one nested inside it
    binds.sort(key=lambda b: len(Path(b.dest).parts))
    return SandboxSpec(
        argv=argv,
        env=env,
        root=paths.system_root(),
        binds=binds,
        files=files,
        workdir=cfg.workdir or SANDBOX_HOME,
        egress_socket=egress_socket,
        secret_values=secret_values,
    )
