"""The interface every isolation backend implements, and backend selection.

A backend turns a :class:`~bastion.sandbox.spec.SandboxSpec` into a :class:`Prepared` launch:
the host argv, the file descriptors to pass, the environment for the host process, and the
resources to release afterwards. :mod:`bastion.sandbox.process` runs it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from bastion.sandbox.config import SandboxConfig
from bastion.sandbox.spec import SandboxError, SandboxSpec

_log = logging.getLogger(__name__)


@dataclass
class Prepared:
    """A ready-to-exec sandbox. Call :meth:`close_fds` once the child has started, and
    :meth:`cleanup` once it has exited."""

    argv: list[str]
    env: dict[str, str]
    pass_fds: list[int] = field(default_factory=list)
    cleanups: list[Callable[[], None]] = field(default_factory=list)
    backend: str = ""
    cwd: str | None = None

    def close_fds(self) -> None:
        """Close the parent's copies of the fds handed to the child."""
        for fd in self.pass_fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.pass_fds = []

    def cleanup(self) -> None:
        """Release everything (idempotent)."""
        self.close_fds()
        while self.cleanups:
            fn = self.cleanups.pop()
            try:
                fn()
            except Exception:
                _log.exception("sandbox cleanup step failed")


class Backend(Protocol):
    """An isolation backend."""

    name: str

    def available(self) -> str | None:
        """``None`` when usable here, else a sentence saying why not."""
        ...

    def prepare(self, spec: SandboxSpec, cfg: SandboxConfig) -> Prepared:
        """Build the launch for ``spec`` (creates fds/temp files; nothing is started)."""
        ...


def memfd_with(data: bytes, name: str = "bastion") -> int:
    """An anonymous in-memory file holding ``data``, positioned at 0 (the caller owns the fd)."""
    fd = os.memfd_create(name, os.MFD_CLOEXEC)
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        os.lseek(fd, 0, os.SEEK_SET)
    except BaseException:
        os.close(fd)
        raise
    return fd


def get_backend(name: str) -> Backend:
    """The backend called ``name`` (``auto`` picks bwrap and fails clearly when it is missing)."""
    from bastion.sandbox.bwrap import BwrapBackend
    from bastion.sandbox.gvisor import GvisorBackend
    from bastion.sandbox.nobackend import NoBackend

    backends: dict[str, Backend] = {
        "bwrap": BwrapBackend(), "gvisor": GvisorBackend(), "none": NoBackend(),
    }
    if name == "auto":
        b = backends["bwrap"]
        why = b.available()
        if why is not None:
            raise SandboxError(
                f"no sandbox backend available ({why}); install bubblewrap, or set backend: none "
                "explicitly to run without isolation"
            )
        return b
    if name not in backends:
        raise SandboxError(f"unknown sandbox backend {name!r}")
    b = backends[name]
    why = b.available()
    if why is not None:
        raise SandboxError(f"sandbox backend {name!r} is unavailable: {why}")
    return b


def which(binary: str) -> str | None:
    """``shutil.which`` (a seam for tests)."""
    return shutil.which(binary)
