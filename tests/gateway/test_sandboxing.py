from __future__ import annotations

from pathlib import Path

from bastion.gateway.sandboxing import derive
from bastion.sandbox.config import Mount, SandboxConfig


def test_script_arguments_become_absolute_read_only_mounts(tmp_path: Path) -> None:
    script = tmp_path / "server.py"
    script.write_text("print()")
    args, cfg = derive("python", ["server.py", "--flag", "value"], str(tmp_path), SandboxConfig())
    assert args == [str(script), "--flag", "value"]
    assert cfg.mounts == [Mount(source=str(script), mode="ro")]


def test_js_entry_points_bind_their_node_modules_tree(tmp_path: Path) -> None:
    entry = tmp_path / "node_modules" / "@scope" / "pkg" / "dist" / "index.js"
    entry.parent.mkdir(parents=True)
    entry.write_text("")
    _, cfg = derive("node", [str(entry), "stdio"], None, SandboxConfig())
    assert [m.source for m in cfg.mounts] == [str(tmp_path / "node_modules")]


def test_directories_and_declared_paths_are_not_added(tmp_path: Path) -> None:
    script = tmp_path / "s.py"
    script.write_text("")
    base = SandboxConfig(mounts=[Mount(source=str(tmp_path), mode="rw")])
    args, cfg = derive("python", [str(tmp_path), str(script)], None, base)
    assert args == [str(tmp_path), str(script)]
    assert cfg.mounts == base.mounts
