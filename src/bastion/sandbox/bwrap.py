"""The bubblewrap backend (default): unprivileged namespaces + seccomp.

The sandbox built by :meth:`BwrapBackend.prepare`:

- every namespace unshared (``--unshare-all``: user, mount, pid, ipc, uts, cgroup, net) and no
  network beyond loopback — egress goes through the proxy socket only;
- a read-only root made of the system directories, a subset of ``/etc`` and synthesised
  ``/etc/passwd``/``/etc/group``; the interpreter's directories and declared mounts bound
  explicitly (``ro`` or ``rw``);
- fresh ``/proc``, minimal ``/dev``, size-capped tmpfs ``/tmp`` and ``$HOME`` (in memory,
  gone when the sandbox ends);
- secrets and helper files copied from memfds (``--ro-bind-data``), never touching the disk;
- ``--clearenv`` and only the computed environment; ``--die-with-parent``, ``--new-session``,
  all capabilities dropped, nested user namespaces disabled, and the seccomp deny-list of
  :mod:`bastion.sandbox.seccomp`;
- the server runs as uid/gid 1000 (``mcp``) inside.
"""

from __future__ import annotations

import logging
import os

from bastion.sandbox import seccomp
from bastion.sandbox.backend import Prepared, memfd_with, which
from bastion.sandbox.config import SandboxConfig, parse_size
from bastion.sandbox.spec import (
    EGRESS_SOCKET,
    SANDBOX_GID,
    SANDBOX_UID,
    SandboxError,
    SandboxSpec,
)

_log = logging.getLogger(__name__)


class BwrapBackend:
    """Runs servers under ``bwrap`` (Debian/Ubuntu/Fedora package ``bubblewrap``)."""

    name = "bwrap"

    def __init__(self, binary: str | None = None, *, use_seccomp: bool = True) -> None:
        self._binary = binary
        self._use_seccomp = use_seccomp

    def binary(self) -> str | None:
        """Path of ``bwrap``, or ``None``."""
        return self._binary or which("bwrap")

    def available(self) -> str | None:
        if self.binary() is None:
            return "bwrap not found in PATH (install the 'bubblewrap' package)"
        if not os.path.exists("/proc/self/ns/user"):
            return "the kernel has no user namespaces"
        return None

    def build_argv(self, spec: SandboxSpec, cfg: SandboxConfig, fds: dict[str, int]) -> list[str]:
        """The bwrap command line; ``fds`` maps ``seccomp`` and each data file's dest to an fd."""
        binary = self.binary() or "bwrap"
        a: list[str] = [
            binary,
            "--unshare-all",
            "--unshare-user",
            "--die-with-parent",
            "--new-session",
            "--clearenv",
            "--uid", str(SANDBOX_UID),
            "--gid", str(SANDBOX_GID),
            "--hostname", "sandbox",
            "--cap-drop", "ALL",
            "--disable-userns",
        ]
        for entry in spec.root:
            if entry.kind == "symlink":
                a += ["--symlink", entry.source, entry.dest]
            else:
                a += ["--ro-bind", entry.source, entry.dest]
        a += ["--proc", "/proc", "--dev", "/dev"]
        tmp_size = str(parse_size(cfg.tmp_size))
        a += ["--perms", "1777", "--size", tmp_size, "--tmpfs", "/tmp"]
        a += ["--perms", "0700", "--size", tmp_size, "--tmpfs", spec.home]
        for b in spec.binds:
            a += ["--bind" if b.writable else "--ro-bind", b.source, b.dest]
        for f in spec.files:
            a += ["--perms", f"{f.mode:04o}", "--ro-bind-data", str(fds[f.dest]), f.dest]
        if spec.egress_socket is not None:
            a += ["--ro-bind", spec.egress_socket, EGRESS_SOCKET]
        a += ["--remount-ro", "/"]
        for k, v in spec.env.items():
            a += ["--setenv", k, v]
        a += ["--chdir", spec.workdir]
        if "seccomp" in fds:
            a += ["--seccomp", str(fds["seccomp"])]
        a += ["--", *spec.argv]
        return a

    def prepare(self, spec: SandboxSpec, cfg: SandboxConfig) -> Prepared:
        fds: dict[str, int] = {}
        try:
            if self._use_seccomp:
                try:
                    fds["seccomp"] = memfd_with(seccomp.build_filter(), "bastion-seccomp")
                except seccomp.UnsupportedArch as exc:
                    _log.warning("sandbox runs without seccomp filter: %s", exc)
            for f in spec.files:
                fds[f.dest] = memfd_with(f.data, "bastion-data")
        except OSError as exc:
            for fd in fds.values():
                os.close(fd)
            raise SandboxError(f"cannot prepare sandbox files: {exc}") from None
        argv = self.build_argv(spec, cfg, fds)
        # The options (environment values included) travel through a memfd (--args), so they
        # never show in the host's process list; bwrap wants the command itself on argv.
        sep = argv.index("--")
        options, command = argv[1:sep], argv[sep:]
        try:
            args_fd = memfd_with(b"".join(x.encode() + b"\0" for x in options), "bastion-args")
        except (OSError, UnicodeEncodeError) as exc:
            for fd in fds.values():
                os.close(fd)
            raise SandboxError(f"cannot prepare sandbox arguments: {exc}") from None
        # bwrap itself gets a tiny environment; the server's comes from --setenv
        host_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
        return Prepared(
            argv=[argv[0], "--args", str(args_fd), *command],
            env=host_env,
            pass_fds=[*fds.values(), args_fd],
            backend=self.name,
        )
