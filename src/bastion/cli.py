"""The `bastion` command.

Each sub-command lives in its own module, which exposes two functions:

- ``configure(parser: argparse.ArgumentParser) -> None`` adds the sub-command's options;
- ``run(args: argparse.Namespace) -> int`` does the work and returns the exit code.

Modules are imported only when their sub-command runs, so ``bastion --help`` stays fast and a
broken optional dependency of one sub-command never breaks the others.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Protocol, cast

from bastion import __version__


class _Command(Protocol):
    def configure(self, parser: argparse.ArgumentParser) -> None: ...
    def run(self, args: argparse.Namespace) -> int: ...


# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "gateway": ("bastion.gateway.command", "run the MCP gateway in front of the configured upstreams"),
    "wrap": ("bastion.gateway.wrap_command", "run one stdio MCP server behind the guard chain (stdio in, stdio out)"),
    "config": ("bastion.config_command", "check a config file or print its JSON Schema"),
    "detect": ("bastion.detect.command", "classify text, a tools/list result or a JSONL file as malicious or benign"),
    "scan": ("bastion.scan.command", "find configured MCP servers and report poisoned, spoofed or changed ones"),
    "run": ("bastion.sandbox.command", "run one stdio MCP server inside the sandbox"),
}


def _load(name: str) -> _Command:
    module_name, _ = COMMANDS[name]
    return cast(_Command, importlib.import_module(module_name))


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bastion",
        description="mcp-bastion: gateway, scanner and sandbox for MCP servers.",
    )
    parser.add_argument("--version", action="version", version=f"bastion {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if only is None or only == name:
            try:
                _load(name).configure(p)
            except ModuleNotFoundError as exc:
                if only == name:
                    raise
                p.description = f"{help_text} (unavailable: {exc})"
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    # Configure only the sub-command being run (fast start, isolated failures).
    chosen = next((a for a in args_list if not a.startswith("-")), None)
    only = chosen if chosen in COMMANDS else None
    parser = build_parser(only)
    args = parser.parse_args(args_list)
    if args.command is None:
        parser.print_help()
        return 2
    return _load(args.command).run(args)


if __name__ == "__main__":
    sys.exit(main())
