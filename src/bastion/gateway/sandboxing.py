"""What a stdio upstream needs visible in its sandbox, derived from its own command line.

The sandbox binds the interpreter and its environment itself. Here: a script named on the command
line (``python server.py``, ``node dist/index.js``) is bound read-only where it is, and so is the
``node_modules`` tree a JavaScript entry point lives in (its imports resolve there). Relative paths
are made absolute against the upstream's working directory, so the server sees the same paths it
would see unsandboxed. Directories are never bound implicitly: a repository a server may read is
declared in ``sandbox.mounts``.
"""

from __future__ import annotations

import os
from pathlib import Path

from bastion.sandbox.config import Mount, SandboxConfig


def _node_modules_root(path: Path) -> Path | None:
    for parent in path.parents:
        if parent.name == "node_modules":
            top = parent
            while top.parent.name == "node_modules" or top.parent.parent.name == "node_modules":
                top = top.parent if top.parent.name == "node_modules" else top.parent.parent
            return top
    return None


def derive(command: str, args: list[str], cwd: str | None, cfg: SandboxConfig) -> tuple[list[str], SandboxConfig]:
    """Absolute script arguments and the extra read-only mounts they need."""
    base = Path(cwd or os.getcwd())
    declared = {os.path.abspath(m.source) for m in cfg.mounts}
    extra: list[Mount] = []
    out_args: list[str] = []
    for arg in args:
        candidate = Path(arg) if os.path.isabs(arg) else base / arg
        if arg.startswith("-") or not candidate.is_file():
            out_args.append(arg)
            continue
        resolved = candidate.resolve()
        out_args.append(str(resolved))
        root = _node_modules_root(resolved) if resolved.suffix in (".js", ".mjs", ".cjs") else None
        source = str(root if root is not None else resolved)
        if source not in declared and not any(source.startswith(d + os.sep) for d in declared):
            declared.add(source)
            extra.append(Mount(source=source, mode="ro"))
    if not extra:
        return out_args, cfg
    return out_args, cfg.model_copy(update={"mounts": [*cfg.mounts, *extra]})
