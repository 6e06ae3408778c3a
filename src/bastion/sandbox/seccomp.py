"""A seccomp-BPF deny-list for sandboxed servers, assembled in pure Python.

bubblewrap's ``--seccomp FD`` loads a compiled classic-BPF program; :func:`build_filter` produces
one for the host architecture (x86_64 or aarch64), with no native dependency. The program:

1. kills the process if the syscall's architecture is not the expected one (blocks the i386 and
   x32 ABIs on x86_64, which would bypass a number-based list);
2. returns ``EPERM`` for syscalls no MCP server needs and that widen the attack surface: kernel
   modules, kexec, mounts and pivot_root, new namespaces (``unshare``, ``setns``, namespace flags
   of ``clone``), ptrace and cross-process memory access, bpf, perf, userfaultfd, the keyring,
   handle-based opens, accounting/quotas/swap/reboot, clock setting, ``iopl``/``ioperm`` and the
   ``TIOCSTI``/``TIOCLINUX`` terminal-injection ioctls; ``personality`` is allowed only with the
   harmless personas;
3. returns ``ENOSYS`` for ``clone3`` (its flags live in memory BPF cannot inspect; libc falls back
   to ``clone``) and for ``io_uring_*`` (runtimes such as libuv fall back to threads);
4. allows everything else.
"""

from __future__ import annotations

import errno
import platform
import struct
from dataclasses import dataclass

# --- classic BPF opcodes -------------------------------------------------------------------
BPF_LD, BPF_JMP, BPF_RET = 0x00, 0x05, 0x06
BPF_W, BPF_ABS, BPF_K = 0x00, 0x20, 0x00
BPF_JEQ, BPF_JGE, BPF_JSET = 0x10, 0x30, 0x40

SECCOMP_RET_KILL_PROCESS = 0x80000000
SECCOMP_RET_ERRNO = 0x00050000
SECCOMP_RET_ALLOW = 0x7FFF0000

AUDIT_ARCH_X86_64 = 0xC000003E
AUDIT_ARCH_AARCH64 = 0xC00000B7
X32_SYSCALL_BIT = 0x40000000

# struct seccomp_data offsets (little-endian: low word of args[i] at 16 + 8*i)
OFF_NR, OFF_ARCH = 0, 4


def _arg_lo(i: int) -> int:
    return 16 + 8 * i


CLONE_NAMESPACE_FLAGS = (
    0x00020000  # CLONE_NEWNS
    | 0x02000000  # CLONE_NEWCGROUP
    | 0x04000000  # CLONE_NEWUTS
    | 0x08000000  # CLONE_NEWIPC
    | 0x10000000  # CLONE_NEWUSER
    | 0x20000000  # CLONE_NEWPID
    | 0x40000000  # CLONE_NEWNET
)
TIOCSTI, TIOCLINUX = 0x5412, 0x541C
ALLOWED_PERSONAS = (0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF)

DENIED = (
    "ptrace", "mount", "umount2", "pivot_root", "chroot", "kexec_load", "kexec_file_load",
    "init_module", "finit_module", "delete_module", "create_module", "bpf", "perf_event_open",
    "userfaultfd", "keyctl", "add_key", "request_key", "unshare", "setns", "reboot", "swapon",
    "swapoff", "process_vm_readv", "process_vm_writev", "open_by_handle_at", "name_to_handle_at",
    "acct", "quotactl", "quotactl_fd", "lookup_dcookie", "iopl", "ioperm", "syslog",
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "vhangup", "nfsservctl",
    "uselib", "_sysctl", "get_kernel_syms", "query_module", "kcmp", "pidfd_getfd",
    "fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr",
)
"""Syscalls refused with EPERM (those missing on an architecture are skipped)."""

NOSYS = ("clone3", "io_uring_setup", "io_uring_enter", "io_uring_register")
"""Syscalls answered with ENOSYS so callers fall back to an older interface."""

SYSCALLS_X86_64: dict[str, int] = {
    "ioctl": 16, "clone": 56, "uselib": 134, "personality": 135, "ptrace": 101, "syslog": 103,
    "vhangup": 153, "pivot_root": 155, "_sysctl": 156, "adjtimex": 159, "chroot": 161,
    "acct": 163, "settimeofday": 164, "mount": 165, "umount2": 166, "swapon": 167,
    "swapoff": 168, "reboot": 169, "iopl": 172, "ioperm": 173, "create_module": 174,
    "init_module": 175, "delete_module": 176, "get_kernel_syms": 177, "query_module": 178,
    "quotactl": 179, "nfsservctl": 180, "lookup_dcookie": 212, "clock_settime": 227,
    "kexec_load": 246, "add_key": 248, "request_key": 249, "keyctl": 250, "unshare": 272,
    "perf_event_open": 298, "name_to_handle_at": 303, "open_by_handle_at": 304,
    "clock_adjtime": 305, "setns": 308, "process_vm_readv": 310, "process_vm_writev": 311,
    "kcmp": 312, "finit_module": 313, "kexec_file_load": 320, "bpf": 321, "userfaultfd": 323,
    "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "open_tree": 428,
    "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
    "clone3": 435, "pidfd_getfd": 438, "mount_setattr": 442, "quotactl_fd": 443,
}

SYSCALLS_AARCH64: dict[str, int] = {
    "lookup_dcookie": 18, "ioctl": 29, "umount2": 39, "mount": 40, "pivot_root": 41,
    "nfsservctl": 42, "chroot": 51, "vhangup": 58, "quotactl": 60, "acct": 89, "personality": 92,
    "unshare": 97, "kexec_load": 104, "init_module": 105, "delete_module": 106,
    "clock_settime": 112, "syslog": 116, "ptrace": 117, "reboot": 142, "settimeofday": 170,
    "adjtimex": 171, "add_key": 217, "request_key": 218, "keyctl": 219, "clone": 220,
    "swapon": 224, "swapoff": 225, "perf_event_open": 241, "name_to_handle_at": 264,
    "open_by_handle_at": 265, "clock_adjtime": 266, "setns": 268, "process_vm_readv": 270,
    "process_vm_writev": 271, "kcmp": 272, "finit_module": 273, "bpf": 280, "userfaultfd": 282,
    "kexec_file_load": 294, "io_uring_setup": 425, "io_uring_enter": 426,
    "io_uring_register": 427, "open_tree": 428, "move_mount": 429, "fsopen": 430,
    "fsconfig": 431, "fsmount": 432, "fspick": 433, "clone3": 435, "pidfd_getfd": 438,
    "mount_setattr": 442, "quotactl_fd": 443,
}


@dataclass(frozen=True)
class Arch:
    """An architecture the filter can be built for."""

    name: str
    audit_arch: int
    syscalls: dict[str, int]
    has_x32: bool


ARCHES = {
    "x86_64": Arch("x86_64", AUDIT_ARCH_X86_64, SYSCALLS_X86_64, True),
    "aarch64": Arch("aarch64", AUDIT_ARCH_AARCH64, SYSCALLS_AARCH64, False),
}
_MACHINE_ALIASES = {"amd64": "x86_64", "arm64": "aarch64"}


class UnsupportedArch(RuntimeError):
    """No syscall table for this machine; bwrap runs without the seccomp filter."""


def host_arch() -> Arch:
    """The :class:`Arch` of this machine, or :class:`UnsupportedArch`."""
    machine = platform.machine().lower()
    machine = _MACHINE_ALIASES.get(machine, machine)
    try:
        return ARCHES[machine]
    except KeyError:
        raise UnsupportedArch(f"no seccomp syscall table for {machine!r}") from None


# --- a tiny assembler with symbolic jump targets -----------------------------------------------
_Target = str | int  # label, or 0 for "next instruction"


@dataclass
class _Ins:
    code: int
    k: int
    jt: _Target = 0
    jf: _Target = 0
    label: str | None = None


class _Program:
    def __init__(self) -> None:
        self.ins: list[_Ins] = []

    def ld(self, offset: int) -> None:
        self.ins.append(_Ins(BPF_LD | BPF_W | BPF_ABS, offset))

    def jump(self, op: int, k: int, jt: _Target = 0, jf: _Target = 0) -> None:
        self.ins.append(_Ins(BPF_JMP | op | BPF_K, k, jt, jf))

    def ret(self, value: int, label: str | None = None) -> None:
        self.ins.append(_Ins(BPF_RET | BPF_K, value, label=label))

    def label(self, name: str) -> None:
        """Name the next instruction."""
        self.ins.append(_Ins(-1, 0, label=name))

    def assemble(self) -> bytes:
        # drop label markers, remembering where they point
        real: list[_Ins] = []
        where: dict[str, int] = {}
        for i in self.ins:
            if i.code == -1:
                assert i.label is not None
                where[i.label] = len(real)
                continue
            if i.label:
                where[i.label] = len(real)
            real.append(i)
        out = bytearray()
        for pos, i in enumerate(real):
            jt = self._offset(i.jt, pos, where)
            jf = self._offset(i.jf, pos, where)
            out += struct.pack("=HBBI", i.code, jt, jf, i.k & 0xFFFFFFFF)
        return bytes(out)

    @staticmethod
    def _offset(target: _Target, pos: int, where: dict[str, int]) -> int:
        if isinstance(target, int):
            return target
        off = where[target] - pos - 1
        if not 0 <= off <= 255:
            raise ValueError(f"jump to {target} out of range ({off})")
        return off


def build_filter(arch: Arch | None = None, *, deny_errno: int = errno.EPERM) -> bytes:
    """Return the compiled BPF program (``struct sock_filter[]`` bytes) for ``arch``.

    Suitable for ``bwrap --seccomp FD`` or ``prctl(PR_SET_SECCOMP)``.
    """
    a = arch or host_arch()
    sc = a.syscalls
    p = _Program()
    p.ld(OFF_ARCH)
    p.jump(BPF_JEQ, a.audit_arch, 0, "kill")
    p.ld(OFF_NR)
    if a.has_x32:
        p.jump(BPF_JGE, X32_SYSCALL_BIT, "kill", 0)
    for name in DENIED:
        if name in sc:
            p.jump(BPF_JEQ, sc[name], "deny", 0)
    for name in NOSYS:
        if name in sc:
            p.jump(BPF_JEQ, sc[name], "nosys", 0)
    p.jump(BPF_JEQ, sc["clone"], "clone", 0)
    p.jump(BPF_JEQ, sc["ioctl"], "ioctl", 0)
    if "personality" in sc:
        p.jump(BPF_JEQ, sc["personality"], "personality", 0)
    p.ret(SECCOMP_RET_ALLOW)
    # clone: refuse namespace flags
    p.label("clone")
    p.ld(_arg_lo(0))
    p.jump(BPF_JSET, CLONE_NAMESPACE_FLAGS, "deny", "allow")
    # ioctl: refuse terminal injection
    p.label("ioctl")
    p.ld(_arg_lo(1))
    p.jump(BPF_JEQ, TIOCSTI, "deny", 0)
    p.jump(BPF_JEQ, TIOCLINUX, "deny", "allow")
    if "personality" in sc:
        p.label("personality")
        p.ld(_arg_lo(0))
        for persona in ALLOWED_PERSONAS:
            p.jump(BPF_JEQ, persona, "allow", 0)
        p.ret(SECCOMP_RET_ERRNO | deny_errno)
    p.ret(SECCOMP_RET_ALLOW, label="allow")
    p.ret(SECCOMP_RET_ERRNO | deny_errno, label="deny")
    p.ret(SECCOMP_RET_ERRNO | errno.ENOSYS, label="nosys")
    p.ret(SECCOMP_RET_KILL_PROCESS, label="kill")
    return p.assemble()
