"""Detection engine shared by the gateway guards and ``bastion scan``.

Public API (all use a process-wide engine compiled once with the built-in rules):

- :func:`scan_tool` — one tool definition (every string, schemas included) -> :class:`ItemReport`
- :func:`scan_text` — one text of a given ``kind`` (``tool_description``, ``tool_result``,
  ``arguments``, ``prompt``) -> :class:`ItemReport`
- :func:`scan_arguments` — the arguments of a ``tools/call``
- :func:`scan_server` — tools, prompts, resources and instructions of one server -> :class:`ServerReport`
- :func:`redact` — secrets and PII replaced by ``[REDACTED:<rule>]``, with the findings
- :func:`default_engine` — the :class:`Engine` itself, for repeated or custom use

Supply-chain checks of client configuration entries live in :mod:`bastion.detect.supply_chain`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from bastion.detect.engine import Engine, ScanContext, default_engine, definition_strings
from bastion.detect.models import (
    DEFAULT_THRESHOLD,
    KINDS,
    Finding,
    ItemReport,
    Kind,
    ServerReport,
    Severity,
)

__all__ = [
    "DEFAULT_THRESHOLD",
    "KINDS",
    "Engine",
    "Finding",
    "ItemReport",
    "Kind",
    "ScanContext",
    "ServerReport",
    "Severity",
    "default_engine",
    "definition_strings",
    "redact",
    "scan_arguments",
    "scan_server",
    "scan_text",
    "scan_tool",
]


def scan_text(text: str, kind: Kind = "tool_description", *, name: str = "", field: str = "") -> ItemReport:
    """Scan one text; ``kind="tool_result"`` for what a tool returned (indirect injection)."""
    return default_engine().scan_text(text, kind, name=name, field=field)


def scan_tool(tool: Mapping[str, object]) -> ItemReport:
    """Scan one tool definition as listed by ``tools/list``."""
    return default_engine().scan_tool(tool)


def scan_arguments(arguments: object, *, tool: str = "") -> ItemReport:
    """Scan the arguments of a ``tools/call`` request."""
    return default_engine().scan_arguments(arguments, tool=tool)


def scan_server(
    tools: Sequence[Mapping[str, object]] = (),
    prompts: Sequence[Mapping[str, object]] = (),
    resources: Sequence[Mapping[str, object]] = (),
    instructions: str | None = None,
    *,
    other_tools: Iterable[str] = (),
) -> ServerReport:
    """Scan everything one server exposes; ``other_tools`` are the other servers' tool names."""
    return default_engine().scan_server(tools, prompts, resources, instructions, other_tools=other_tools)


def redact(
    text: str, kind: Kind = "tool_result", categories: Sequence[str] = ("secrets", "pii")
) -> tuple[str, list[Finding]]:
    """Replace secrets and PII in ``text``; returns the new text and what was found."""
    return default_engine().redact(text, kind, categories)
