"""Resource limits for a sandbox: cgroups when we can, rlimits otherwise.

Order of preference, decided once per launch by :func:`plan_limits`:

1. **cgroup v2** — when the unified hierarchy is mounted at the cgroup root, and a writable
   cgroup with the ``memory``/``pids``/``cpu`` controllers enabled for its children exists (the
   ``cgroup_parent`` setting, else bastion's own cgroup or its parent — the usual shapes of a
   systemd ``Delegate=yes`` unit or a container with its own cgroup namespace). A child
   ``bastion-<id>`` gets ``memory.max`` (+ ``memory.swap.max=0``), ``pids.max`` and ``cpu.max``.
2. **cgroup v1** — per controller (``memory``, ``pids``, ``cpu``) when bastion's own cgroup in
   that hierarchy is writable (typically: running as root): a child ``bastion-<id>`` nested under
   it, so the sandbox can never escape the limits bastion itself runs under.
3. **rlimits** for whatever no cgroup covers.

The sandbox is joined to its cgroups *before* bubblewrap starts (in the child between fork and
exec), so every process of the sandbox is accounted from the first instruction. The cgroup
directories are removed when the sandbox ends.

rlimits, and why these: ``RLIMIT_DATA`` (not ``RLIMIT_AS``) caps memory, because V8 and other JITs
reserve huge ``PROT_NONE`` address ranges that ``RLIMIT_AS`` counts but ``RLIMIT_DATA`` does not;
``RLIMIT_CPU`` caps CPU seconds; ``RLIMIT_NOFILE`` open files; ``RLIMIT_CORE`` is 0 (no core dumps
with secrets in them). ``RLIMIT_NPROC`` counts processes per *user*, and the kernel never applies
it to processes whose uid maps to root on the host (bubblewrap run by root maps the sandbox user to
host root): in that case ``pids`` cannot be enforced without a cgroup, and
:attr:`LimitPlan.warnings` says so. Run bastion as an unprivileged user, or give it a cgroup.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import resource
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bastion.sandbox.config import SandboxConfig

_log = logging.getLogger(__name__)

CGROUP_ROOT = Path("/sys/fs/cgroup")
CPU_PERIOD_US = 100_000


@dataclass(frozen=True)
class CgroupInfo:
    """What the machine offers: ``version`` is 2, 1 or 0 (none usable)."""

    version: int
    # v2: parent directory to create children in; v1: controller -> own cgroup directory
    v2_parent: Path | None = None
    v1_dirs: dict[str, Path] = field(default_factory=dict)

    @property
    def controllers(self) -> set[str]:
        """Controllers bastion can use."""
        if self.version == 2 and self.v2_parent is not None:
            return _v2_enabled(self.v2_parent)
        return set(self.v1_dirs)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _v2_enabled(parent: Path) -> set[str]:
    return set(_read(parent / "cgroup.subtree_control").split())


def _own_cgroups(proc_self_cgroup: Path) -> dict[str, str]:
    """Map controller name (``""`` for the v2 unified entry) to this process's cgroup path."""
    out: dict[str, str] = {}
    for line in _read(proc_self_cgroup).splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        for c in controllers.split(",") if controllers else [""]:
            out[c.removeprefix("name=")] = path
    return out


def detect_cgroups(
    root: Path = CGROUP_ROOT,
    proc_self_cgroup: Path = Path("/proc/self/cgroup"),
    parent: str | None = None,
) -> CgroupInfo:
    """Find a writable cgroup v2 delegation or writable v1 controllers (see module docstring)."""
    own = _own_cgroups(proc_self_cgroup)
    wanted = {"memory", "pids", "cpu"}
    if (root / "cgroup.controllers").exists():  # pure v2 at the root
        candidates: list[Path] = []
        if parent:
            candidates.append(Path(parent))
        else:
            rel = own.get("", "/").lstrip("/")
            here = root / rel
            candidates += [here, here.parent] if rel else [here]
        for cand in candidates:
            if not (cand / "cgroup.subtree_control").exists() or not os.access(cand, os.W_OK):
                continue
            enabled = _v2_enabled(cand)
            missing = (wanted & set(_read(cand / "cgroup.controllers").split())) - enabled
            if missing:
                with contextlib.suppress(OSError):
                    (cand / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in missing))
                enabled = _v2_enabled(cand)
            if enabled & wanted:
                return CgroupInfo(2, v2_parent=cand)
        return CgroupInfo(0)
    dirs: dict[str, Path] = {}
    for c in sorted(wanted):
        base = root / c
        if not base.is_dir() or (base / "cgroup.controllers").exists():
            continue
        if parent:
            d = Path(parent) / c
        else:
            d = base / own.get(c, "/").lstrip("/")
        if d.is_dir() and os.access(d, os.W_OK) and (d / "tasks").exists():
            dirs[c] = d
    return CgroupInfo(1 if dirs else 0, v1_dirs=dirs)


@dataclass
class Cgroup:
    """The cgroup directories of one sandbox (one for v2, one per controller for v1)."""

    version: int
    dirs: list[Path]

    def join_current_process(self) -> None:
        """Move the calling process into the cgroup (async-signal-safe enough for preexec)."""
        for d in self.dirs:
            fd = os.open(d / "cgroup.procs", os.O_WRONLY)
            try:
                os.write(fd, b"0")
            finally:
                os.close(fd)

    def pids_current(self) -> int | None:
        """Number of processes now in the sandbox, if the pids controller is in use."""
        for d in self.dirs:
            text = _read(d / "pids.current").strip()
            if text.isdigit():
                return int(text)
        return None

    def remove(self) -> None:
        """Kill what is left and delete the directories (best effort)."""
        for d in self.dirs:
            if not d.exists():
                continue
            if self.version == 2 and (d / "cgroup.kill").exists():
                with contextlib.suppress(OSError):
                    (d / "cgroup.kill").write_text("1")
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except OSError as exc:
                    if exc.errno == errno.ENOENT:
                        break
                    if exc.errno != errno.EBUSY:
                        _log.warning("cannot remove cgroup %s: %s", d, exc)
                        break
                    for pid in _read(d / "cgroup.procs").split():
                        with contextlib.suppress(OSError):
                            os.kill(int(pid), 9)
                    time.sleep(0.02)


@dataclass
class LimitPlan:
    """How the limits of one sandbox are enforced.

    ``rlimits`` are applied in the child before exec; ``cgroup`` (if any) is joined there too.
    ``enforced`` maps each limit to its mechanism (e.g. ``{"pids": "cgroup-v1"}``); ``warnings``
    lists limits that could not be enforced.
    """

    rlimits: dict[int, tuple[int, int]] = field(default_factory=dict)
    cgroup: Cgroup | None = None
    enforced: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def preexec(self) -> Callable[[], None]:
        """A function for ``subprocess`` ``preexec_fn``: join the cgroup, set rlimits."""
        cgroup, rlimits = self.cgroup, dict(self.rlimits)

        def _apply() -> None:
            if cgroup is not None:
                cgroup.join_current_process()
            for res, value in rlimits.items():
                resource.setrlimit(res, value)

        return _apply

    def cleanup(self) -> None:
        """Remove the cgroup (if any)."""
        if self.cgroup is not None:
            self.cgroup.remove()


def sweep_stale(parents: list[Path], older_than: float = 60.0) -> int:
    """Remove empty ``bastion-*`` cgroups left by a bastion that died; returns how many.

    Only directories older than ``older_than`` seconds are touched, and ``rmdir`` fails on any
    cgroup that still has processes, so a running sandbox is never affected.
    """
    removed = 0
    now = time.time()
    for parent in parents:
        try:
            children = list(parent.glob("bastion-*"))
        except OSError:
            continue
        for d in children:
            try:
                if now - d.stat().st_mtime > older_than and not _read(d / "cgroup.procs").strip():
                    d.rmdir()
                    removed += 1
            except OSError:
                continue
    return removed


def _write(path: Path, value: str) -> bool:
    try:
        path.write_text(value)
        return True
    except OSError as exc:
        _log.debug("cannot write %s: %s", path, exc)
        return False


def plan_limits(
    cfg: SandboxConfig,
    *,
    info: CgroupInfo | None = None,
    sandbox_maps_to_root: bool | None = None,
) -> LimitPlan:
    """Decide and prepare (create cgroups for) the limits of one sandbox."""
    info = info if info is not None else detect_cgroups(parent=cfg.cgroup_parent)
    if sandbox_maps_to_root is None:
        sandbox_maps_to_root = os.geteuid() == 0
    plan = LimitPlan()
    name = f"bastion-{uuid.uuid4().hex[:12]}"
    mem, pids, cpu = cfg.memory_bytes, cfg.pids, cfg.cpu
    created: list[Path] = []

    def make(parent: Path) -> Path | None:
        d = parent / name
        try:
            d.mkdir()
        except OSError as exc:
            _log.debug("cannot create cgroup %s: %s", d, exc)
            return None
        created.append(d)
        return d

    sweep_stale([info.v2_parent] if info.v2_parent is not None else list(info.v1_dirs.values()))
    if info.version == 2 and info.v2_parent is not None:
        d = make(info.v2_parent)
        if d is not None:
            ctrls = info.controllers
            if mem and "memory" in ctrls and _write(d / "memory.max", str(mem)):
                _write(d / "memory.swap.max", "0")
                plan.enforced["memory"] = "cgroup-v2"
            if pids and "pids" in ctrls and _write(d / "pids.max", str(pids)):
                plan.enforced["pids"] = "cgroup-v2"
            if cpu and "cpu" in ctrls and _write(d / "cpu.max", f"{int(cpu * CPU_PERIOD_US)} {CPU_PERIOD_US}"):
                plan.enforced["cpu"] = "cgroup-v2"
    elif info.version == 1:
        wants = {"memory": mem, "pids": pids, "cpu": cpu}
        for ctrl, base in info.v1_dirs.items():
            if not wants.get(ctrl):
                continue
            d = make(base)
            if d is None:
                continue
            if ctrl == "memory" and mem:
                ok = _write(d / "memory.limit_in_bytes", str(mem))
                _write(d / "memory.memsw.limit_in_bytes", str(mem))
            elif ctrl == "pids" and pids:
                ok = _write(d / "pids.max", str(pids))
            elif ctrl == "cpu" and cpu:
                ok = _write(d / "cpu.cfs_period_us", str(CPU_PERIOD_US)) and _write(
                    d / "cpu.cfs_quota_us", str(int(cpu * CPU_PERIOD_US))
                )
            else:
                ok = False
            if ok:
                plan.enforced[ctrl] = "cgroup-v1"
    if created:
        plan.cgroup = Cgroup(info.version, created)

    if mem and "memory" not in plan.enforced:
        plan.rlimits[resource.RLIMIT_DATA] = (mem, mem)
        plan.enforced["memory"] = "rlimit-data"
    if pids and "pids" not in plan.enforced:
        if sandbox_maps_to_root:
            plan.warnings.append(
                "pids limit not enforced: no writable cgroup, and RLIMIT_NPROC does not apply to "
                "processes mapped to root (run bastion unprivileged or give it a delegated cgroup)"
            )
        else:
            plan.rlimits[resource.RLIMIT_NPROC] = (pids, pids)
            plan.enforced["pids"] = "rlimit-nproc"
    if cpu and "cpu" not in plan.enforced:
        plan.warnings.append("cpu (cores) limit not enforced: no cgroup cpu controller available")
    if cfg.cpu_seconds:
        plan.rlimits[resource.RLIMIT_CPU] = (cfg.cpu_seconds, cfg.cpu_seconds + 5)
        plan.enforced["cpu_seconds"] = "rlimit-cpu"
    plan.rlimits[resource.RLIMIT_NOFILE] = (cfg.nofile, cfg.nofile)
    plan.rlimits[resource.RLIMIT_CORE] = (0, 0)
    return plan
