"""Namespacing of tool and prompt names by upstream, and routing of resource URIs."""

from __future__ import annotations

import re
from collections.abc import Iterable

MAX_TOOL_NAME = 128


class Names:
    """Maps ``<upstream><sep><name>`` to (upstream, name) and back. With prefixing off (one
    upstream, or ``namespace.prefix: never``), names pass through and a learned table routes them;
    a name two upstreams both expose is ambiguous and refused, never silently merged."""

    def __init__(self, upstreams: Iterable[str], prefix: bool, separator: str) -> None:
        self.upstreams = list(upstreams)
        self.prefix = prefix
        self.sep = separator
        self._learned: dict[str, dict[str, str | None]] = {"tools": {}, "prompts": {}}
        self.single = self.upstreams[0] if not prefix and len(self.upstreams) == 1 else None
        """The upstream every name belongs to, when there is one and names are not prefixed."""

    def public(self, upstream: str, name: str) -> str:
        return f"{upstream}{self.sep}{name}" if self.prefix else name

    def resolve(self, kind: str, public: str) -> tuple[str, str] | None:
        """(upstream, upstream's name) for a public name, or None if no upstream has it."""
        if self.prefix:
            up, sep, name = public.partition(self.sep)
            if sep and up in self.upstreams and name:
                return up, name
            return None
        if len(self.upstreams) == 1:
            return self.upstreams[0], public
        owner = self._learned[kind].get(public)
        return (owner, public) if owner else None

    def learn(self, kind: str, upstream: str, names: Iterable[str]) -> list[str]:
        """Record which upstream serves each name (no-prefix mode); returns names now ambiguous."""
        table = self._learned[kind]
        collisions = []
        for n in names:
            prev = table.get(n, upstream)
            if prev != upstream:
                table[n] = None
                collisions.append(n)
            elif n not in table:
                table[n] = upstream
        return collisions

    def is_ambiguous(self, kind: str, public: str) -> bool:
        return not self.prefix and public in self._learned[kind] and self._learned[kind][public] is None


_VAR = re.compile(r"\{([+#./;?&]?)([^}]*)\}")


def template_regex(template: str) -> re.Pattern[str]:
    """A regex for URIs an RFC 6570 template can produce (enough to route a read)."""
    out, pos = [], 0
    for m in _VAR.finditer(template):
        out.append(re.escape(template[pos : m.start()]))
        op = m.group(1)
        out.append(".*" if op in ("+", "#") else "[^/?#]*" if op == "" else ".*")
        pos = m.end()
    out.append(re.escape(template[pos:]))
    return re.compile("".join(out))
