"""Builds the configured guards, in config order."""

from __future__ import annotations

from collections.abc import Sequence

from bastion.config import (
    GuardConfig,
    HeaderMatchGuardConfig,
    LimitsGuardConfig,
    SecretRedactionGuardConfig,
    ToolFilterGuardConfig,
    ToolPoisoningGuardConfig,
)
from bastion.guards.base import Guard
from bastion.guards.chain import Installed
from bastion.guards.header_match import HeaderMatchGuard
from bastion.guards.limits import LimitsGuard
from bastion.guards.secret_redaction import SecretRedactionGuard
from bastion.guards.tool_filter import ToolFilterGuard
from bastion.guards.tool_poisoning import ToolPoisoningGuard


def build_guard(cfg: GuardConfig) -> Guard:
    if isinstance(cfg, HeaderMatchGuardConfig):
        return HeaderMatchGuard()
    if isinstance(cfg, LimitsGuardConfig):
        return LimitsGuard(cfg.max_bytes, cfg.max_depth)
    if isinstance(cfg, ToolPoisoningGuardConfig):
        return ToolPoisoningGuard()
    if isinstance(cfg, SecretRedactionGuardConfig):
        return SecretRedactionGuard()
    if isinstance(cfg, ToolFilterGuardConfig):
        return ToolFilterGuard({k: (v.allow, v.deny) for k, v in cfg.upstreams.items()})
    raise ValueError(f"unknown guard type {cfg!r}")


def build_chain_guards(cfgs: Sequence[GuardConfig]) -> list[Installed]:
    return [Installed(build_guard(c), c.mode) for c in cfgs]
