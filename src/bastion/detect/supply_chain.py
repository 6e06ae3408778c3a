"""Supply-chain checks of MCP server entries in client configurations.

A client configuration (Claude Desktop ``mcpServers``, VS Code ``servers``, Cursor …) says what each
server *runs*: ``{"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem"],
"env": {...}}`` or ``{"url": "https://…", "headers": {...}}``. :func:`extract_packages` reads out
the packages (npx/bunx/pnpm dlx/yarn dlx/npm exec, uvx/uv tool run/pipx run/pip, docker/podman
images, remote hosts) and :func:`check_server_entry` compares them with a bundled catalogue of
official and well-known servers (``data/catalogue.yaml``), flagging:

- names one or two edits away from a known name (typosquatting), look-alike letters,
  separator tricks (``server_filesystem`` for ``server-filesystem``) and look-alike npm scopes
  (``@modelcontextprotocol-x``, ``@model-context-protocol``);
- unpinned installs (no version, ``@latest``, untagged or ``:latest`` images), custom registries;
- plaintext secrets in ``env``, ``headers`` and arguments (token formats and ``*_TOKEN``/``*_KEY``
  variables holding literal values);
- dangerous flags (``--no-sandbox``, ``--allow-all``, docker ``--privileged``, ``-v /:/host``,
  ``--network host``, Docker socket or credential directories mounted …);
- remote servers over plain HTTP, or on hosts that imitate a known vendor host.

Findings have the same shape as the detection engine's (field = ``args[1]``, ``env.GITHUB_TOKEN``,
``url`` …, offsets into that string).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Literal
from urllib.parse import urlsplit

import yaml
from rapidfuzz.distance import Levenshtein

from bastion.detect.engine import Engine, default_engine
from bastion.detect.models import Finding, ItemReport, Severity, Verdict
from bastion.detect.normalize import normalize
from bastion.detect.scoring import score_findings

Ecosystem = Literal["npm", "pypi", "docker", "remote"]


@dataclass(frozen=True, slots=True)
class PackageRef:
    """One thing a server entry runs, and where in the entry it was named."""

    ecosystem: Ecosystem
    name: str  # npm: "@scope/name" or "name"; pypi: normalised name; docker: repository; remote: host
    version: str | None
    field: str
    start: int
    end: int
    raw: str


@dataclass(frozen=True, slots=True)
class Catalogue:
    """Known-good names per ecosystem."""

    npm: frozenset[str] = frozenset()
    pypi: frozenset[str] = frozenset()
    docker: frozenset[str] = frozenset()
    scopes: frozenset[str] = frozenset()
    hosts: frozenset[str] = frozenset()
    canonical: dict[str, dict[str, str]] = field(default_factory=dict)

    def names(self, ecosystem: Ecosystem) -> frozenset[str]:
        return {"npm": self.npm, "pypi": self.pypi, "docker": self.docker, "remote": self.hosts}[ecosystem]


def _canon(name: str) -> str:
    """Fold look-alikes and case, drop separators: ``@Model_Context-Protocol`` -> ``modelcontextprotocol``."""
    return re.sub(r"[@/_.\-\s]+", "", normalize(name).text.lower())


@functools.cache
def load_catalogue() -> Catalogue:
    """The bundled catalogue (``bastion/detect/data/catalogue.yaml``)."""
    text = (resources.files("bastion.detect") / "data" / "catalogue.yaml").read_text(encoding="utf-8")
    return catalogue_from(yaml.safe_load(text))


def catalogue_from(data: Mapping[str, Iterable[str]]) -> Catalogue:
    sets = {k: frozenset(str(x).lower() if k != "npm" else str(x) for x in data.get(k, ()))
            for k in ("npm", "pypi", "docker", "scopes", "hosts")}
    canonical = {k: {_canon(n): n for n in v} for k, v in sets.items()}
    return Catalogue(sets["npm"], sets["pypi"], sets["docker"], sets["scopes"], sets["hosts"], canonical)


# ------------------------------------------------------------------------------------ extraction

_NPM_RUNNERS = {"npx", "bunx", "pnpx"}
_NPM_DLX = {"pnpm": ("dlx",), "yarn": ("dlx",), "npm": ("exec", "x"), "bun": ("x",)}
_NPM_VALUE_FLAGS = {"-p", "--package", "--registry", "--cache", "--userconfig", "-c", "--call", "--node-options"}
_PY_VALUE_FLAGS = {"--from", "--with", "--python", "-p", "--index-url", "--extra-index-url", "-i", "--index",
                   "--default-index", "--spec", "--with-requirements", "--directory", "--project"}
_DOCKER_VALUE_FLAGS = {"-e", "--env", "-v", "--volume", "--mount", "--network", "--net", "--name", "-p", "--publish",
                       "-w", "--workdir", "-u", "--user", "--entrypoint", "--env-file", "--label", "-l", "--cap-add",
                       "--cap-drop", "--security-opt", "--pid", "--ipc", "--device", "-m", "--memory", "--cpus",
                       "--platform", "--add-host", "--tmpfs", "--ulimit", "--runtime", "--pull", "--hostname", "-h"}
_NPM_SPEC = re.compile(r"^(?P<name>(?:@[^/@\s]+/)?[^@\s/][^@\s]*)(?:@(?P<version>[^\s]+))?$")
_PY_SPEC = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._\-]*)(?:\[[^\]]*\])?(?:(?:==|@|>=|~=|===)(?P<version>\S+))?$")


def _base(command: str) -> str:
    name = re.split(r"[\\/]", command)[-1].lower()
    return name[:-4] if name.endswith((".cmd", ".exe")) else name


def _npm_ref(spec: str, idx: int) -> PackageRef | None:
    m = _NPM_SPEC.match(spec)
    if not m:
        return None
    return PackageRef("npm", m.group("name"), m.group("version"), f"args[{idx}]", 0, len(spec), spec)


def _py_ref(spec: str, fld: str) -> PackageRef | None:
    m = _PY_SPEC.match(spec)
    if not m:
        return None
    return PackageRef("pypi", m.group("name").lower(), m.group("version"), fld, 0, len(spec), spec)


def _docker_ref(image: str, idx: int) -> PackageRef:
    name, version = image, None
    if "@" in image:
        name, version = image.split("@", 1)
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = name.rsplit(":", 1)
        version = version or tag
    return PackageRef("docker", name.lower(), version, f"args[{idx}]", 0, len(image), image)


def _first_positional(args: Sequence[str], start: int, value_flags: set[str]) -> int | None:
    i = start
    while i < len(args):
        a = args[i]
        if a == "--":
            return i + 1 if i + 1 < len(args) else None
        if a.startswith("-"):
            if a in value_flags:
                i += 2
                continue
            i += 1
            continue
        return i
    return None


def extract_packages(entry: Mapping[str, object]) -> list[PackageRef]:
    """What a server entry runs: packages, images and remote hosts."""
    out: list[PackageRef] = []
    url = entry.get("url") or entry.get("serverUrl")
    if isinstance(url, str) and url:
        host = urlsplit(url).hostname or ""
        start = url.find(host) if host else 0
        out.append(PackageRef("remote", host.lower(), None, "url", max(start, 0), max(start, 0) + len(host), url))
    command = entry.get("command")
    raw_args = entry.get("args")
    args = [a for a in raw_args if isinstance(a, str)] if isinstance(raw_args, list) else []
    if not isinstance(command, str) or not command:
        return out
    base = _base(command)
    # "command": "npx -y pkg" written as one string
    if " " in command.strip() and not args:
        parts = command.split()
        base, args = _base(parts[0]), parts[1:]
    start = 0
    if base in _NPM_DLX and args and args[0] in _NPM_DLX[base]:
        base, start = "npx", 1
    if base in _NPM_RUNNERS or (base == "npx"):
        for i, a in enumerate(args):
            if a in ("-p", "--package") and i + 1 < len(args):
                ref = _npm_ref(args[i + 1], i + 1)
                if ref:
                    out.append(ref)
            elif a.startswith("--package="):
                ref = _npm_ref(a.split("=", 1)[1], i)
                if ref:
                    out.append(PackageRef("npm", ref.name, ref.version, f"args[{i}]", 10, len(a), a))
        if not any(r.ecosystem == "npm" for r in out):
            pos = _first_positional(args, start, _NPM_VALUE_FLAGS)
            if pos is not None:
                ref = _npm_ref(args[pos], pos)
                if ref:
                    out.append(ref)
    elif base in ("uvx", "uv", "pipx", "pip", "pip3"):
        if base == "uv":
            if args[:2] == ["tool", "run"]:
                start = 2
            elif args[:1] == ["run"] and "--with" not in args:
                return out
        if base == "pipx" and args[:1] == ["run"]:
            start = 1
        if base in ("pip", "pip3") and args[:1] == ["install"]:
            start = 1
        for i, a in enumerate(args):
            if a in ("--from", "--spec") and i + 1 < len(args):
                ref = _py_ref(args[i + 1], f"args[{i + 1}]")
                if ref:
                    out.append(ref)
        if not any(r.ecosystem == "pypi" for r in out):
            pos = _first_positional(args, start, _PY_VALUE_FLAGS)
            if pos is not None:
                ref = _py_ref(args[pos], f"args[{pos}]")
                if ref:
                    out.append(ref)
    elif base in ("docker", "podman", "nerdctl") and (args[:1] == ["run"] or args[:2] == ["container", "run"]):
        pos = _first_positional(args, 1 if args[:1] == ["run"] else 2, _DOCKER_VALUE_FLAGS)
        if pos is not None:
            out.append(_docker_ref(args[pos], pos))
    return out


# ------------------------------------------------------------------------------------ checks


@dataclass(frozen=True, slots=True)
class _Check:
    id: str
    title: str
    severity: Severity
    confidence: float
    explanation: str
    references: tuple[str, ...] = ("OWASP-MCP04", "OWASP-LLM03")
    scored: bool = True


CHECKS: dict[str, _Check] = {c.id: c for c in (
    _Check("SC-001", "Package name close to a known MCP server", "high", 0.7,
           "The name is one or two edits away from a known official or popular MCP server: a typosquat "
           "would run the attacker's code with the user's privileges."),
    _Check("SC-002", "Look-alike characters in a package name", "critical", 0.8,
           "The name contains non-ASCII letters that imitate Latin ones."),
    _Check("SC-003", "Look-alike npm scope", "critical", 0.8,
           "The scope imitates a vendor's scope (@modelcontextprotocol-x, @model-context-protocol): "
           "scope squatting."),
    _Check("SC-004", "Separator or case trick", "high", 0.7,
           "The name equals a known package up to separators or case (server_filesystem for "
           "server-filesystem)."),
    _Check("SC-005", "Unpinned install", "low", 0.1,
           "No exact version (or @latest / :latest): whatever is published next runs without review, "
           "which is how a rug pull reaches users.", scored=False),
    _Check("SC-006", "Plaintext secret in the configuration", "high", 0.3,
           "A credential is written in the client configuration, readable by every process and easy to "
           "leak; hand it over from a secret store instead.", ("OWASP-MCP01", "OWASP-LLM02"), scored=False),
    _Check("SC-007", "Dangerous runtime flag", "high", 0.45,
           "The server is started with a flag that disables isolation or grants broad access "
           "(--no-sandbox, --privileged, host network, the host root or Docker socket mounted).",
           ("OWASP-MCP02", "OWASP-MCP05")),
    _Check("SC-008", "Custom package registry", "medium", 0.3,
           "Packages come from a registry other than the public default; make sure it is yours.",
           ("OWASP-MCP04",)),
    _Check("SC-009", "Remote server over plain HTTP", "medium", 0.3,
           "Tokens and tool traffic travel unencrypted.", ("OWASP-MCP07",)),
    _Check("SC-010", "Remote host imitates a known MCP host", "high", 0.7,
           "The host differs from a vendor's MCP endpoint by one or two characters.", ("OWASP-MCP09",)),
)}


def _finding(check_id: str, fld: str, text: str, start: int, end: int, detail: str = "") -> Finding:
    c = CHECKS[check_id]
    return Finding(
        rule=c.id, title=c.title, category="supply-chain", severity=c.severity, confidence=c.confidence,
        explanation=c.explanation + (f" ({detail})" if detail else ""), field=fld, start=start, end=end,
        evidence=text[start:end], signals=("supply_chain",), scored=c.scored,
    )


def _name_findings(ref: PackageRef, cat: Catalogue) -> list[Finding]:
    known = cat.names(ref.ecosystem)
    name = ref.name if ref.ecosystem == "npm" else ref.name.lower()
    out: list[Finding] = []
    s, e = ref.start, ref.end
    if name in known:
        return out
    if not name.isascii():
        folded = normalize(name).text
        out.append(_finding("SC-002", ref.field, ref.raw, s, e, f"reads as {folded!r}"))
    if ref.ecosystem == "npm" and name.startswith("@") and "/" in name:
        scope = name.split("/", 1)[0]
        if scope not in cat.scopes:
            for good in sorted(cat.scopes):
                cs, cg = _canon(scope), _canon(good)
                if cs == cg or cs.startswith(cg) or Levenshtein.distance(cs, cg) <= 2:
                    out.append(_finding("SC-003", ref.field, ref.raw, s, s + len(scope), f"imitates {good}"))
                    break
    if out:
        return out  # the specific finding (look-alike letters or scope) says it all
    canon = cat.canonical.get({"npm": "npm", "pypi": "pypi", "docker": "docker", "remote": "hosts"}[ref.ecosystem], {})
    c = _canon(name)
    if c in canon and canon[c] != name:
        out.append(_finding("SC-004", ref.field, ref.raw, s, e, f"same as {canon[c]} up to separators or case"))
        return out
    best, dist = None, 99
    for good in known:
        d = Levenshtein.distance(name, good, score_cutoff=2)
        if d < dist:
            best, dist = good, d
    if best is not None and 0 < dist <= (1 if len(best) < 8 else 2):
        check = "SC-010" if ref.ecosystem == "remote" else "SC-001"
        out.append(_finding(check, ref.field, ref.raw, s, e, f"{dist} edit(s) from {best}"))
    return out


_SECRET_NAME = re.compile(r"(?i)(?:token|secret|password|passwd|api[_-]?key|access[_-]?key|private[_-]?key|"
                          r"credential|auth|_key$|^key$|pat$)")
_REFERENCE = re.compile(r"^\s*(?:\$\{[^}]*\}|\$[A-Z_][A-Z0-9_]*|\{\{[^}]*\}\}|<[^>]*>|op://\S+|vault:\S+|"
                        r"\$\(\S+\)|env:\S+|secret:\S+)\s*$")
_PLACEHOLDER = re.compile(r"(?i)^(?:|x+|\*+|changeme|change-me|your[_-].*|<.*>|todo|none|null|false|true|\d{1,6})$")

_DANGEROUS_FLAGS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^--no-sandbox$|^--disable-sandbox$|^--unsafe"), "disables the sandbox"),
    (re.compile(r"^--allow-all$|^-A$|^--allow-all-"), "grants all permissions"),
    (re.compile(r"^--dangerously|^--yolo$|^--trust-all|^--disable-security"), "turns off safety checks"),
    (re.compile(r"^--privileged$"), "privileged container"),
    (re.compile(r"^--(?:network|net)=host$"), "host network"),
    (re.compile(r"^--(?:pid|ipc|uts|userns)=host$"), "shares a host namespace"),
    (re.compile(r"^--cap-add=(?:ALL|SYS_ADMIN|SYS_PTRACE|NET_ADMIN)$", re.I), "adds powerful capabilities"),
    (re.compile(r"^--security-opt=(?:seccomp|apparmor)[=:]unconfined$"), "disables confinement"),
)
_VOLUME_FLAGS = {"-v", "--volume", "--mount"}
_PAIRED = {"--network": "host", "--net": "host", "--pid": "host", "--ipc": "host", "--uts": "host",
           "--userns": "host"}
def _mount_risk(spec: str) -> str | None:
    src = spec.split(":", 1)[0] if "," not in spec else next(
        (p.split("=", 1)[1] for p in spec.split(",") if p.startswith(("source=", "src="))), "")
    src = src.rstrip("/") or "/"
    if src in ("/", "~", "$HOME", "${HOME}", "C:\\", "C:") or re.fullmatch(r"/home/[^/]+|/Users/[^/]+|/root", src):
        return f"mounts {src} (the whole host or home directory)"
    if "docker.sock" in src:
        return "mounts the Docker socket (root on the host)"
    if re.search(r"(?:^|/)\.(?:ssh|aws|kube|gnupg|docker|config/gcloud)(?:/|$)", src):
        return f"mounts credentials ({src})"
    return None


def _arg_findings(args: Sequence[str]) -> list[Finding]:
    out: list[Finding] = []
    for i, a in enumerate(args):
        fld = f"args[{i}]"
        for pat, why in _DANGEROUS_FLAGS:
            if pat.search(a):
                out.append(_finding("SC-007", fld, a, 0, len(a), why))
                break
        if a in _PAIRED and i + 1 < len(args) and args[i + 1] == _PAIRED[a]:
            out.append(_finding("SC-007", fld, a, 0, len(a), f"{a} {args[i + 1]}"))
        if a in ("--cap-add", "--security-opt") and i + 1 < len(args):
            joined = f"{a}={args[i + 1]}"
            for pat, why in _DANGEROUS_FLAGS[6:]:
                if pat.search(joined):
                    out.append(_finding("SC-007", f"args[{i + 1}]", args[i + 1], 0, len(args[i + 1]), why))
        if a in _VOLUME_FLAGS and i + 1 < len(args):
            risk = _mount_risk(args[i + 1])
            if risk:
                out.append(_finding("SC-007", f"args[{i + 1}]", args[i + 1], 0, len(args[i + 1]), risk))
        elif a.startswith(("--volume=", "--mount=")):
            risk = _mount_risk(a.split("=", 1)[1])
            if risk:
                out.append(_finding("SC-007", fld, a, 0, len(a), risk))
        if a in ("--registry", "--index-url", "--extra-index-url", "--index") and i + 1 < len(args):
            v = args[i + 1]
            if "registry.npmjs.org" not in v and "pypi.org" not in v:
                out.append(_finding("SC-008", f"args[{i + 1}]", v, 0, len(v)))
        elif a.startswith(("--registry=", "--index-url=", "--extra-index-url=")):
            v = a.split("=", 1)[1]
            if "registry.npmjs.org" not in v and "pypi.org" not in v:
                out.append(_finding("SC-008", fld, a, len(a) - len(v), len(a)))
    return out


def _secret_findings(entry: Mapping[str, object], engine: Engine) -> list[Finding]:
    out: list[Finding] = []
    values: list[tuple[str, str, str | None]] = []  # (field, value, variable name)
    for key in ("env", "headers"):
        m = entry.get(key)
        if isinstance(m, Mapping):
            values.extend((f"{key}.{k}", v, str(k)) for k, v in m.items() if isinstance(v, str))
    raw_args = entry.get("args")
    if isinstance(raw_args, list):
        values.extend((f"args[{i}]", a, None) for i, a in enumerate(raw_args) if isinstance(a, str))
    url = entry.get("url")
    if isinstance(url, str):
        values.append(("url", url, None))
    for fld, value, var in values:
        found = engine.find_sensitive(value, "arguments", ("secrets",))
        out.extend(_finding("SC-006", fld, value, f.start, f.end, f.title) for f in found)
        if found or var is None:
            continue
        if _SECRET_NAME.search(var) and not _REFERENCE.match(value) and not _PLACEHOLDER.match(value.strip()):
            if var.lower() in ("authorization",) and value.lower().startswith(("bearer ${", "basic ${")):
                continue
            out.append(_finding("SC-006", fld, value, 0, len(value), f"{var} holds a literal value"))
    return out


def _pin_findings(ref: PackageRef) -> list[Finding]:
    v = ref.version
    if ref.ecosystem == "remote":
        return []
    if v is None or v.lower() in ("latest", "next", "canary", "beta", "alpha", "main", "master") or (
        ref.ecosystem == "npm" and re.match(r"^[\^~><=*x]", v)
    ):
        why = "no version" if v is None else f"floating version {v!r}"
        return [_finding("SC-005", ref.field, ref.raw, ref.start, ref.end, why)]
    return []


def check_server_entry(
    name: str,
    entry: Mapping[str, object],
    *,
    catalogue: Catalogue | None = None,
    engine: Engine | None = None,
) -> ItemReport:
    """Supply-chain report for one server entry of a client configuration."""
    cat = catalogue or load_catalogue()
    eng = engine or default_engine()
    findings: list[Finding] = []
    for ref in extract_packages(entry):
        findings.extend(_name_findings(ref, cat))
        findings.extend(_pin_findings(ref))
        if ref.ecosystem == "remote":
            url = ref.raw
            host = ref.name
            if url.lower().startswith("http://") and host not in ("localhost", "127.0.0.1", "::1"):
                findings.append(_finding("SC-009", "url", url, 0, 7))
    raw_args = entry.get("args")
    args = [a for a in raw_args if isinstance(a, str)] if isinstance(raw_args, list) else []
    findings.extend(_arg_findings(args))
    findings.extend(_secret_findings(entry, eng))
    score = score_findings(findings)
    verdict: Verdict = "malicious" if score >= eng.threshold else "benign"
    ordered = tuple(sorted(findings, key=lambda f: (-f.confidence, f.field, f.start)))
    return ItemReport(name=name, kind="tool_description", score=score, verdict=verdict, findings=ordered,
                      threshold=eng.threshold)


def check_config(config: Mapping[str, object], **kwargs: object) -> dict[str, ItemReport]:
    """Check every server of a client configuration (``mcpServers`` or ``servers`` map)."""
    servers = config.get("mcpServers", config.get("servers", {}))
    if not isinstance(servers, Mapping):
        return {}
    cat = kwargs.get("catalogue")
    eng = kwargs.get("engine")
    return {
        str(k): check_server_entry(
            str(k), v,
            catalogue=cat if isinstance(cat, Catalogue) else None,
            engine=eng if isinstance(eng, Engine) else None,
        )
        for k, v in servers.items()
        if isinstance(v, Mapping)
    }
