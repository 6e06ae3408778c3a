"""`bastion config check FILE` and `bastion config schema`."""

from __future__ import annotations

import argparse
import sys

import orjson

from bastion.config import ConfigError, json_schema, load_config


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="config_action", metavar="ACTION", required=True)
    check = sub.add_parser("check", help="validate a config file; exit 1 and name each bad key if invalid")
    check.add_argument("file", help="path to the YAML config")
    sub.add_parser("schema", help="print the JSON Schema of the config file format")


def run(args: argparse.Namespace) -> int:
    if args.config_action == "schema":
        sys.stdout.write(orjson.dumps(json_schema(), option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0
    try:
        cfg = load_config(args.file)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    names = ", ".join(cfg.upstreams)
    print(f"{args.file}: ok ({len(cfg.upstreams)} upstreams: {names}; {len(cfg.guards)} guards)")
    return 0
