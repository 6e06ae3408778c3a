"""``bastion run``: run one stdio MCP server inside the sandbox, by hand.

::

    bastion run [OPTIONS] -- COMMAND [ARGS...]
    bastion run --mount ro:./server.py --memory 256M --pids 32 -- python server.py
    bastion run --network api.github.com:443 --secret github_token=secret://vault/kv/github#token \\
        -- npx -y @modelcontextprotocol/server-github

The server's stdin and stdout are bastion's own (connect an MCP client to this process); its
stderr is redacted and copied to bastion's stderr. The exit status is the server's (137 when it
was killed, e.g. at the end of its lifetime). Options override a ``--config`` file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bastion.sandbox.config import Egress, Mount, SandboxConfig, SecretDelivery
from bastion.sandbox.process import launch, server_log
from bastion.sandbox.spec import SandboxError
from bastion.secrets.providers import SecretError
from bastion.secrets.redact import install_log_redaction

_log = logging.getLogger("bastion.run")


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``bastion run`` options."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.description = (__doc__ or "").split("\n\n", 1)[1].replace("::\n\n", "")
    parser.add_argument("--config", metavar="FILE",
                        help="a YAML or JSON file holding a sandbox config (the 'sandbox:' section of a "
                             "server); the options below override it")
    parser.add_argument("--sandbox", choices=["auto", "bwrap", "gvisor", "none"], default=None,
                        help="isolation backend: bwrap (bubblewrap, the default via 'auto'), gvisor "
                             "(runsc, strongest, if installed) or none (no isolation, warned)")
    parser.add_argument("--network", metavar="none|HOST:PORT,...", default=None,
                        help="'none' (default: no network at all) or a comma-separated allow-list of "
                             "host:port reachable through bastion's filtering proxy (HTTP_PROXY/"
                             "HTTPS_PROXY are set inside; everything else has no route)")
    parser.add_argument("--allow", metavar="HOST:PORT", action="append", default=[],
                        help="add one destination to the egress allow-list (repeatable)")
    parser.add_argument("--mount", metavar="ro|rw:SOURCE[:TARGET]", action="append", default=[],
                        help="bind a host path read-only (ro) or read-write (rw), at TARGET or the same "
                             "path (repeatable); nothing else from the host is visible")
    parser.add_argument("--no-script-mount", action="store_true",
                        help="do not bind the first argument read-only when it is an existing file "
                             "(the server script, as in 'python server.py')")
    parser.add_argument("--env", metavar="NAME=VALUE", action="append", default=[],
                        help="set an environment variable for the server (repeatable); the server "
                             "inherits nothing else from bastion")
    parser.add_argument("--pass-env", metavar="NAME", action="append", default=[],
                        help="copy a variable from bastion's environment (repeatable)")
    parser.add_argument("--secret", metavar="NAME=REF", action="append", default=[],
                        help="deliver a secret (secret://vault/MOUNT/PATH#KEY, secret://file/PATH, "
                             "secret://env/NAME) as the in-memory file /run/secrets/NAME; the server "
                             "finds the path in $NAME_FILE (repeatable)")
    parser.add_argument("--secret-env", metavar="NAME=REF", action="append", default=[],
                        help="deliver a secret as the environment variable NAME instead (only for "
                             "servers that cannot read a file)")
    parser.add_argument("--memory", metavar="SIZE", help="memory cap, e.g. 512M (default 512M)")
    parser.add_argument("--cpu", metavar="CORES", type=float,
                        help="CPU cores (needs a cgroup; e.g. 0.5)")
    parser.add_argument("--cpu-seconds", metavar="N", type=int, help="CPU time limit in seconds")
    parser.add_argument("--pids", metavar="N", type=int,
                        help="maximum processes and threads (default 64)")
    parser.add_argument("--lifetime", metavar="SECONDS", type=float,
                        help="kill the sandbox after this long (default 300)")
    parser.add_argument("--workdir", metavar="PATH", help="working directory inside the sandbox "
                        "(default: the throw-away $HOME)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log sandbox decisions to stderr")
    parser.add_argument("server_command", nargs=argparse.REMAINDER, metavar="-- COMMAND [ARGS...]",
                        help="the server to run")


def _load_file(path: str) -> dict[str, Any]:
    text = Path(path).read_text()
    if path.endswith(".json"):
        data = json.loads(text)
    else:
        import yaml

        data = yaml.safe_load(text)
    if isinstance(data, dict) and isinstance(data.get("sandbox"), dict):
        data = data["sandbox"]
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping")
    return data


def _pairs(items: list[str], what: str) -> list[tuple[str, str]]:
    out = []
    for item in items:
        k, sep, v = item.partition("=")
        if not sep or not k:
            raise ValueError(f"{what} {item!r}: expected NAME=VALUE")
        out.append((k, v))
    return out


def build_config(args: argparse.Namespace, command: list[str]) -> SandboxConfig:
    """The :class:`SandboxConfig` described by the command-line options."""
    data: dict[str, Any] = _load_file(args.config) if args.config else {}
    if args.sandbox:
        data["backend"] = args.sandbox
    allow: list[str] = []
    if args.network and args.network != "none":
        allow += [x for x in args.network.split(",") if x.strip()]
    allow += args.allow
    if allow:
        data["network"] = [str(Egress.parse(a)) for a in allow]
    elif args.network == "none":
        data["network"] = "none"
    mounts = list(data.get("mounts", []))
    mounts += [Mount.parse(m).model_dump() for m in args.mount]
    if (not args.no_script_mount and len(command) > 1 and os.path.isfile(command[1])
            and not any(os.path.abspath(m["source"]) == os.path.abspath(command[1]) for m in mounts)):
        mounts.append({"source": os.path.abspath(command[1]), "mode": "ro"})
        command[1] = os.path.abspath(command[1])
    data["mounts"] = mounts
    env = dict(data.get("env", {}))
    env.update(_pairs(args.env, "--env"))
    data["env"] = env
    data["pass_env"] = [*data.get("pass_env", []), *args.pass_env]
    secrets = list(data.get("secrets", []))
    secrets += [SecretDelivery(name=k, ref=v).model_dump() for k, v in _pairs(args.secret, "--secret")]
    secrets += [SecretDelivery(name=k, ref=v, deliver="env", env_name=k).model_dump()
                for k, v in _pairs(args.secret_env, "--secret-env")]
    data["secrets"] = secrets
    for opt, key in (("memory", "memory"), ("cpu", "cpu"), ("cpu_seconds", "cpu_seconds"),
                     ("pids", "pids"), ("lifetime", "lifetime"), ("workdir", "workdir")):
        value = getattr(args, opt)
        if value is not None:
            data[key] = value
    return SandboxConfig.model_validate(data)


async def _run(command: list[str], cfg: SandboxConfig) -> int:
    proc = await launch(command[0], command[1:], cfg, stdio="inherit",
                        audit=lambda e: _log.info("egress %s %s:%d %s", e.decision, e.host, e.port, e.outcome))
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    waiter = asyncio.ensure_future(proc.wait())
    stopper = asyncio.ensure_future(stop.wait())
    await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    rc = await proc.terminate(grace=2.0) if not waiter.done() else waiter.result()
    if proc.killed_for_lifetime:
        print(f"bastion run: sandbox killed after its lifetime ({cfg.lifetime:.0f}s)", file=sys.stderr)
    return 128 - rc if rc < 0 else rc


def run(args: argparse.Namespace) -> int:
    """Run the server; returns its exit status (2 for usage errors)."""
    command = list(args.server_command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        print("bastion run: give the server command after '--'", file=sys.stderr)
        return 2
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("bastion: %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO if args.verbose else logging.WARNING)
    passthrough = logging.StreamHandler(sys.stderr)
    passthrough.setFormatter(logging.Formatter("%(message)s"))
    server_log.addHandler(passthrough)
    server_log.setLevel(logging.INFO)
    server_log.propagate = False
    install_log_redaction()
    install_log_redaction(server_log)
    try:
        cfg = build_config(args, command)
    except (ValidationError, ValueError, OSError) as exc:
        print(f"bastion run: invalid sandbox options:\n{exc}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_run(command, cfg))
    except (SandboxError, SecretError) as exc:
        print(f"bastion run: {exc}", file=sys.stderr)
        return 1
