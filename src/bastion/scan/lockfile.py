"""Pins: ``bastion.lock`` records what each server was when it was trusted.

For every server: its identity (what runs it: command and arguments or URL; what it calls itself:
``serverInfo``) and, for each tool, prompt, resource and template, a canonical hash (SHA-256 of the
definition's JSON with sorted keys) and a copy of the definition, so that a later scan can say not
only *that* something changed but *how*. Server instructions are pinned the same way.

The file is JSON, sorted and indented, so that it reviews well in version control.
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bastion.scan.enumerate import Enumeration

LOCK_VERSION = 1
KINDS = (("tools", "name"), ("prompts", "name"), ("resources", "uri"), ("resource_templates", "uriTemplate"))


def canonical(obj: Any) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)


def digest(obj: Any) -> str:
    return hashlib.sha256(canonical(obj)).hexdigest()


def identity(e: Enumeration) -> dict[str, Any]:
    ent = e.entry
    ident: dict[str, Any] = {"url": ent.url} if ent.url else {"command": ent.command, "args": list(ent.args)}
    info = {k: e.server_info.get(k) for k in ("name", "version") if e.server_info.get(k) is not None}
    if info:
        ident["serverInfo"] = info
    return ident


def pin_server(e: Enumeration) -> dict[str, Any]:
    out: dict[str, Any] = {"identity": identity(e)}
    if e.instructions:
        out["instructions"] = {"sha256": digest(e.instructions), "text": e.instructions}
    for kind, key in KINDS:
        items = getattr(e, kind)
        if items:
            out[kind] = {str(i.get(key, "")): {"sha256": digest(i), "definition": i} for i in items}
    return out


def load(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {"version": LOCK_VERSION, "servers": {}}
    data = orjson.loads(path.read_bytes())
    if not isinstance(data, dict) or data.get("version") != LOCK_VERSION:
        raise ValueError(f"{path}: not a bastion.lock of version {LOCK_VERSION}")
    return data


def write(path: Path, results: list[Enumeration], previous: dict[str, Any] | None = None) -> None:
    servers = dict((previous or {}).get("servers", {}))
    for e in results:
        if e.ok:
            servers[e.entry.key] = pin_server(e)
    data = {"version": LOCK_VERSION, "updated": datetime.now(UTC).isoformat(timespec="seconds"),
            "servers": servers}
    path.write_bytes(orjson.dumps(data, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n")


@dataclass
class Change:
    """One difference between the pinned and the current definition of something."""

    server: str
    kind: str  # identity | instructions | tools | prompts | resources | resource_templates
    name: str
    change: str  # added | removed | changed
    diff: str = ""
    old: Any = None
    new: Any = None


@dataclass
class ServerDiff:
    server: str
    pinned: bool
    changes: list[Change] = field(default_factory=list)


def _text_diff(old: Any, new: Any, label: str) -> str:
    a = orjson.dumps(old, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2).decode().splitlines()
    b = orjson.dumps(new, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2).decode().splitlines()
    return "\n".join(difflib.unified_diff(a, b, f"pinned {label}", f"current {label}", lineterm="", n=1))


def compare(lock: dict[str, Any], e: Enumeration) -> ServerDiff:
    pinned = lock.get("servers", {}).get(e.entry.key)
    result = ServerDiff(e.entry.key, pinned is not None)
    if pinned is None or not e.ok:
        return result
    now = pin_server(e)
    if pinned.get("identity") != now["identity"]:
        result.changes.append(Change(e.entry.key, "identity", e.entry.name, "changed",
                                     _text_diff(pinned.get("identity"), now["identity"], "identity"),
                                     pinned.get("identity"), now["identity"]))
    old_i, new_i = pinned.get("instructions"), now.get("instructions")
    if (old_i or {}).get("sha256") != (new_i or {}).get("sha256"):
        change = "added" if old_i is None else "removed" if new_i is None else "changed"
        result.changes.append(Change(e.entry.key, "instructions", "instructions", change,
                                     _text_diff((old_i or {}).get("text"), (new_i or {}).get("text"), "instructions"),
                                     (old_i or {}).get("text"), (new_i or {}).get("text")))
    for kind, _ in KINDS:
        old, new = pinned.get(kind, {}), now.get(kind, {})
        for name in sorted(set(old) | set(new)):
            o, n = old.get(name), new.get(name)
            if o is None:
                result.changes.append(Change(e.entry.key, kind, name, "added", "", None, n["definition"]))
            elif n is None:
                result.changes.append(Change(e.entry.key, kind, name, "removed", "", o["definition"], None))
            elif o["sha256"] != n["sha256"]:
                result.changes.append(Change(e.entry.key, kind, name, "changed",
                                             _text_diff(o["definition"], n["definition"], name),
                                             o["definition"], n["definition"]))
    return result
