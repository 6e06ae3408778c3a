"""Which host paths a sandboxed command needs, computed from the command itself.

The sandbox root is built from an explicit list: the system directories (``/usr``, ``/bin``,
``/sbin``, ``/lib*`` — kept as symlinks where the host has merged-usr), a small subset of ``/etc``
(name resolution, TLS roots, dynamic loader, time zone — never ``shadow``, ``gshadow`` or
``ssl/private``), and then whatever the *interpreter* of the command lives in:

- a Python virtual environment (a ``pyvenv.cfg`` above the executable) and the base interpreter
  named by its ``home =`` line;
- an interpreter prefix outside the system directories (``…/versions/3.11.7`` under pyenv,
  ``…/node/v20.11.0`` under nvm, ``/opt/…``): the directory above ``bin``;
- a ``node_modules`` directory the executable sits in (``node_modules/.bin/server``);
- scripts: the ``#!`` interpreter, resolved the same way (``#!/usr/bin/env node`` via ``PATH``).

:func:`interpreter_binds` returns these read-only binds; declared mounts are added by the backend.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC_FILES = (
    "/etc/hosts", "/etc/host.conf", "/etc/nsswitch.conf", "/etc/resolv.conf", "/etc/gai.conf",
    "/etc/protocols", "/etc/services", "/etc/networks", "/etc/localtime", "/etc/timezone",
    "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/ssl/certs",
    "/etc/ssl/openssl.cnf", "/etc/ca-certificates", "/etc/ca-certificates.conf", "/etc/pki/tls",
    "/etc/pki/ca-trust", "/etc/crypto-policies", "/etc/alternatives", "/etc/mime.types",
    "/etc/locale.alias", "/etc/os-release", "/etc/debian_version", "/etc/python3",
)
"""The ``/etc`` entries bound read-only when present. ``passwd``/``group`` are synthesised."""

FORBIDDEN = ("/etc/shadow", "/etc/gshadow", "/etc/ssl/private", "/etc/sudoers")
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"


@dataclass(frozen=True)
class RootEntry:
    """One element of the system root: a read-only bind, or a symlink (``target`` -> ``dest``)."""

    kind: str  # "ro-bind" | "symlink"
    source: str
    dest: str


def system_root(dirs: Iterable[str] = SYSTEM_DIRS, etc: Iterable[str] = ETC_FILES) -> list[RootEntry]:
    """The system part of the sandbox root, as it exists on this host."""
    out: list[RootEntry] = []
    for d in dirs:
        if os.path.islink(d):
            out.append(RootEntry("symlink", os.readlink(d), d))
        elif os.path.isdir(d):
            out.append(RootEntry("ro-bind", d, d))
    out += [RootEntry("ro-bind", e, e) for e in etc if os.path.lexists(e)]
    return out


def is_system_path(path: str) -> bool:
    """True when ``path`` is already visible through the system root."""
    p = os.path.normpath(path)
    roots = [d for d in SYSTEM_DIRS if os.path.lexists(d)]
    return any(p == r or p.startswith(r + "/") for r in roots)


def resolve_executable(command: str, path_env: str | None = None) -> str:
    """Absolute path of ``command`` (searched in ``path_env`` or ``$PATH``); ``FileNotFoundError``."""
    if "/" in command:
        p = os.path.abspath(command)
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
        raise FileNotFoundError(f"command {command!r} not found or not executable")
    found = shutil.which(command, path=path_env if path_env is not None else os.environ.get("PATH"))
    if not found:
        raise FileNotFoundError(f"command {command!r} not found in PATH")
    return os.path.abspath(found)


def _shebang(path: str) -> list[str] | None:
    try:
        with open(path, "rb") as f:
            head = f.read(256)
    except OSError:
        return None
    if not head.startswith(b"#!"):
        return None
    line = head[2:].split(b"\n", 1)[0].decode("utf-8", "replace").strip()
    return line.split() or None


def _find_upwards(start: Path, marker: str, limit: int = 4) -> Path | None:
    cur = start
    for _ in range(limit):
        if (cur / marker).exists():
            return cur
        if cur.parent == cur:
            break
        cur = cur.parent
    return None


def _prefix_of(real: Path) -> Path:
    """The installation prefix of an executable outside the system dirs."""
    if real.parent.name in ("bin", "sbin"):
        return real.parent.parent
    return real.parent


def interpreter_binds(executable: str, path_env: str | None = None, _depth: int = 0) -> list[str]:
    """Host directories (read-only) that ``executable`` needs beyond the system root.

    Each returned path is bound at the same location inside the sandbox. Paths under the
    system directories are omitted, and nested results are de-duplicated.
    """
    needed: list[str] = []
    exe = Path(executable)
    real = Path(os.path.realpath(executable))
    # virtual environment (pyvenv.cfg one or two levels above the bin dir)
    venv = _find_upwards(exe.parent, "pyvenv.cfg", limit=2)
    if venv is not None:
        needed.append(str(venv))
        for line in (venv / "pyvenv.cfg").read_text(errors="replace").splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "home" and value.strip():
                home = Path(value.strip())
                needed.append(str(home.parent if home.name == "bin" else home))
    # node_modules/.bin/x or node_modules/pkg/...
    for p in (exe, real):
        parts = p.parts
        if "node_modules" in parts:
            idx = len(parts) - 1 - parts[::-1].index("node_modules")
            needed.append(str(Path(*parts[: idx + 1])))
    if not is_system_path(str(real)) and not any(str(real).startswith(n + "/") for n in needed):
        needed.append(str(_prefix_of(real)))
    if not is_system_path(str(exe)) and not any(str(exe).startswith(n + "/") for n in needed):
        needed.append(str(_prefix_of(exe)))
    # script interpreter
    if _depth < 3:
        sb = _shebang(str(real))
        if sb:
            interp = sb[0]
            if os.path.basename(interp) == "env":
                rest = [a for a in sb[1:] if not a.startswith("-")]
                interp = rest[0] if rest else ""
            if interp:
                try:
                    resolved = resolve_executable(interp, path_env)
                except FileNotFoundError:
                    resolved = ""
                if resolved:
                    needed += interpreter_binds(resolved, path_env, _depth + 1)
    return dedupe_paths(p for p in needed if not is_system_path(p))


def dedupe_paths(paths: Iterable[str]) -> list[str]:
    """Drop duplicates and paths nested inside another listed path, keeping order."""
    norm = [os.path.normpath(p) for p in paths]
    out: list[str] = []
    for p in sorted(set(norm), key=len):
        if not any(p == o or p.startswith(o.rstrip("/") + "/") for o in out):
            out.append(p)
    return [p for p in dict.fromkeys(norm) if p in out]


def forbidden(path: str) -> str | None:
    """The forbidden prefix ``path`` falls under (a mount of ``/etc/shadow`` is refused), else None."""
    p = os.path.normpath(os.path.abspath(path))
    for f in FORBIDDEN:
        if p == f or p.startswith(f + "/"):
            return f
    if p == "/":
        return "/"
    return None
