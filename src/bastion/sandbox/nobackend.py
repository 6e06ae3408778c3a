"""The ``none`` backend: no isolation at all. Only used when a config says ``backend: none``.

The server runs as a normal child of bastion with the computed environment (so it still does not
inherit bastion's variables), a throw-away ``HOME``/``TMPDIR`` directory and resource limits, but
it sees the whole filesystem and network. Secrets are files in a private directory on
``/dev/shm`` (memory-backed), removed afterwards. A warning is logged on every launch.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile

from bastion.sandbox.backend import Prepared
from bastion.sandbox.config import SandboxConfig
from bastion.sandbox.spec import SECRETS_DIR, SandboxError, SandboxSpec

_log = logging.getLogger(__name__)


def private_memory_dir(prefix: str) -> str:
    """A 0700 directory on a memory-backed filesystem (``/dev/shm``); ``SandboxError`` if none."""
    base = "/dev/shm"
    if not os.path.isdir(base):
        raise SandboxError("no memory-backed /dev/shm to hold secret files")
    d = tempfile.mkdtemp(prefix=prefix, dir=base)
    os.chmod(d, 0o700)
    return d


class NoBackend:
    """No isolation (explicit opt-in only)."""

    name = "none"

    def available(self) -> str | None:
        return None

    def prepare(self, spec: SandboxSpec, cfg: SandboxConfig) -> Prepared:
        _log.warning("sandbox backend 'none': %s runs WITHOUT isolation", os.path.basename(spec.argv[0]))
        home = tempfile.mkdtemp(prefix="bastion-home-")
        cleanups = [lambda: shutil.rmtree(home, ignore_errors=True)]
        env = dict(spec.env)
        env.update(HOME=home, TMPDIR=home)
        secret_files = [f for f in spec.files if f.secret]
        if secret_files:
            sdir = private_memory_dir("bastion-secrets-")
            cleanups.append(lambda: shutil.rmtree(sdir, ignore_errors=True))
            for f in secret_files:
                host_path = os.path.join(sdir, os.path.basename(f.dest))
                fd = os.open(host_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(f.data)
                for k, v in env.items():
                    if v == f.dest and f.dest.startswith(SECRETS_DIR + "/"):
                        env[k] = host_path
        workdir = cfg.workdir or home
        return Prepared(argv=list(spec.argv), env=env, cleanups=cleanups, backend=self.name,
                        cwd=workdir)
