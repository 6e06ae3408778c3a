"""Connect to configured servers and list what they expose, in either protocol era.

Remote servers are reached over Streamable HTTP, legacy SSE or WebSocket with the headers their
config gives. Local (stdio) servers are started inside the sandbox, with no network unless allowed;
running them unsandboxed needs an explicit ``--no-sandbox``. Every server has a time limit and at
most ``parallel`` are contacted at once. A server that cannot be reached is reported, not fatal.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from bastion.config import HttpUpstream, StdioUpstream
from bastion.gateway.upstream import StreamUpstream, Upstream, UpstreamError, build_upstream
from bastion.protocol.jsonrpc import JSONObj, Kind, Message
from bastion.sandbox.config import SandboxConfig
from bastion.scan.discovery import ServerEntry

log = logging.getLogger("bastion.scan")

LISTS = (
    ("tools/list", "tools", "tools"),
    ("prompts/list", "prompts", "prompts"),
    ("resources/list", "resources", "resources"),
    ("resources/templates/list", "resources", "resourceTemplates"),
)
MAX_PAGES = 50


@dataclass
class Enumeration:
    """What one server exposed (or why it could not be asked)."""

    entry: ServerEntry
    ok: bool = False
    error: str | None = None
    era: str | None = None
    protocol_version: str | None = None
    server_info: JSONObj = field(default_factory=dict)
    instructions: str | None = None
    tools: list[JSONObj] = field(default_factory=list)
    prompts: list[JSONObj] = field(default_factory=list)
    resources: list[JSONObj] = field(default_factory=list)
    resource_templates: list[JSONObj] = field(default_factory=list)
    sandboxed: bool | None = None

    def as_server(self) -> dict[str, Any]:
        return {
            "tools": self.tools,
            "prompts": self.prompts,
            "resources": self.resources + self.resource_templates,
            "instructions": self.instructions,
        }


@dataclass(frozen=True)
class ConnectOptions:
    timeout: float = 30.0
    parallel: int = 4
    sandbox: SandboxConfig | None = field(default_factory=SandboxConfig)
    """None: run local servers without isolation (the user consented with --no-sandbox)."""
    headers: dict[str, str] = field(default_factory=dict)
    """Extra headers for every remote server (e.g. Authorization: Bearer ...)."""


def _upstream_config(entry: ServerEntry, opts: ConnectOptions) -> StdioUpstream | HttpUpstream:
    if entry.url:
        transport: Literal["streamable-http", "sse", "websocket"] = (
            "sse" if entry.transport == "sse" else "websocket" if entry.transport == "websocket" else "streamable-http"
        )
        return HttpUpstream(
            url=entry.url, transport=transport,
            headers={**entry.headers, **opts.headers}, timeout=opts.timeout, connect_timeout=opts.timeout,
        )
    if not entry.command:
        raise ValueError("neither a command nor a url")
    return StdioUpstream(
        command=entry.command, args=list(entry.args), env=entry.env, cwd=entry.cwd,
        timeout=opts.timeout, connect_timeout=opts.timeout, sandbox=opts.sandbox,
    )


async def _list_all(up: Upstream, method: str, key: str) -> list[JSONObj]:
    items: list[JSONObj] = []
    cursor: Any = None
    for _ in range(MAX_PAGES):
        reply: Message = await up.request(method, {"cursor": cursor} if cursor else {})
        if reply.kind is not Kind.RESPONSE:
            break
        page = reply.result.get(key)
        if isinstance(page, list):
            items.extend(i for i in page if isinstance(i, dict))
        cursor = reply.result.get("nextCursor")
        if not cursor:
            break
    return items


async def enumerate_one(entry: ServerEntry, opts: ConnectOptions) -> Enumeration:
    result = Enumeration(entry)
    try:
        cfg = _upstream_config(entry, opts)
    except ValueError as exc:
        result.error = f"not scannable: {exc}"
        return result
    sandbox = opts.sandbox if isinstance(cfg, StdioUpstream) else None
    result.sandboxed = sandbox is not None if isinstance(cfg, StdioUpstream) else None
    up = build_upstream(entry.name, cfg, lambda _n, _m: None, sandbox)
    if isinstance(up, StreamUpstream):
        up.one_shot = True
    try:
        await asyncio.wait_for(up.start(), opts.timeout + 5)
        if not up.ready.is_set():
            result.error = up.last_error or "did not answer the handshake"
            return result
        result.era = up.era.value if up.era else None
        result.protocol_version = up.protocol_version
        result.server_info = up.server_info
        result.instructions = up.instructions
        for method, capability, key in LISTS:
            if up.capabilities and capability not in up.capabilities:
                continue
            try:
                items = await _list_all(up, method, key)
            except UpstreamError as exc:
                log.info("%s: %s failed: %s", entry.name, method, exc.message)
                continue
            setattr(result, {"resourceTemplates": "resource_templates"}.get(key, key), items)
        result.ok = True
    except (TimeoutError, UpstreamError, OSError) as exc:
        result.error = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    except Exception as exc:  # a broken server must not stop the scan
        log.exception("scanning %s failed", entry.name)
        result.error = f"{type(exc).__name__}: {exc}"
    finally:
        await up.close()
    return result


async def enumerate_all(
    entries: Sequence[ServerEntry], opts: ConnectOptions, progress: Callable[[Enumeration], None] | None = None
) -> list[Enumeration]:
    sem = asyncio.Semaphore(max(1, opts.parallel))

    async def one(e: ServerEntry) -> Enumeration:
        async with sem:
            r = await enumerate_one(e, opts)
        if progress is not None:
            progress(r)
        return r

    return list(await asyncio.gather(*(one(e) for e in entries)))
