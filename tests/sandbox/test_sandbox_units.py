"""Unit tests: config validation, seccomp program, path computation, limits planning, gvisor argv."""

from __future__ import annotations

import errno
import os
import resource
import struct
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from bastion.sandbox import Mount, SandboxConfig, SandboxError, get_backend, parse_size
from bastion.sandbox import seccomp as sc
from bastion.sandbox.config import Egress
from bastion.sandbox.gvisor import GvisorBackend
from bastion.sandbox.limits import CgroupInfo, detect_cgroups, plan_limits
from bastion.sandbox.paths import dedupe_paths, forbidden, interpreter_binds
from bastion.sandbox.spec import build_spec

# --- config ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "size"), [("512M", 512 * 2**20), ("1G", 2**30), ("64MiB", 64 * 2**20),
                                            ("1.5K", 1536), ("4096", 4096)])
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("bad", ["", "12Q", "-1M", "M", "0"])
def test_parse_size_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_size(bad)


def test_config_defaults_are_safe() -> None:
    cfg = SandboxConfig()
    assert cfg.network == "none" and cfg.allow_list == []
    assert cfg.lifetime == 300 and cfg.pids == 64 and cfg.memory_bytes == 512 * 2**20
    assert cfg.backend == "auto" and not cfg.ephemeral


def test_config_parses_network_and_mounts() -> None:
    cfg = SandboxConfig.model_validate({"network": "api.github.com:443, [::1]:8080",
                                        "mounts": [{"source": "/data"}]})
    assert [str(e) for e in cfg.allow_list] == ["api.github.com:443", "[::1]:8080"]
    assert Mount.parse("rw:./out:/out") == Mount(source="./out", target="/out", mode="rw")


@pytest.mark.parametrize(("data", "message"), [
    ({"backend": "docker"}, "backend"),
    ({"network": ["nohostport"]}, "host:port"),
    ({"mounts": [{"source": "/x", "target": "relative"}]}, "absolute"),
    ({"mounts": [{"source": "/x", "target": "/proc/x"}]}, "reserved"),
    ({"mounts": [{"source": "/x", "mode": "rwx"}]}, "mode"),
    ({"memory": "lots"}, "invalid size"),
    ({"pids": 1}, "pids"),
    ({"env": {"1BAD": "x"}}, "not valid"),
    ({"secrets": [{"name": "a", "ref": "vault/kv/x"}]}, "secret://"),
    ({"secrets": [{"name": "a", "ref": "secret://env/A"}, {"name": "a", "ref": "secret://env/B"}]},
     "duplicate"),
    ({"unknown": 1}, "unknown"),
])
def test_config_errors_are_clear(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as exc:
        SandboxConfig.model_validate(data)
    assert message in str(exc.value)


def test_secret_delivery_variables() -> None:
    cfg = SandboxConfig.model_validate({"secrets": [
        {"name": "github_token", "ref": "secret://vault/kv/github#token"},
        {"name": "api-key", "ref": "secret://env/K", "deliver": "env"}]})
    assert cfg.secrets[0].variable == "GITHUB_TOKEN_FILE"
    assert cfg.secrets[0].path == "/run/secrets/github_token"
    assert cfg.secrets[1].variable == "API_KEY"


def test_egress_parse() -> None:
    assert Egress.parse("Example.COM:443") == Egress(host="example.com", port=443)
    with pytest.raises(ValueError):
        Egress.parse("example.com:99999")


# --- seccomp: run the program in a tiny classic-BPF interpreter ----------------------------------


def _run_bpf(prog: bytes, nr: int, arch: int, args: tuple[int, ...] = ()) -> int:
    a6 = (list(args) + [0] * 6)[:6]
    data = struct.pack("<iIQ6Q", nr, arch, 0, *a6)
    ins = [struct.unpack("=HBBI", prog[i:i + 8]) for i in range(0, len(prog), 8)]
    pc, acc = 0, 0
    while True:
        code, jt, jf, k = ins[pc]
        cls = code & 0x07
        if cls == sc.BPF_LD:
            acc = struct.unpack_from("<I", data, k)[0]
            pc += 1
        elif cls == sc.BPF_JMP:
            op = code & 0xF0
            cond = {sc.BPF_JEQ: acc == k, sc.BPF_JGE: acc >= k, sc.BPF_JSET: bool(acc & k)}[op]
            pc += 1 + (jt if cond else jf)
        elif cls == sc.BPF_RET:
            return k
        else:
            raise AssertionError(f"unexpected opcode {code:#x}")


@pytest.mark.parametrize("arch", list(sc.ARCHES.values()), ids=list(sc.ARCHES))
def test_seccomp_decisions(arch: sc.Arch) -> None:
    prog = sc.build_filter(arch)
    assert len(prog) % 8 == 0 and len(prog) // 8 < 4096
    t = arch.syscalls
    eperm = sc.SECCOMP_RET_ERRNO | errno.EPERM
    for name in ("ptrace", "mount", "unshare", "setns", "bpf", "keyctl", "kexec_load", "init_module"):
        assert _run_bpf(prog, t[name], arch.audit_arch) == eperm, name
    assert _run_bpf(prog, t["clone3"], arch.audit_arch) == sc.SECCOMP_RET_ERRNO | errno.ENOSYS
    assert _run_bpf(prog, 0, arch.audit_arch) == sc.SECCOMP_RET_ALLOW  # read / io_setup
    assert _run_bpf(prog, t["clone"], arch.audit_arch, (0x11 | 0x01000000,)) == sc.SECCOMP_RET_ALLOW
    assert _run_bpf(prog, t["clone"], arch.audit_arch, (0x10000000,)) == eperm  # CLONE_NEWUSER
    assert _run_bpf(prog, t["ioctl"], arch.audit_arch, (0, sc.TIOCSTI)) == eperm
    assert _run_bpf(prog, t["ioctl"], arch.audit_arch, (0, 0x5401)) == sc.SECCOMP_RET_ALLOW
    assert _run_bpf(prog, t["personality"], arch.audit_arch, (0xFFFFFFFF,)) == sc.SECCOMP_RET_ALLOW
    assert _run_bpf(prog, t["personality"], arch.audit_arch, (0x0040000,)) == eperm
    assert _run_bpf(prog, 0, 0x40000003) == sc.SECCOMP_RET_KILL_PROCESS  # i386
    if arch.has_x32:
        assert _run_bpf(prog, 0x40000000 | 1, arch.audit_arch) == sc.SECCOMP_RET_KILL_PROCESS


def test_seccomp_x86_64_numbers_match_kernel_headers() -> None:
    header = Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")
    if not header.exists():
        pytest.skip("kernel headers (linux-libc-dev) not installed")
    known = {}
    for line in header.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "#define" and parts[1].startswith("__NR_"):
            known[parts[1][5:]] = int(parts[2])
    for name, nr in sc.SYSCALLS_X86_64.items():
        if name in known:
            assert known[name] == nr, name


# --- paths ---------------------------------------------------------------------------------------


def test_interpreter_binds_cover_venv_and_base_prefix() -> None:
    binds = interpreter_binds(sys.executable)
    real = os.path.realpath(sys.executable)
    assert any(real.startswith(b + "/") for b in binds), (real, binds)
    if sys.prefix != sys.base_prefix:
        assert sys.prefix in binds


def test_interpreter_binds_node_modules_and_shebang(tmp_path: Path) -> None:
    nm = tmp_path / "proj" / "node_modules"
    (nm / ".bin").mkdir(parents=True)
    (nm / "srv").mkdir()
    script = nm / "srv" / "cli.js"
    script.write_text(f"#!{sys.executable}\n")
    script.chmod(0o755)
    (nm / ".bin" / "srv").symlink_to(script)
    binds = interpreter_binds(str(nm / ".bin" / "srv"))
    assert str(nm) in binds
    assert any(os.path.realpath(sys.executable).startswith(b + "/") for b in binds)


def test_dedupe_and_forbidden() -> None:
    assert dedupe_paths(["/a/b", "/a", "/c", "/a/b/c"]) == ["/a", "/c"]
    assert forbidden("/etc/shadow") == "/etc/shadow"
    assert forbidden("/etc/ssl/private/key.pem") == "/etc/ssl/private"
    assert forbidden("/etc/hosts") is None


def test_spec_refuses_forbidden_mounts_and_missing_commands() -> None:
    with pytest.raises(SandboxError, match="never enters"):
        build_spec(sys.executable, [], SandboxConfig(mounts=[Mount(source="/etc/shadow")]))
    with pytest.raises(SandboxError, match="not found"):
        build_spec("definitely-not-a-command-xyz", [], SandboxConfig())


def test_spec_env_and_secrets() -> None:
    cfg = SandboxConfig.model_validate({"env": {"A": "1"}, "secrets": [
        {"name": "tok", "ref": "secret://env/T"}, {"name": "k", "ref": "secret://env/K", "deliver": "env"}]})
    spec = build_spec(sys.executable, ["-V"], cfg, secrets={"tok": "s3cret-file", "k": "s3cret-env"},
                      host_env={"PATH": os.environ["PATH"], "SECRET_HOST": "x"})
    assert spec.env["A"] == "1" and spec.env["TOK_FILE"] == "/run/secrets/tok" and spec.env["K"] == "s3cret-env"
    assert "SECRET_HOST" not in spec.env
    f = next(f for f in spec.files if f.dest == "/run/secrets/tok")
    assert f.data == b"s3cret-file" and f.mode == 0o400 and f.secret


# --- limits ----------------------------------------------------------------------------------------


def test_detect_cgroup_v2_delegation(tmp_path: Path) -> None:
    root = tmp_path / "cg"
    own = root / "user.slice" / "app.scope"
    own.mkdir(parents=True)
    (root / "cgroup.controllers").write_text("cpu memory pids io\n")
    (own / "cgroup.controllers").write_text("cpu memory pids\n")
    (own / "cgroup.subtree_control").write_text("cpu memory pids\n")
    proc = tmp_path / "self-cgroup"
    proc.write_text("0::/user.slice/app.scope\n")
    info = detect_cgroups(root, proc)
    assert info.version == 2 and info.v2_parent == own
    assert {"memory", "pids"} <= info.controllers


def test_detect_cgroup_v1(tmp_path: Path) -> None:
    root = tmp_path / "cg"
    (root / "pids" / "mine").mkdir(parents=True)
    (root / "pids" / "mine" / "tasks").write_text("")
    (root / "memory").mkdir()
    proc = tmp_path / "self-cgroup"
    proc.write_text("8:pids:/mine\n4:memory:/other\n0::/\n")
    info = detect_cgroups(root, proc)
    assert info.version == 1 and info.v1_dirs == {"pids": root / "pids" / "mine"}


def test_plan_without_cgroups_uses_rlimits() -> None:
    cfg = SandboxConfig(memory="256M", pids=32, cpu_seconds=10, cpu=1.0)
    plan = plan_limits(cfg, info=CgroupInfo(0), sandbox_maps_to_root=False)
    assert plan.rlimits[resource.RLIMIT_DATA] == (256 * 2**20,) * 2
    assert plan.rlimits[resource.RLIMIT_NPROC] == (32, 32)
    assert plan.rlimits[resource.RLIMIT_CPU][0] == 10
    assert plan.rlimits[resource.RLIMIT_CORE] == (0, 0)
    assert plan.cgroup is None and any("cpu" in w for w in plan.warnings)
    as_root = plan_limits(cfg, info=CgroupInfo(0), sandbox_maps_to_root=True)
    assert resource.RLIMIT_NPROC not in as_root.rlimits
    assert any("pids limit not enforced" in w for w in as_root.warnings)


def test_plan_with_v2_cgroup_writes_limits(tmp_path: Path) -> None:
    parent = tmp_path / "deleg"
    parent.mkdir()
    (parent / "cgroup.subtree_control").write_text("memory pids cpu\n")
    plan = plan_limits(SandboxConfig(memory="128M", pids=10, cpu=0.5),
                       info=CgroupInfo(2, v2_parent=parent))
    assert plan.cgroup is not None
    d = plan.cgroup.dirs[0]
    assert (d / "memory.max").read_text() == str(128 * 2**20)
    assert (d / "pids.max").read_text() == "10"
    assert (d / "cpu.max").read_text() == "50000 100000"
    assert plan.enforced == {"memory": "cgroup-v2", "pids": "cgroup-v2", "cpu": "cgroup-v2"}


# --- backends ----------------------------------------------------------------------------------


def test_gvisor_argv_and_oci_config() -> None:
    g = GvisorBackend(binary="/opt/runsc")
    assert g.available() is None
    argv = g.build_argv("/b", "/s", "bastion-1", egress=True)
    assert argv == ["/opt/runsc", "--root", "/s", "--network=none", "--host-uds=open",
                    "run", "--bundle", "/b", "bastion-1"]
    cfg = SandboxConfig(memory="64M", pids=8, mounts=[Mount(source=str(Path(__file__)))])
    spec = build_spec(sys.executable, ["-V"], cfg)
    oci = g.oci_config(spec, cfg, "/dev/shm/x")
    assert oci["root"] == {"path": "rootfs", "readonly": True}
    assert oci["process"]["user"] == {"uid": 1000, "gid": 1000}
    assert oci["process"]["noNewPrivileges"] is True
    assert oci["linux"]["resources"]["pids"] == {"limit": 8}
    assert {"type": "network"} in oci["linux"]["namespaces"]
    dests = {m["destination"]: m for m in oci["mounts"]}
    assert "ro" in dests[str(Path(__file__))]["options"]
    assert dests["/tmp"]["type"] == "tmpfs"


def test_gvisor_unavailable_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bastion.sandbox.gvisor.which", lambda _b: None)
    why = GvisorBackend().available()
    assert why is not None and "runsc" in why
    with pytest.raises(SandboxError, match="unavailable"):
        get_backend("gvisor")


def test_auto_never_falls_back_to_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bastion.sandbox.bwrap.which", lambda _b: None)
    with pytest.raises(SandboxError, match="backend: none"):
        get_backend("auto")
