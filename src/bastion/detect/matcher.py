"""One multi-pattern matcher for all rule patterns, compiled once.

Backends, best first:

- ``hyperscan``: all patterns in one database, one pass over the text (SIMD automata);
- ``re2``: all patterns in one ``RE2::Set``, one pass, linear time guaranteed;
- ``re``: Python's ``re``, each pattern run separately (never one big alternation) — only a
  fallback for platforms without the other two. Rule patterns are restricted to a simple subset
  (see :func:`bastion.detect.rules.check_pattern`) so that it stays linear in practice.

The multi-pattern pass answers *which* patterns occur (one report per pattern). Spans are then
taken, for the few patterns that occurred, by a per-pattern search with RE2 (or ``re`` without
RE2), so every backend returns exactly the same matches: leftmost-first, non-overlapping, per
pattern, in text order. A scan is therefore one multi-pattern pass plus one linear pass per
pattern that occurs.

Matching runs on the *ASCII projection* of the text: each non-ASCII character becomes one
placeholder byte (``\\x1a``). Positions in the projection are character positions of the text,
bounded repetitions count characters, and the placeholder matches exactly what a non-ASCII
character matches under the ASCII semantics every backend shares (negated classes, ``.``,
``\\W``, ``\\S``; never ``\\w``, letters or case folding). Patterns must be ASCII. The engine
matches normalised text (:mod:`bastion.detect.normalize`), where look-alikes are already ASCII.
"""

from __future__ import annotations

import codecs
import importlib
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

Backend = Literal["hyperscan", "re2", "re"]
LINEAR_BACKENDS: frozenset[str] = frozenset({"hyperscan", "re2"})

def _optional(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:  # pragma: no cover - availability depends on the platform
        return None


hyperscan: Any = _optional("hyperscan")
re2: Any = _optional("re2")

MAX_SPANS_PER_PATTERN = 256
PLACEHOLDER = "\x1a"
_PLACEHOLDER_HANDLER = "bastion-detect-placeholder"


def _placeholder(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    return PLACEHOLDER * (exc.end - exc.start), exc.end


codecs.register_error(_PLACEHOLDER_HANDLER, _placeholder)


def project(text: str) -> bytes:
    """The ASCII projection of ``text`` (one byte per character)."""
    return text.encode("ascii", errors=_PLACEHOLDER_HANDLER)


def available_backends() -> list[Backend]:
    """Backends usable on this machine, best first."""
    out: list[Backend] = []
    if hyperscan is not None:
        out.append("hyperscan")
    if re2 is not None:
        out.append("re2")
    out.append("re")
    return out


@dataclass(frozen=True, slots=True)
class PatternSpec:
    """One ASCII pattern in portable syntax; ``spans`` False for pre-checks (presence only);
    ``prefilter`` an optional cheaper pattern matching a superset, for the Hyperscan pass."""

    pattern: str
    case_sensitive: bool = False
    spans: bool = True
    prefilter: str | None = None
    limit: int = MAX_SPANS_PER_PATTERN
    lazy: bool = False  # report presence only; spans on demand with MultiMatcher.spans()

    def __post_init__(self) -> None:
        if not self.pattern.isascii() or not (self.prefilter or "").isascii():
            raise ValueError(f"patterns must be ASCII: {self.pattern!r}")


class _SpanFinder:
    """Per-pattern search over the projection, used for patterns known to occur."""

    def __init__(self, spec: PatternSpec, use_re2: bool) -> None:
        self._re2: Any = None
        self._re: re.Pattern[bytes] | None = None
        if use_re2:
            opts = re2.Options()
            opts.case_sensitive = spec.case_sensitive
            opts.encoding = re2.Options.Encoding.LATIN1
            self._re2 = re2.compile(spec.pattern.encode("ascii"), options=opts)
        else:
            flags = re.ASCII | (0 if spec.case_sensitive else re.IGNORECASE)
            self._re = re.compile(spec.pattern.encode("ascii"), flags)

    def finditer(self, data: bytes, limit: int) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        it = self._re2.finditer(data) if self._re2 is not None else self._re.finditer(data)  # type: ignore[union-attr]
        for m in it:
            s, e = m.span()
            if e > s:
                out.append((s, e))
                if len(out) >= limit:
                    break
        return out

    def search(self, data: bytes) -> bool:
        if self._re2 is not None:
            return self._re2.search(data) is not None
        assert self._re is not None
        return self._re.search(data) is not None


class MultiMatcher:
    """Compile ``specs`` once; :meth:`scan` returns ``(pattern index, start, end)`` triples."""

    def __init__(self, specs: Sequence[PatternSpec], backend: Backend | None = None) -> None:
        self.specs = tuple(specs)
        choices = available_backends()
        if backend is not None and backend not in choices:
            raise ValueError(f"matcher backend {backend!r} is not available here (have {choices})")
        self.backend: Backend = backend or choices[0]
        use_re2 = re2 is not None and self.backend != "re"
        self._finders = [_SpanFinder(s, use_re2) for s in self.specs]
        self._local = threading.local()
        self._hs_db: Any = None
        self._re2_set: Any = None
        if self.backend == "hyperscan":
            self._compile_hyperscan()
        elif self.backend == "re2":
            self._compile_re2_set()

    @property
    def linear(self) -> bool:
        """True when matching time is guaranteed linear in the input length."""
        return self.backend in LINEAR_BACKENDS

    def _compile_hyperscan(self) -> None:
        # presence only: one report per pattern (spans come from the exact per-pattern search)
        flags = [
            hyperscan.HS_FLAG_SINGLEMATCH | (0 if s.case_sensitive else hyperscan.HS_FLAG_CASELESS)
            for s in self.specs
        ]
        expressions = [(s.prefilter or s.pattern).encode("ascii") for s in self.specs]
        ids = list(range(len(self.specs)))
        db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        try:
            db.compile(expressions=expressions, ids=ids, elements=len(ids), flags=flags)
        except hyperscan.error:
            # Patterns too large for an exact automaton are compiled in prefilter mode (a
            # superset); exact spans come from the per-pattern search, so results do not change.
            for i, expr in enumerate(expressions):
                probe = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
                try:
                    probe.compile(expressions=[expr], ids=[0], elements=1, flags=[flags[i]])
                except hyperscan.error:
                    flags[i] |= hyperscan.HS_FLAG_PREFILTER
            db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            db.compile(expressions=expressions, ids=ids, elements=len(ids), flags=flags)
        self._hs_db = db

    def _compile_re2_set(self) -> None:
        opts = re2.Options()
        opts.max_mem = 256 << 20
        opts.encoding = re2.Options.Encoding.LATIN1
        rset = re2.Set.SearchSet(opts)
        for s in self.specs:
            rset.Add((("" if s.case_sensitive else "(?i)") + s.pattern).encode("ascii"))
        rset.Compile()
        self._re2_set = rset

    def _hs_scratch(self) -> Any:
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = hyperscan.Scratch(self._hs_db)
            self._local.scratch = scratch
        return scratch

    def present(self, text: str) -> list[int]:
        """Indices of the patterns that occur somewhere in ``text``, ascending."""
        return self._present(project(text))

    def _present(self, data: bytes) -> list[int]:
        if not data:
            return []
        if self.backend == "hyperscan":
            hits: list[int] = []
            self._hs_db.scan(data, match_event_handler=lambda i, _f, _t, _fl, _c: hits.append(i),
                             scratch=self._hs_scratch())
            return sorted(set(hits))
        if self.backend == "re2":
            found = self._re2_set.Match(data)
            return sorted(found) if found else []
        return [i for i, f in enumerate(self._finders) if f.search(data)]

    def scan(self, text: str) -> list[tuple[int, int, int]]:
        """All matches: ``(pattern index, start, end)``, character offsets into ``text``.

        Pre-check patterns (``spans=False``) are reported once as ``(i, 0, 0)``; lazy patterns
        that occur are reported once as ``(i, -1, -1)`` (ask :meth:`spans` when needed).
        """
        data = project(text)
        out: list[tuple[int, int, int]] = []
        if not data:
            return out
        if self.backend == "re":
            # each pattern separately, in one step (no separate presence pass)
            for i, finder in enumerate(self._finders):
                spec = self.specs[i]
                if not spec.spans or spec.lazy:
                    if finder.search(data):
                        out.append((i, 0, 0) if not spec.spans else (i, -1, -1))
                    continue
                out.extend((i, s, e) for s, e in finder.finditer(data, spec.limit))
            return out
        for i in self._present(data):
            spec = self.specs[i]
            if not spec.spans or spec.lazy:
                out.append((i, 0, 0) if not spec.spans else (i, -1, -1))
                continue
            out.extend((i, s, e) for s, e in self._finders[i].finditer(data, spec.limit))
        return out

    def spans(self, index: int, text: str) -> list[tuple[int, int]]:
        """Spans of pattern ``index`` in ``text`` (for lazy patterns), up to its limit."""
        return self._finders[index].finditer(project(text), self.specs[index].limit)
