"""`bastion scan`: find the MCP servers this machine or project is configured to use and report
poisoned, shadowing, spoofed, typosquatted and changed (rug-pulled) servers.

Without PATHs it reads the config files of the known clients (Claude Desktop, Claude Code,
Cursor, VS Code, Windsurf, Gemini CLI, Codex, Zed, Continue) under your home directory and the
current project. With PATHs it reads just those files.

By default each server is contacted and asked for its tools, prompts, resources and instructions:
remote servers over HTTP (either protocol era), local ones started inside the sandbox with no
network. --no-connect analyses the config files only.

Pins: the first scan writes bastion.lock (what each server ran and a copy of every definition);
later scans report what changed, with a diff, and flag a change that adds attack content as a
rug pull. --update-pins accepts the current state.

Exit codes: 0 no finding at or above --fail-on (default: none), 1 findings at or above it,
2 usage or config errors.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from bastion.sandbox.config import SandboxConfig
from bastion.scan import lockfile
from bastion.scan.analyze import analyze
from bastion.scan.discovery import ConfigFile, ServerEntry, discover, read_config
from bastion.scan.enumerate import ConnectOptions, Enumeration, enumerate_all
from bastion.scan.model import RANK, SEVERITIES, ScanResult
from bastion.scan.report import to_json, to_sarif, to_table


def configure(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.description = __doc__
    parser.add_argument("paths", nargs="*", type=Path, help="client config files to scan (default: discover)")
    parser.add_argument("--no-connect", action="store_true", help="analyse config files only; start nothing")
    parser.add_argument("--format", choices=["table", "json", "sarif"], default="table", help="report format")
    parser.add_argument("--output", "-o", type=Path, help="write the report to this file instead of stdout")
    parser.add_argument("--fail-on", choices=SEVERITIES, help="exit 1 if a finding is at least this severe")
    parser.add_argument("--lockfile", type=Path, default=Path("bastion.lock"),
                        help="pin file (default: ./bastion.lock)")
    parser.add_argument("--no-pins", action="store_true", help="neither read nor write the pin file")
    parser.add_argument("--update-pins", action="store_true", help="accept the current state: rewrite the pins")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per server (default 30)")
    parser.add_argument("--parallel", type=int, default=4, help="servers contacted at once (default 4)")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="start local servers WITHOUT isolation (they run with your rights)")
    parser.add_argument("--allow-network", action="append", default=[], metavar="HOST:PORT",
                        help="let sandboxed local servers reach this host (repeatable)")
    parser.add_argument("--header", action="append", default=[], metavar="NAME: VALUE",
                        help="extra HTTP header for remote servers, e.g. 'Authorization: Bearer …'")
    parser.add_argument("--home", type=Path, help="home directory to discover configs in (default: $HOME)")
    parser.add_argument("--project", type=Path, help="project directory to discover configs in (default: .)")
    parser.add_argument("--show-all", action="store_true", help="table: also show informational findings")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    parser.add_argument("--verbose", "-v", action="store_true", help="log connection details on stderr")


def _progress(total: int, quiet: bool) -> tuple[list[int], object]:
    done = [0]

    def report(e: Enumeration) -> None:
        done[0] += 1
        if quiet:
            return
        state = (f"{len(e.tools)} tools, {len(e.prompts)} prompts, {len(e.resources)} resources"
                 if e.ok else f"unreachable: {e.error}")
        print(f"[{done[0]}/{total}] {e.entry.client}: {e.entry.name} — {state}", file=sys.stderr, flush=True)

    return done, report


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    if not args.verbose:  # the progress lines already say which servers could not be reached
        for name in ("bastion.upstream", "bastion.sandbox", "bastion.scan"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    if args.paths:
        missing = [p for p in args.paths if not p.exists()]
        if missing:
            print(f"bastion scan: no such file: {', '.join(map(str, missing))}", file=sys.stderr)
            return 2
        configs: list[ConfigFile] = [read_config(p) for p in args.paths]
    else:
        configs = discover(args.home, args.project)
    for c in configs:
        if c.error:
            print(f"bastion scan: {c.path}: {c.error}", file=sys.stderr)
    entries: list[ServerEntry] = [s for c in configs for s in c.servers]
    headers: dict[str, str] = {}
    for h in args.header:
        name, sep, value = h.partition(":")
        if not sep:
            print(f"bastion scan: --header needs NAME: VALUE, got {h!r}", file=sys.stderr)
            return 2
        headers[name.strip()] = value.strip()
    lock = None
    if not args.no_pins:
        try:
            lock = lockfile.load(args.lockfile)
        except ValueError as exc:
            print(f"bastion scan: {exc}", file=sys.stderr)
            return 2
    enumerations = None
    if not args.no_connect and entries:
        sandbox = None if args.no_sandbox else SandboxConfig(network=args.allow_network or "none")
        opts = ConnectOptions(timeout=args.timeout, parallel=args.parallel, sandbox=sandbox, headers=headers)
        _, progress = _progress(len(entries), args.quiet)
        found = asyncio.run(enumerate_all(entries, opts, progress))  # type: ignore[arg-type]
        enumerations = {e.entry.key: e for e in found}
    first_pins = lock is not None and not lock.get("servers")
    servers = analyze(entries, enumerations, None if (lock is None or first_pins) else lock)
    result = ScanResult(servers=servers, configs=[
        {"client": c.client, "path": str(c.path), "servers": len(c.servers), "error": c.error} for c in configs])
    if lock is not None and enumerations is not None and (first_pins or args.update_pins):
        lockfile.write(args.lockfile, list(enumerations.values()), None if args.update_pins else lock)
        result.lockfile = f"{args.lockfile} written ({sum(1 for e in enumerations.values() if e.ok)} servers pinned)"
    elif lock is not None and enumerations is not None:
        result.lockfile = f"compared with {args.lockfile}"
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
    try:
        if args.format == "json":
            out.write(to_json(result))
        elif args.format == "sarif":
            out.write(to_sarif(result))
        else:
            to_table(result, out, args.show_all)
    finally:
        if args.output:
            out.close()
    if args.fail_on:
        worst = result.worst()
        if worst is not None and RANK[worst] >= RANK[args.fail_on]:
            return 1
    return 0
