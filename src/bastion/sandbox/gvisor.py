"""The gVisor backend (``runsc``): a user-space kernel between the server and the host.

Strongest isolation, optional. The backend writes an OCI bundle (``config.json`` + an empty
read-only ``rootfs`` holding only the merged-usr symlinks) in a private temporary directory and
runs ``runsc --network=none run --bundle DIR ID``. The mounts are the same explicit list the
bubblewrap backend uses; ``/tmp`` and ``$HOME`` are tmpfs; secrets are bound from a private
directory on ``/dev/shm`` (memory-backed) that is removed afterwards. With an egress allow-list
the proxy socket is bound in and ``--host-uds=open`` lets the sandbox connect to it.

Install gVisor from https://gvisor.dev/docs/user_guide/install/ ; :meth:`GvisorBackend.available`
explains what is missing.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import tempfile
import uuid
from typing import Any

from bastion.sandbox.backend import Prepared, which
from bastion.sandbox.config import SandboxConfig, parse_size
from bastion.sandbox.limits import CgroupInfo, plan_limits
from bastion.sandbox.nobackend import private_memory_dir
from bastion.sandbox.spec import EGRESS_SOCKET, SANDBOX_GID, SANDBOX_UID, SandboxSpec

_NO_CGROUPS = CgroupInfo(0)
_RLIMIT_NAMES = {
    resource.RLIMIT_DATA: "RLIMIT_DATA", resource.RLIMIT_NPROC: "RLIMIT_NPROC",
    resource.RLIMIT_CPU: "RLIMIT_CPU", resource.RLIMIT_NOFILE: "RLIMIT_NOFILE",
    resource.RLIMIT_CORE: "RLIMIT_CORE",
}


class GvisorBackend:
    """Runs servers under gVisor's ``runsc``."""

    name = "gvisor"

    def __init__(self, binary: str | None = None, *, platform: str | None = None) -> None:
        self._binary = binary
        self._platform = platform

    def binary(self) -> str | None:
        """Path of ``runsc``, or ``None``."""
        return self._binary or which("runsc")

    def available(self) -> str | None:
        if self.binary() is None:
            return "runsc (gVisor) not found in PATH; see https://gvisor.dev/docs/user_guide/install/"
        return None

    def oci_config(self, spec: SandboxSpec, cfg: SandboxConfig, data_dir: str | None) -> dict[str, Any]:
        """The OCI runtime ``config.json`` for ``spec``; data files are read from ``data_dir``."""
        tmp_size = parse_size(cfg.tmp_size)
        mounts: list[dict[str, Any]] = [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "nodev", "mode=1777", f"size={tmp_size}"]},
            {"destination": spec.home, "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "nodev", "mode=700", f"size={tmp_size}",
                         f"uid={SANDBOX_UID}", f"gid={SANDBOX_GID}"]},
        ]
        mounts += [{"destination": e.dest, "type": "bind", "source": e.source,
                    "options": ["rbind", "ro", "nosuid", "nodev"]}
                   for e in spec.root if e.kind == "ro-bind"]
        mounts += [{"destination": b.dest, "type": "bind", "source": b.source,
                    "options": ["rbind", "rw" if b.writable else "ro", "nosuid", "nodev"]}
                   for b in spec.binds]
        if data_dir is not None:
            for i, f in enumerate(spec.files):
                mounts.append({"destination": f.dest, "type": "bind",
                               "source": os.path.join(data_dir, str(i)),
                               "options": ["bind", "ro", "nosuid", "nodev", "noexec"]})
        if spec.egress_socket is not None:
            mounts.append({"destination": EGRESS_SOCKET, "type": "bind",
                           "source": spec.egress_socket, "options": ["bind", "ro"]})
        plan = plan_limits(cfg, info=_NO_CGROUPS, sandbox_maps_to_root=False)
        rlimits = [{"type": _RLIMIT_NAMES[k], "hard": v[1], "soft": v[0]}
                   for k, v in plan.rlimits.items() if k in _RLIMIT_NAMES]
        linux: dict[str, Any] = {
            "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
            "resources": {},
        }
        if cfg.memory_bytes:
            linux["resources"]["memory"] = {"limit": cfg.memory_bytes}
        if cfg.pids:
            linux["resources"]["pids"] = {"limit": cfg.pids}
        if cfg.cpu:
            linux["resources"]["cpu"] = {"quota": int(cfg.cpu * 100_000), "period": 100_000}
        return {
            "ociVersion": "1.0.2",
            "process": {
                "terminal": False,
                "user": {"uid": SANDBOX_UID, "gid": SANDBOX_GID},
                "args": list(spec.argv),
                "env": [f"{k}={v}" for k, v in spec.env.items()],
                "cwd": spec.workdir,
                "capabilities": {k: [] for k in
                                 ("bounding", "effective", "inheritable", "permitted", "ambient")},
                "rlimits": rlimits,
                "noNewPrivileges": True,
            },
            "root": {"path": "rootfs", "readonly": True},
            "hostname": "sandbox",
            "mounts": mounts,
            "linux": linux,
        }

    def build_argv(self, bundle: str, state_dir: str, container_id: str, *, egress: bool) -> list[str]:
        """The ``runsc`` command line for a prepared bundle."""
        a = [self.binary() or "runsc", "--root", state_dir, "--network=none"]
        if self._platform:
            a.append(f"--platform={self._platform}")
        if egress:
            a.append("--host-uds=open")
        a += ["run", "--bundle", bundle, container_id]
        return a

    def prepare(self, spec: SandboxSpec, cfg: SandboxConfig) -> Prepared:
        bundle = tempfile.mkdtemp(prefix="bastion-gvisor-")
        os.chmod(bundle, 0o700)
        cleanups = [lambda: shutil.rmtree(bundle, ignore_errors=True)]
        rootfs = os.path.join(bundle, "rootfs")
        os.mkdir(rootfs)
        for e in spec.root:
            if e.kind == "symlink":
                os.symlink(e.source, os.path.join(rootfs, e.dest.lstrip("/")))
        data_dir: str | None = None
        if spec.files:
            data_dir = private_memory_dir("bastion-gvisor-data-")
            dd = data_dir
            cleanups.append(lambda: shutil.rmtree(dd, ignore_errors=True))
            for i, f in enumerate(spec.files):
                fd = os.open(os.path.join(data_dir, str(i)), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(f.data)
        with open(os.path.join(bundle, "config.json"), "w") as fh:
            json.dump(self.oci_config(spec, cfg, data_dir), fh)
        state = os.path.join(bundle, "state")
        os.mkdir(state)
        cid = f"bastion-{uuid.uuid4().hex[:12]}"
        argv = self.build_argv(bundle, state, cid, egress=spec.egress_socket is not None)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
        return Prepared(argv=argv, env=env, cleanups=cleanups, backend=self.name)

