from __future__ import annotations

import subprocess
from pathlib import Path

import orjson
import pytest

from bastion.cli import COMMANDS, main
from bastion.testing.procs import bastion_cmd

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*bastion_cmd(), *args], capture_output=True, text=True, timeout=60)


def test_help_lists_every_command() -> None:
    out = run("--help")
    assert out.returncode == 0
    for name in COMMANDS:
        assert name in out.stdout


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_command_has_help(name: str) -> None:
    out = run(name, "--help")
    assert out.returncode == 0, out.stderr
    assert "usage: bastion" in out.stdout


def test_config_check_and_schema(tmp_path: Path) -> None:
    ok = run("config", "check", str(ROOT / "examples" / "demo.yaml"))
    assert ok.returncode == 0 and "ok (2 upstreams" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("upstreams:\n  a: {command: x, oops: 1}\n")
    out = run("config", "check", str(bad))
    assert out.returncode == 1 and "upstreams.a.oops" in out.stderr
    schema = orjson.loads(run("config", "schema").stdout)
    assert schema["title"] == "Config"


def test_gateway_with_bad_config_fails_at_start(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("upstreams: {}\n")
    out = run("gateway", "--config", str(bad))
    assert out.returncode == 1 and "configure at least one upstream" in out.stderr


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out
