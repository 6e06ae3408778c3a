"""`bastion wrap -- CMD ARGS`: one stdio server behind the guard chain, as a drop-in.

Put it in a desktop client's config in place of the server's own command::

    {"command": "bastion", "args": ["wrap", "--", "npx", "-y", "@modelcontextprotocol/server-everything"]}

The client talks to bastion on stdin/stdout; bastion starts the server as its child and relays,
with the guards of ``--config`` (or the defaults) and an audit record per exchange.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bastion.config import ConfigError, parse_config, read_config_data
from bastion.gateway import serve as _serve


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", "-c", help="YAML config whose guards/audit to use (its upstreams are ignored)")
    parser.add_argument("--name", default="server", help="name of the wrapped upstream in audit records")
    parser.add_argument("--audit", help="audit log path ('-' for stderr); default from config, else stderr")
    parser.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    parser.add_argument("cmd", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...] of the stdio server")


def run(args: argparse.Namespace) -> int:
    cmd = list(args.cmd)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        print("bastion wrap: give the server command after --, e.g. bastion wrap -- python -m mcp_server_time",
              file=sys.stderr)
        return 2
    data: dict[str, Any] = {}
    source = "bastion wrap"
    try:
        if args.config:
            raw = read_config_data(args.config)
            if not isinstance(raw, dict):
                raise ConfigError(f"{args.config}: the top level must be a mapping")
            # its upstreams and listeners are not used here, so it need not have any
            data = {k: v for k, v in raw.items() if k not in ("upstreams", "listen")}
            source = str(args.config)
        elif args.audit is None:
            data["audit"] = {"path": "-"}
        data["upstreams"] = {args.name: {"command": cmd[0], "args": cmd[1:]}}
        data["listen"] = {"stdio": True}
        if args.audit is not None:
            data["audit"] = {"path": args.audit}
        cfg = parse_config(data, source)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    _serve.setup_logging(args.log_level)
    return _serve.run(cfg)
