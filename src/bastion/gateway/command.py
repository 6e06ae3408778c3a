"""`bastion gateway --config FILE`: run the gateway in front of the configured upstreams."""

from __future__ import annotations

import argparse
import sys

from bastion.config import ConfigError, load_config
from bastion.gateway import serve as _serve


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", "-c", required=True, help="YAML config file (see `bastion config schema`)")
    parser.add_argument("--port", type=int, help="override listen.http.port (0 picks a free port)")
    parser.add_argument("--host", help="override listen.http.host")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])


def run(args: argparse.Namespace) -> int:
    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    if (args.port is not None or args.host) and cfg.listen.http is not None:
        http = cfg.listen.http.model_copy(
            update={k: v for k, v in (("port", args.port), ("host", args.host)) if v is not None}
        )
        cfg = cfg.model_copy(update={"listen": cfg.listen.model_copy(update={"http": http})})
    _serve.setup_logging(args.log_level)
    return _serve.run(cfg)

