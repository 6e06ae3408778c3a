"""One multi-pattern matcher for all rule patterns, compiled once.

Backends, best first:

- ``hyperscan``: all patterns in one database, one pass over the text (SIMD automata);
- ``re2``: all patterns in one ``RE2::Set``, one pass, linear time guaranteed;
- ``re``: Python's ``re``, each pattern run separately (never one big alternation) — only a
  fallback for platforms without the other two. Rule patterns are restricted to a simple subset
  (see :func:`bastion.detect.rules.check_pattern`) so that it stays linear in practice.

Every backend returns exactly the same matches: leftmost-first, non-overlapping, per pattern, in
text order — the matches of a per-pattern ``finditer`` (RE2, or ``re`` without RE2).

With Hyperscan (and RE2 installed) one pass also says *where* the patterns occur: the database
reports every match end (``HS_FLAG_SOM_LEFTMOST`` adds the leftmost start where Hyperscan can
track it). Every match of a pattern lies in a *window* built from those reports — ``[start, end)``
with a start of match, else ``[end - W, end)`` where ``W`` is the pattern's longest possible match
(every rule pattern has one). Overlapping windows are merged; a window holding a single report with
a start of match *is* the match; other windows are searched with RE2 restricted to the window (the
whole text stays the context, so ``\\b`` at a window edge reads the neighbouring characters). As
no match crosses a window edge, this gives the same matches as one RE2 ``finditer`` over the whole
text, for the cost of a few short searches. Pre-checks (presence only) keep
``HS_FLAG_SINGLEMATCH``. If a text makes Hyperscan report unusually many matches (a megabyte of
one repeated token), the scan stops early and falls back to the presence-then-full-search method of
the ``re2`` backend, so time stays linear.

Matching runs on the *ASCII projection* of the text: each non-ASCII character becomes one
placeholder byte (``\\x1a``). Positions in the projection are character positions of the text,
bounded repetitions count characters, and the placeholder matches exactly what a non-ASCII
character matches under the ASCII semantics every backend shares (negated classes, ``.``,
``\\W``, ``\\S``; never ``\\w``, letters or case folding). Patterns must be ASCII. The engine
matches normalised text (:mod:`bastion.detect.normalize`), where look-alikes are already ASCII.
"""

from __future__ import annotations

import bisect
import importlib
import itertools
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
SEPARATOR = b"\n"
"""What :meth:`MultiMatcher.scan_spans_many` puts between the texts of one pass (not a word
character)."""
SOM_MAX_WIDTH = 120
"""Patterns whose longest match is at most this long are compiled with a start of match (larger
ones mostly make Hyperscan's SOM tracking too large); the others get end-based windows."""
REPORTS_BASE = 2048
REPORTS_PER_BYTE = 1 / 16
"""Report budget of one Hyperscan pass: ``REPORTS_BASE + len(data) * REPORTS_PER_BYTE``."""

Window = tuple[int, int, bool]
"""``(start, end, exact)``: a stretch of the projection that holds matches; ``exact`` when the
stretch is itself the one match."""


_LEADS_TO_PLACEHOLDER = bytes(range(128)) + PLACEHOLDER.encode("ascii") * 128
_CONTINUATION_BYTES = bytes(range(0x80, 0xC0))


def project_utf8(utf8: bytes) -> bytes:
    """The ASCII projection of the text whose UTF-8 (with ``surrogatepass``) is ``utf8``: one
    C-level pass turns the lead byte of each non-ASCII character into the placeholder and drops
    its continuation bytes, so every character leaves exactly one byte."""
    return utf8.translate(_LEADS_TO_PLACEHOLDER, _CONTINUATION_BYTES)


def project(text: str) -> bytes:
    """The ASCII projection of ``text`` (one byte per character)."""
    if text.isascii():
        return text.encode("ascii")
    return project_utf8(text.encode("utf-8", "surrogatepass"))


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
    ``prefilter`` an optional cheaper pattern for the Hyperscan pass: every match of ``pattern``
    must contain a match of ``prefilter`` (so it matches wherever ``pattern`` does)."""

    pattern: str
    case_sensitive: bool = False
    spans: bool = True
    prefilter: str | None = None
    limit: int = MAX_SPANS_PER_PATTERN
    lazy: bool = False  # report presence only; spans on demand with MultiMatcher.spans()

    def __post_init__(self) -> None:
        if not self.pattern.isascii() or not (self.prefilter or "").isascii():
            raise ValueError(f"patterns must be ASCII: {self.pattern!r}")


def max_width(pattern: str) -> int | None:
    """The longest match of ``pattern`` in characters, None if unbounded (or unknown)."""
    try:
        from re import _parser  # type: ignore[attr-defined]

        hi = int(_parser.parse(pattern, re.ASCII).getwidth()[1])
    except Exception:  # pragma: no cover - private parser API changed
        return None
    return hi if hi < (1 << 16) else None


def _first_byte(pattern: str) -> bytes | None:
    """The byte every match of ``pattern`` starts with, when it is one non-letter literal."""
    try:
        from re import _parser  # type: ignore[attr-defined]

        nodes = list(_parser.parse(pattern, re.ASCII))
    except Exception:  # pragma: no cover - private parser API changed
        return None
    if nodes and str(nodes[0][0]) == "LITERAL" and not chr(nodes[0][1]).isalpha() and nodes[0][1] < 128:
        return bytes([nodes[0][1]])
    return None


class _SpanFinder:
    """Per-pattern search over the projection, used for patterns known to occur."""

    def __init__(self, spec: PatternSpec, use_re2: bool) -> None:
        self._re2: Any = None
        self._re2_match: Any = None
        self._re: re.Pattern[bytes] | None = None
        pattern = spec.pattern.encode("ascii")  # rule groups are made non-capturing at load
        self.first_byte = _first_byte(spec.pattern)
        if use_re2:
            opts = re2.Options()
            opts.case_sensitive = spec.case_sensitive
            opts.encoding = re2.Options.Encoding.LATIN1
            self._re2 = re2.compile(pattern, options=opts)
            self._re2_match = self._re2._regexp.Match  # the C++ RE2::Match, group 0 only
        else:
            flags = re.ASCII | (0 if spec.case_sensitive else re.IGNORECASE)
            self._re = re.compile(pattern, flags)

    def finditer(self, data: bytes, limit: int) -> list[tuple[int, int]]:
        """Non-empty matches over the whole of ``data``, up to ``limit``."""
        if self._re2_match is not None:
            out: list[tuple[int, int]] = []
            self.window(data, 0, len(data), limit, out)
            return out
        assert self._re is not None
        out = []
        for m in self._re.finditer(data):
            s, e = m.span()
            if e > s:
                out.append((s, e))
                if len(out) >= limit:
                    break
        return out

    def window(self, data: bytes, pos: int, endpos: int, limit: int, out: list[tuple[int, int]]) -> None:
        """Append the matches lying in ``data[pos:endpos]`` (the whole of ``data`` is the context)
        to ``out`` until it holds ``limit``. RE2 only. Iterates like ``re2``'s ``finditer``."""
        match = self._re2_match
        anchor = _UNANCHORED
        while True:
            s, e = match(anchor, data, pos, endpos)[0]
            if s < 0:
                return
            if e > s:
                out.append((s, e))
                if len(out) >= limit:
                    return
            if pos == endpos:
                return
            pos = pos + 1 if pos == e else e

    def may_occur(self, data: bytes) -> bool:
        """False when ``data`` lacks a byte every match starts with (a cheap C-level test)."""
        return self.first_byte is None or self.first_byte in data

    def search(self, data: bytes) -> bool:
        if self._re2 is not None:
            return bool(self._re2_match(_UNANCHORED, data, 0, len(data))[0][0] >= 0)
        assert self._re is not None
        return self._re.search(data) is not None


_UNANCHORED: Any = re2._Anchor.UNANCHORED if re2 is not None else None

# how the Hyperscan pass reports each pattern
_PRESENCE = 0  # HS_FLAG_SINGLEMATCH; spans (if any) by a full search
_SOM = 1  # every end with its leftmost start: windows [start, end)
_ENDS = 2  # every end: windows [end - W, end)
_PREFILTER_ENDS = 3  # every end of the prefilter: windows [end - W, end + W)
_UNTRUSTED = 4  # failed the self-check: Hyperscan reports ignored, one full RE2 search per text


def _inside(slices: list[list[int]], s: int, e: int, n: int) -> bool:
    """Does ``[s - 1, e + 1)`` (clipped to ``[0, n)``) lie inside one of the disjoint, ordered
    ``slices`` (``[start, end]`` pairs)?"""
    k = bisect.bisect_right(slices, [s, n + 1]) - 1
    if k < 0:
        return False
    ss, se = slices[k]
    return (s > ss or ss == 0) and (e < se or se == n) and s >= ss and e <= se


class _Flood(Exception):
    """Too many Hyperscan reports for this text: use the presence-then-search fallback."""


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
        self._widths = [max_width(s.pattern) for s in self.specs]
        self._modes = [_PRESENCE] * len(self.specs)
        self._positions = False
        self._untrusted: frozenset[int] = frozenset()
        self._untrusted_first: list[tuple[int, bytes | None]] = []
        self._local = threading.local()
        self._lock = threading.Lock()
        self._hs_db: Any = None
        self._re2_set: Any = None
        if self.backend == "hyperscan":
            self._compile_hyperscan(positions=use_re2)
        elif self.backend == "re2":
            self._compile_re2_set()
        self._positions = any(m != _PRESENCE for m in self._modes)

    @property
    def linear(self) -> bool:
        """True when matching time is guaranteed linear in the input length."""
        return self.backend in LINEAR_BACKENDS

    @property
    def positions(self) -> bool:
        """True when the multi-pattern pass also locates the matches (Hyperscan with RE2)."""
        return self._positions

    @property
    def untrusted(self) -> frozenset[int]:
        """Patterns the self-check found Hyperscan to miss (searched with RE2 on every text)."""
        return self._untrusted

    def describe(self) -> str:
        """One line: backend and how spans are found."""
        if self.backend != "hyperscan":
            return f"{self.backend} (presence pass, then one search per pattern that occurs)"
        if not self.positions:
            return "hyperscan (presence pass, then one search per pattern that occurs)"
        return (f"hyperscan (match positions; windows searched with RE2; "
                f"{len(self._untrusted)} of {len(self.specs)} patterns distrusted by the self-check)")

    # ------------------------------------------------------------------ compiling

    def _plan(self, spec: PatternSpec, width: int | None, som: bool) -> int:
        if not spec.spans:
            return _PRESENCE
        if spec.prefilter is not None:
            return _PREFILTER_ENDS if width is not None else _PRESENCE
        if som and width is not None and width <= SOM_MAX_WIDTH:
            return _SOM
        return _ENDS if width is not None else _PRESENCE

    def _compile_hyperscan(self, positions: bool) -> None:
        attempts = (True, False) if positions else ()
        for som in attempts:
            modes = [self._plan(s, w, som) for s, w in zip(self.specs, self._widths, strict=True)]
            try:
                self._hs_db = self._hs_compile(modes)
            except hyperscan.error:
                continue
            self._modes = modes
            self._self_check()
            return
        # presence only (one report per pattern), spans by a full search per pattern that occurs
        self._modes = [_PRESENCE] * len(self.specs)
        self._hs_db = self._hs_compile(self._modes)

    def _self_check(self) -> None:
        """Hyperscan (5.4 as bundled with python-hyperscan 0.9.1) can miss matches: e.g.
        ``<[ ]{0,16}/?[ ]{0,16}important`` is not reported on ``</important>`` more than ~24
        bytes into a block, in every mode and flag combination. Each span pattern is therefore
        checked once against texts built from its own shape, at several offsets: the windowed
        spans must equal a full RE2 search. Patterns that fail are not trusted to Hyperscan at all
        (neither positions nor presence): they get one full RE2 search per text."""
        texts: list[bytes] = []
        for i, spec in enumerate(self.specs):
            if not spec.spans:
                continue
            for k, sample in enumerate(sample_matches(spec.pattern, SELF_CHECK_SAMPLES, seed=i)):
                for off in SELF_CHECK_OFFSETS:
                    filler = ("Ab. x " * (off // 6 + 1))[:off]
                    if k % 2 and off:
                        filler = filler[:-1] + " "
                    texts.append(f"{filler}{sample} end".encode("ascii"))
        untrusted = set(self._untrusted)
        if self._re2_set is None:
            self._compile_re2_set()
        for data in texts:
            try:
                by = self._hs_reports(data)
            except _Flood:  # pragma: no cover - tiny texts
                continue
            # every pattern that occurs (exact RE2 set) or that Hyperscan reported
            for i in by.keys() | set(self._re2_set.Match(data) or ()):
                spec = self.specs[i]
                if i in untrusted:
                    continue
                if not spec.spans:
                    if (i in by) != self._finders[i].search(data):
                        untrusted.add(i)
                    continue
                if self._modes[i] == _PRESENCE:
                    continue
                expected = self._finders[i].finditer(data, spec.limit)
                got = self._spans_in(i, data, self._windows(i, by[i], len(data))) if i in by else []
                if got != expected:
                    untrusted.add(i)
        for i in untrusted:
            self._modes[i] = _UNTRUSTED
        self._untrusted = frozenset(untrusted)
        self._untrusted_first = [(i, self._finders[i].first_byte) for i in sorted(untrusted)]

    def _hs_compile(self, modes: list[int]) -> Any:
        flags: list[int] = []
        expressions: list[bytes] = []
        for s, mode in zip(self.specs, modes, strict=True):
            f = 0 if s.case_sensitive else hyperscan.HS_FLAG_CASELESS
            if mode == _PRESENCE:
                f |= hyperscan.HS_FLAG_SINGLEMATCH
            elif mode == _SOM:
                f |= hyperscan.HS_FLAG_SOM_LEFTMOST
            flags.append(f)
            use_prefilter = s.prefilter is not None and mode in (_PRESENCE, _PREFILTER_ENDS)
            expressions.append((s.prefilter if use_prefilter else s.pattern).encode("ascii"))  # type: ignore[union-attr]
        ids = list(range(len(self.specs)))
        db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        try:
            db.compile(expressions=expressions, ids=ids, elements=len(ids), flags=flags)
        except hyperscan.error:
            if any(m != _PRESENCE for m in modes):
                raise
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
        return db

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

    # ------------------------------------------------------------------ scanning

    def present(self, text: str) -> list[int]:
        """Indices of the patterns that occur somewhere in ``text``, ascending."""
        data = project(text)
        if self.positions and data:
            try:
                found = set(self._hs_reports(data)).difference(self._untrusted)
            except _Flood:
                return self._present_fallback(data)
            finders = self._finders
            found.update(i for i in self._untrusted if finders[i].may_occur(data) and finders[i].search(data))
            return sorted(found)
        return self._present(data)

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

    def _present_fallback(self, data: bytes) -> list[int]:
        """Exact presence without Hyperscan positions (after a flood of reports)."""
        if re2 is None:  # pragma: no cover - positions need RE2
            return [i for i, f in enumerate(self._finders) if f.search(data)]
        with self._lock:
            if self._re2_set is None:
                self._compile_re2_set()
        found = self._re2_set.Match(data)
        return sorted(found) if found else []

    def _hs_reports(self, data: bytes) -> dict[int, list[tuple[int, int]]]:
        """Hyperscan reports of one pass, by pattern: ``(start of match or 0, end)``."""
        by: dict[int, list[tuple[int, int]]] = {}
        get = by.get
        budget = REPORTS_BASE + int(len(data) * REPORTS_PER_BYTE)
        seen = itertools.count()

        def on_match(i: int, s: int, e: int, _flags: int, _ctx: object) -> bool:
            lst = get(i)
            if lst is None:
                by[i] = [(s, e)]
            else:
                lst.append((s, e))
            return next(seen) >= budget  # True stops the scan

        try:
            self._hs_db.scan(data, match_event_handler=on_match, scratch=self._hs_scratch())
        except hyperscan.ScanTerminated:
            raise _Flood from None
        return by

    def _windows(self, i: int, hits: list[tuple[int, int]], n: int) -> list[Window]:
        """Merged windows holding every match of pattern ``i``, in text order."""
        mode = self._modes[i]
        if mode == _SOM:
            if len(hits) == 1:
                s, e = hits[0]
                return [(s, e, True)]
            raw = sorted(hits)
        else:
            w = self._widths[i]
            assert w is not None
            if mode == _ENDS:
                raw = sorted((max(0, e - w), e) for _, e in hits)
            else:
                raw = sorted((max(0, e - w), min(n, e + w)) for _, e in hits)
        out: list[Window] = []
        cs, ce = raw[0]
        count = 1
        for s, e in raw[1:]:
            if s < ce:
                if e > ce:
                    ce = e
                count += 1
            else:
                out.append((cs, ce, count == 1 and mode == _SOM))
                cs, ce, count = s, e, 1
        out.append((cs, ce, count == 1 and mode == _SOM))
        return out

    def _spans_in(self, i: int, data: bytes, windows: list[Window]) -> list[tuple[int, int]]:
        limit = self.specs[i].limit
        out: list[tuple[int, int]] = []
        finder = self._finders[i]
        for s, e, exact in windows:
            if exact:
                out.append((s, e))
            else:
                finder.window(data, s, e, limit, out)
            if len(out) >= limit:
                del out[limit:]
                break
        return out

    def scan(self, text: str) -> list[tuple[int, int, int]]:
        """All matches: ``(pattern index, start, end)``, character offsets into ``text``.

        Pre-check patterns (``spans=False``) are reported once as ``(i, 0, 0)``; lazy patterns
        that occur are reported once as ``(i, -1, -1)`` (ask :meth:`spans` when needed).
        """
        return self.scan_data(project(text))[0]

    def scan_data(self, data: bytes) -> tuple[list[tuple[int, int, int]], dict[int, list[Window]]]:
        """:meth:`scan` on a projection; also returns, per lazy pattern that occurs, the windows
        that hold its matches when the pass located them (pass them to :meth:`spans`)."""
        out: list[tuple[int, int, int]] = []
        lazy: dict[int, list[Window]] = {}
        if not data:
            return out, lazy
        if self.backend == "re":
            # each pattern separately, in one step (no separate presence pass)
            for i, finder in enumerate(self._finders):
                spec = self.specs[i]
                if not spec.spans or spec.lazy:
                    if finder.search(data):
                        out.append((i, 0, 0) if not spec.spans else (i, -1, -1))
                    continue
                out.extend((i, s, e) for s, e in finder.finditer(data, spec.limit))
            return out, lazy
        if self.positions:
            try:
                by = self._hs_reports(data)
            except _Flood:
                present = self._present_fallback(data)
            else:
                n = len(data)
                specs = self.specs
                modes = self._modes
                untrusted = [i for i, first in self._untrusted_first if first is None or first in data]
                for i in sorted(by.keys() | set(untrusted)) if untrusted else sorted(by):
                    spec = specs[i]
                    mode = modes[i]
                    if not spec.spans:
                        if mode != _UNTRUSTED or self._finders[i].search(data):
                            out.append((i, 0, 0))
                        continue
                    if mode in (_PRESENCE, _UNTRUSTED):
                        spans = self._finders[i].finditer(data, spec.limit)
                        if spec.lazy:
                            if spans:
                                out.append((i, -1, -1))
                                lazy[i] = [(s, e, True) for s, e in spans]
                            continue
                        out.extend((i, s, e) for s, e in spans)
                        continue
                    windows = self._windows(i, by[i], n)
                    if spec.lazy:
                        # a prefilter report may be a false alarm: confirm before reporting
                        if modes[i] != _PREFILTER_ENDS or self._spans_in(i, data, windows):
                            out.append((i, -1, -1))
                            lazy[i] = windows
                        continue
                    out.extend((i, s, e) for s, e in self._spans_in(i, data, windows))
                return out, lazy
        else:
            present = self._present(data)
        for i in present:
            spec = self.specs[i]
            if not spec.spans or spec.lazy:
                out.append((i, 0, 0) if not spec.spans else (i, -1, -1))
                continue
            out.extend((i, s, e) for s, e in self._finders[i].finditer(data, spec.limit))
        return out, lazy

    def _hs_reports_joined(
        self, pieces: Sequence[bytes]
    ) -> tuple[list[dict[int, list[tuple[int, int]]]], list[set[int]], set[int]]:
        """The Hyperscan reports of each of ``pieces`` from one pass over them joined by
        :data:`SEPARATOR`. Per piece: the reports by pattern, in piece offsets (see
        :meth:`_hs_reports`), and the start-of-match patterns with a report that started before
        the piece (its start is then the piece start, no longer a start of match). Also the
        presence-only patterns reported anywhere (a single report for the whole pass).

        Reports ending in a piece are those of a pass over the piece alone, and more: no pattern
        has an anchor, and the separator is not a word character, so ``\\b`` reads a piece edge
        as it reads a text edge; a report may also come from a match that starts in an earlier
        piece (its window, cut at the piece start, is then searched). Raises :class:`_Flood`."""
        starts: list[int] = []
        pos = 0
        for piece in pieces:
            starts.append(pos)
            pos += len(piece) + 1
        by_piece: list[dict[int, list[tuple[int, int]]]] = [{} for _ in pieces]
        cut: list[set[int]] = [set() for _ in pieces]
        presence: set[int] = set()
        if pos <= 1:
            return by_piece, cut, presence
        modes = self._modes
        for i, hits in self._hs_reports(SEPARATOR.join(pieces)).items():
            mode = modes[i]
            if mode in (_PRESENCE, _UNTRUSTED):
                presence.add(i)
                continue
            som = mode == _SOM
            for s, e in hits:
                k = bisect.bisect_right(starts, e - 1) - 1
                base = starts[k]
                if e - base > len(pieces[k]):
                    continue  # ends on a separator
                if not som:
                    local = (0, e - base)
                elif s < base:
                    local = (0, e - base)
                    cut[k].add(i)
                else:
                    local = (s - base, e - base)
                lst = by_piece[k].get(i)
                if lst is None:
                    by_piece[k][i] = [local]
                else:
                    lst.append(local)
        return by_piece, cut, presence

    def scan_spans_many(self, datas: Sequence[bytes]) -> list[list[tuple[int, int, int]]] | None:
        """For each of ``datas`` (projections), the triples of :meth:`scan_data` of its span
        patterns that are not lazy, in the same order, from one Hyperscan pass over all of them.
        None when this does not apply (no match positions, a flood of reports): then use
        :meth:`scan_data` on each."""
        if not self.positions:
            return None
        try:
            by_piece, cut, presence = self._hs_reports_joined(datas)
        except _Flood:
            return None
        specs = self.specs
        modes = self._modes
        finders = self._finders
        wanted_presence = sorted(i for i in presence if specs[i].spans and not specs[i].lazy)
        untrusted = [(i, first) for i, first in self._untrusted_first if specs[i].spans and not specs[i].lazy]
        out: list[list[tuple[int, int, int]]] = []
        for data, by, cut_here in zip(datas, by_piece, cut, strict=True):
            found: list[tuple[int, int, int]] = []
            if not data:
                out.append(found)
                continue
            n = len(data)
            extra = [i for i in wanted_presence if modes[i] == _PRESENCE]
            extra.extend(i for i, first in untrusted if first is None or first in data)
            for i in sorted(by.keys() | set(extra)) if extra else sorted(by):
                spec = specs[i]
                if not spec.spans or spec.lazy:
                    continue
                mode = modes[i]
                if mode in (_PRESENCE, _UNTRUSTED):
                    found.extend((i, s, e) for s, e in finders[i].finditer(data, spec.limit))
                    continue
                windows = self._windows(i, by[i], n)
                if i in cut_here:
                    windows = [(s, e, False) for s, e, _ in windows]
                found.extend((i, s, e) for s, e in self._spans_in(i, data, windows))
            out.append(found)
        return out

    def scan_near(
        self, data: bytes, points: Sequence[int], near: Sequence[int], full: Sequence[int] = ()
    ) -> list[tuple[int, int, int]] | None:
        """:meth:`scan` of ``data`` restricted to the span patterns ``near`` and ``full`` (neither
        lazy), scanning only the stretches around ``points`` for ``near``.

        For the patterns ``near`` the caller knows that no match lies, with one character either
        side, between two consecutive ``points`` (``data`` there is a stretch of a text in which
        they have no match; the points include 0 and ``len(data)``): every match is within its
        longest width of a point, and the Hyperscan pass over those stretches locates them all
        (reports near a stretch edge may be spurious: every window is searched with RE2, the
        whole of ``data`` as context). ``full`` patterns are searched over the whole of ``data``.
        Returns the same triples as :meth:`scan` for those patterns, or None when this method
        does not apply (no match positions, a flood of reports, stretches covering most of the
        text): then use :meth:`scan_data`."""
        n = len(data)
        if not self.positions or not n:
            return None
        modes = self._modes
        width = 0
        for i in near:
            w = self._widths[i]
            if w is None or modes[i] == _PRESENCE or self.specs[i].lazy or not self.specs[i].spans:
                return None
            width = max(width, w)
        margin = width + 2
        slices: list[list[int]] = []
        for p in sorted(points):
            s, e = max(0, p - margin), min(n, p + margin)
            if slices and s <= slices[-1][1]:
                if e > slices[-1][1]:
                    slices[-1][1] = e
            else:
                slices.append([s, e])
        if sum(e - s for s, e in slices) * 2 > n:
            return None
        if any(self.specs[i].lazy or not self.specs[i].spans for i in full):
            return None
        want = {i for i in near if modes[i] != _UNTRUSTED}.difference(full)
        by: dict[int, list[tuple[int, int]]] = {}
        cut: set[int] = set()
        if want:
            # all stretches in one pass (see _hs_reports_joined), else one pass per stretch
            per_slice: list[dict[int, list[tuple[int, int]]]]
            try:
                per_slice, cuts, _ = self._hs_reports_joined([data[s:e] for s, e in slices])
                cut.update(*cuts)
            except _Flood:
                try:
                    per_slice = [self._hs_reports(data if s == 0 and e == n else data[s:e]) for s, e in slices]
                except _Flood:
                    return None
            for (s, _e), reports in zip(slices, per_slice, strict=True):
                for i, hits in reports.items():
                    if i in want:
                        by.setdefault(i, []).extend((hs + s, he + s) for hs, he in hits)
        out: list[tuple[int, int, int]] = []
        finders = self._finders
        for i in sorted({*near, *full}):
            limit = self.specs[i].limit
            if i not in want:
                if modes[i] != _UNTRUSTED or finders[i].may_occur(data):
                    out.extend((i, s, e) for s, e in finders[i].finditer(data, limit))
                continue
            found = by.get(i)
            if found:
                # a lone match with start is exact when it lies, with one character either side,
                # inside its stretch: the pass saw it as the whole text would
                windows = [
                    (s, e, exact and i not in cut and _inside(slices, s, e, n))
                    for s, e, exact in self._windows(i, found, n)
                ]
                out.extend((i, s, e) for s, e in self._spans_in(i, data, windows))
        return out

    def spans(
        self, index: int, text: str, windows: list[Window] | None = None, data: bytes | None = None
    ) -> list[tuple[int, int]]:
        """Spans of pattern ``index`` in ``text`` (for lazy patterns), up to its limit; ``windows``
        from :meth:`scan_data` make it a few short searches, ``data`` is the projection if known."""
        if data is None:
            data = project(text)
        if windows is not None:
            return self._spans_in(index, data, windows)
        return self._finders[index].finditer(data, self.specs[index].limit)


# ---------------------------------------------------------------------------------------------
# self-check of the positions database

_SAMPLE_ALPHABET = [chr(c) for c in range(32, 127)] + ["\t", "\n"]
_CATEGORIES: dict[str, Any] = {
    "CATEGORY_DIGIT": str.isdigit,
    "CATEGORY_NOT_DIGIT": lambda c: not c.isdigit(),
    "CATEGORY_WORD": lambda c: c.isalnum() or c == "_",
    "CATEGORY_NOT_WORD": lambda c: not (c.isalnum() or c == "_"),
    "CATEGORY_SPACE": lambda c: c in " \t\n\r\f\v",
    "CATEGORY_NOT_SPACE": lambda c: c not in " \t\n\r\f\v",
}


_CLASS_CACHE: dict[str, list[str]] = {}


def _class_chars(items: list[tuple[Any, Any]]) -> list[str]:
    key = repr(items)
    cached = _CLASS_CACHE.get(key)
    if cached is None:
        cached = _CLASS_CACHE[key] = _class_chars_uncached(items)
    return cached


def _class_chars_uncached(items: list[tuple[Any, Any]]) -> list[str]:
    negate = False
    tests: list[Any] = []
    for op, av in items:
        name = str(op)
        if name == "NEGATE":
            negate = True
        elif name == "LITERAL":
            tests.append(lambda c, v=av: ord(c) == v)
        elif name == "RANGE":
            tests.append(lambda c, v=av: v[0] <= ord(c) <= v[1])
        elif name == "CATEGORY":
            tests.append(_CATEGORIES.get(str(av), lambda c: False))
    return [c for c in _SAMPLE_ALPHABET if any(t(c) for t in tests) != negate]


def _sample(nodes: Any, rng: Any, style: int, out: list[str]) -> None:
    """Append one string matched by the parsed ``nodes`` to ``out`` (``style`` 0: repeats at
    their minimum and optional parts present, 1: optional parts absent, 2: random)."""
    for op, av in nodes:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(av))
        elif name in ("IN", "NOT_LITERAL", "ANY"):
            if name == "IN":
                choices = _class_chars(av)
            elif name == "NOT_LITERAL":
                choices = [c for c in _SAMPLE_ALPHABET if ord(c) != av]
            else:
                choices = [c for c in _SAMPLE_ALPHABET if c != "\n"]
            if choices:
                # mostly spaces and punctuation, so that word boundaries around stay satisfied
                nonword = [c for c in choices if not (c.isalnum() or c == "_")]
                out.append(rng.choice(nonword if nonword and rng.random() < 0.5 else choices))
        elif name == "BRANCH":
            branches = av[1]
            _sample(branches[0] if style < 2 and rng.random() < 0.5 else rng.choice(branches), rng, style, out)
        elif name == "SUBPATTERN":
            _sample(av[-1], rng, style, out)
        elif name in ("MAX_REPEAT", "MIN_REPEAT"):
            lo, hi, sub = av
            hi = min(hi, lo + 40)
            if style == 0:
                n = lo if hi > 1 or lo > 0 else 1
            elif style == 1:
                n = lo
            else:
                n = rng.choice((lo, lo, lo + 1, hi, rng.randint(lo, hi)))
            for _ in range(n):
                _sample(sub, rng, style, out)
        # AT (\b) and anything else: nothing to emit


def sample_matches(pattern: str, count: int, seed: int = 0) -> list[str]:
    """Strings (probably) matched by ``pattern``, for self-checks: ``count`` of them, the first
    two with repeats at their minimum, the rest random (letters randomly upper-cased)."""
    import random
    from re import _parser  # type: ignore[attr-defined]

    rng = random.Random(f"{seed}:{pattern}")
    nodes = _parser.parse(pattern, re.ASCII)
    out: list[str] = []
    for k in range(count):
        parts: list[str] = []
        _sample(nodes, rng, min(k, 2), parts)
        text = "".join(parts)
        if k % 2:
            text = "".join(c.upper() if rng.random() < 0.5 else c for c in text)
        out.append(text)
    return out


SELF_CHECK_OFFSETS = (0, 1, 7, 16, 23, 24, 25, 31, 40, 63, 64, 100)
SELF_CHECK_SAMPLES = 8
