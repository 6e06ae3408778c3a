"""Text normalisation before matching, with offsets back to the original text.

Attackers spell instructions so that a naive matcher misses them: full-width or mathematical
letters, Cyrillic look-alikes, zero-width characters inside words, Unicode "tag" characters that
render as nothing (ASCII smuggling), base64/hex/URL-encoded blocks, HTML tags and entities in the
middle of words. :func:`normalize` builds the *primary* view the patterns run on:

- NFKC-style compatibility folding, accents stripped when the base letter is ASCII,
- look-alike letters folded to ASCII (:mod:`bastion.detect.confusables`),
- invisible characters (zero-width, bidi controls, tags, variation selectors, soft hyphen …)
  removed, all Unicode spaces turned into a plain space.

Every primary-view character keeps the index of the original character it came from, so
evidence spans point into the original field. Plain ASCII text (the common case) is its own
primary view and costs nothing.

:func:`derived_views` adds *decoded* views, each scanned like the primary one: the hidden text of
Unicode-tag and variation-selector runs, decoded base64/hex/URL-encoded blocks, and the text with
markup stripped and entities decoded. They are built only when a cheap pre-check (done by the
matcher in the same pass) says they could apply.
"""

from __future__ import annotations

import base64
import binascii
import html
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from bastion.detect.confusables import CONFUSABLES
from bastion.detect.matcher import PLACEHOLDER, project, project_utf8, re2

# Characters that render as nothing (or change rendering direction) and are dropped.
ZERO_WIDTH = frozenset("\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200c\u200d\u200e\u200f"
                       "\u2060\u2061\u2062\u2063\u2064\u3164\ufeff\uffa0")
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
TAG_FIRST, TAG_LAST = 0xE0000, 0xE007F


def is_variation_selector(cp: int) -> bool:
    return 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF


_VS_MIN_RUN = 4
# the same runs, looked for among the odd characters only (see :func:`_runs_in_text`)
_TAG_RUN_NA = re.compile("[\U000e0000-\U000e007f]+")
_VS_RUN_NA = re.compile(f"[\ufe00-\ufe0f\U000e0100-\U000e01ef]{{{_VS_MIN_RUN},}}")

MAX_DECODED_BLOCKS = 32
MAX_DECODED_CHARS = 1 << 20


class OffsetMap:
    """Maps offsets in a derived string to offsets in its source string, piecewise.

    The derived string is a sequence of segments: *kept* segments copy source characters one to
    one; *replaced* segments stand for one source range (a folded ligature, a dropped invisible
    character, a decoded entity, a removed tag). Only segment starts are stored, so building and
    storing the map costs per change, not per character.
    """

    __slots__ = ("_d", "_kept", "_s", "_s_end", "length", "source_length")

    def __init__(self) -> None:
        self._d: list[int] = []  # derived start of each segment
        self._s: list[int] = []  # source start
        self._s_end: list[int] = []  # source end
        self._kept: list[bool] = []
        self.length = 0
        self.source_length = 0

    def keep(self, start: int, end: int) -> None:
        """Derived text continues with source[start:end] unchanged."""
        if end <= start:
            return
        if self._kept and self._kept[-1] and self._s_end[-1] == start:
            self._s_end[-1] = end
        else:
            self._d.append(self.length)
            self._s.append(start)
            self._s_end.append(end)
            self._kept.append(True)
        self.length += end - start
        self.source_length = max(self.source_length, end)

    def replace(self, start: int, end: int, new_length: int) -> None:
        """Derived text continues with ``new_length`` characters standing for source[start:end]."""
        if new_length > 0:
            self._d.append(self.length)
            self._s.append(start)
            self._s_end.append(end)
            self._kept.append(False)
            self.length += new_length
        self.source_length = max(self.source_length, end)

    def _char(self, i: int) -> tuple[int, int]:
        k = bisect_right(self._d, i) - 1
        if k < 0:
            return 0, 0
        if self._kept[k]:
            pos = self._s[k] + (i - self._d[k])
            return pos, pos + 1
        return self._s[k], self._s_end[k]

    def boundaries(self) -> list[int]:
        """Derived offsets around which the derived string differs from its source: the start of
        every segment, every offset inside and at the end of a replaced segment, 0 and the length
        (ascending, possibly repeated). A stretch that contains none of them, with one character
        either side, is a stretch of the source unchanged."""
        out = [0]
        ends = [*self._d[1:], self.length] if self._d else []
        for d, end, kept in zip(self._d, ends, self._kept, strict=True):
            if kept:
                out.append(d)
            else:
                out.extend(range(d, end + 1))
        out.append(self.length)
        return out

    def span(self, start: int, end: int) -> tuple[int, int]:
        if self.length == 0:
            return 0, 0
        start = min(max(start, 0), self.length - 1)
        end = min(max(end, start + 1), self.length)
        return self._char(start)[0], self._char(end - 1)[1]


@dataclass(frozen=True, slots=True)
class HiddenRun:
    """A run of invisible encoding characters and the text it hides."""

    via: str  # "unicode-tags" | "variation-selectors"
    start: int
    end: int
    decoded: str


@dataclass(frozen=True, slots=True)
class View:
    """A decoded view of (part of) a text, scanned like the primary view.

    ``origin`` is the span of the original text the view was decoded from; ``offsets``, when set,
    maps view offsets to original offsets precisely.
    """

    text: str
    via: str
    origin: tuple[int, int]
    offsets: OffsetMap | None = None
    base: Normalized | None = None  # offsets map into base.text, which maps to the original
    data: bytes | None = field(default=None, compare=False)  # the projection of text, when built along the way

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        if self.offsets is None:
            return self.origin
        s, e = self.offsets.span(start, end)
        return self.base.to_original(s, e) if self.base is not None else (s, e)


@dataclass(frozen=True, slots=True)
class Normalized:
    """The primary view of a text: what patterns run on, and how to get back to the original."""

    original: str
    text: str
    offsets: OffsetMap | None
    hidden: tuple[HiddenRun, ...] = ()
    # the non-ASCII characters of the original, in order ("" for ASCII text)
    non_ascii: str = ""
    # the ASCII projection of ``text`` (see :func:`bastion.detect.matcher.project`) when it was
    # cheap to build along the way; None means "not built"
    data: bytes | None = None
    # the characters of the original that do not fold to exactly one character (among them every
    # invisible one, dropped from the primary view), in order, and their offsets in it, when they
    # were built along the way (see :meth:`runs`)
    odd: str = field(default="", compare=False)
    odd_offsets: list[int] | None = field(default=None, compare=False)
    # the ASCII projection of :attr:`original` when it was built along the way
    original_data: bytes | None = field(default=None, compare=False)
    _chars: list[frozenset[str]] = field(default_factory=list, compare=False, repr=False)

    @property
    def chars(self) -> frozenset[str]:
        """The distinct non-ASCII characters of the original (built on first use)."""
        if not self._chars:
            self._chars.append(frozenset(self.non_ascii))
        return self._chars[0]

    def has_dropped(self, chars: frozenset[str]) -> bool:
        """Does the original hold any of ``chars``, characters the primary view drops (all of them
        odd, see :attr:`odd`)? Looked for among the odd characters when they are known."""
        if self.odd_offsets is not None:
            return not chars.isdisjoint(self.odd)
        return not chars.isdisjoint(self.chars)

    def original_projection(self) -> bytes:
        """The ASCII projection of :attr:`original`."""
        if self.original_data is not None:
            return self.original_data
        if self.offsets is None and self.text == self.original:
            return self.projection()
        return project(self.original)

    def runs(self, pattern: re.Pattern[str], min_len: int = 1) -> list[tuple[int, int]]:
        """Spans of the maximal runs of at least ``min_len`` characters of the original, in text
        order, where ``pattern`` is ``[characters]{min_len,}`` (a class of characters the primary
        view drops, repeated): looked for among the odd characters only when their offsets are
        known."""
        if self.odd_offsets is None:
            return [m.span() for m in pattern.finditer(self.original)]
        return _runs_in_text(pattern, self.odd, self.odd_offsets, min_len)

    def projection(self) -> bytes:
        """The ASCII projection of :attr:`text` (one byte per character), what patterns run on."""
        if self.data is not None:
            return self.data
        return project(self.text)

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        if self.offsets is None:
            return start, end
        return self.offsets.span(start, end)


_FOLD_CACHE: dict[str, str] = {}


def fold_char(ch: str) -> str:
    """The primary-view replacement of one non-ASCII character ('' to drop it)."""
    cached = _FOLD_CACHE.get(ch)
    if cached is not None:
        return cached
    cp = ord(ch)
    out: str
    if ch in ZERO_WIDTH or ch in BIDI_CONTROLS or TAG_FIRST <= cp <= TAG_LAST or is_variation_selector(cp):
        out = ""
    elif ch in CONFUSABLES:
        out = CONFUSABLES[ch]
    elif ch.isspace():
        out = " "
    else:
        cat = unicodedata.category(ch)
        if cat in ("Mn", "Me", "Cf"):
            out = ""
        elif 0xD800 <= cp <= 0xDFFF:
            out = "\ufffd"
        else:
            decomposed = unicodedata.normalize("NFKD", ch)
            stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
            if stripped and stripped.isascii():
                out = stripped
            else:
                out = "".join(CONFUSABLES.get(c, c) for c in unicodedata.normalize("NFKC", ch))
    if len(_FOLD_CACHE) < 65536:
        _FOLD_CACHE[ch] = out
    return out


def _decode_tags(run: str) -> str:
    return "".join(chr(ord(c) - TAG_FIRST) for c in run if 0x20 <= ord(c) - TAG_FIRST <= 0x7E)


def _decode_variation_selectors(run: str) -> str:
    data = bytearray()
    for c in run:
        cp = ord(c)
        data.append(cp - 0xFE00 if cp <= 0xFE0F else cp - 0xE0100 + 16)
    return bytes(data).decode("utf-8", errors="replace")


def _is_emoji_tag_sequence(text: str, start: int, end: int) -> bool:
    """Flag emoji (e.g. England's flag) are a black flag, 2-6 tag letters and a cancel tag."""
    return (
        start > 0
        and text[start - 1] == "\U0001f3f4"
        and text[end - 1] == "\U000e007f"
        and end - start <= 7
    )


_ASCII_BYTES = bytes(range(128))


def _segments(text: str, projection: bytes) -> list[str]:
    """The ASCII stretches of ``text`` around each non-ASCII character (one more than there are
    non-ASCII characters, many of them empty); ``projection`` is the projection of ``text``."""
    if PLACEHOLDER not in text:
        return projection.decode("ascii").split(PLACEHOLDER)
    return re.split("[^\x00-\x7f]", text)


def _runs_in_text(run: re.Pattern[str], chars: str, positions: list[int], min_len: int) -> list[tuple[int, int]]:
    """The maximal runs of at least ``min_len`` characters matched by ``run`` in the text, from
    some of its characters ``chars`` (every character ``run`` matches among them) and their
    ``positions`` in the text: a run among ``chars`` is one run of the text where no other
    character lies between its characters (else it is split there)."""
    out: list[tuple[int, int]] = []
    for m in run.finditer(chars):
        i, j = m.span()
        if positions[j - 1] - positions[i] == j - 1 - i:
            out.append((positions[i], positions[j - 1] + 1))
            continue
        start = i
        for k in range(i + 1, j + 1):
            if k == j or positions[k] != positions[k - 1] + 1:
                if k - start >= min_len:
                    out.append((positions[start], positions[k - 1] + 1))
                start = k
    return out


def _offsets(indices: list[int], parts: list[str]) -> list[int]:
    """The offsets in a text of its non-ASCII characters with the ascending ``indices`` (among
    its non-ASCII characters), given the ASCII stretches ``parts`` around them: the i-th is at
    ``i`` plus the lengths of the stretches up to it."""
    out: list[int] = []
    stretches = 0  # total length of parts[:done]
    done = 0
    for i in indices:
        stretches += sum(map(len, parts[done : i + 1]))
        done = i + 1
        out.append(stretches + i)
    return out


def _interleave(segments: list[str], replacements: Sequence[str]) -> str:
    """``segments[0] + replacements[0] + segments[1] + … + segments[-1]``."""
    out = [""] * (2 * len(segments) - 1)
    out[0::2] = segments
    out[1::2] = replacements
    return "".join(out)


_ODD = "\x00"
"""What :data:`_SINGLE_FOLDS` maps odd characters to: no non-ASCII character folds to it."""
_MAX_TABLE = 1 << 16


class _SingleFolds(dict[int, str]):
    """The process-wide ``str.translate`` table for non-ASCII characters, filled as characters
    are first seen: each character's fold when that is one character other than :data:`_ODD`,
    else :data:`_ODD` (the character is *odd*; its fold is in :data:`_ODD_FOLDS`)."""

    def __missing__(self, cp: int) -> str:
        c = chr(cp)
        fold = fold_char(c)
        if len(fold) != 1 or fold == _ODD:
            if len(_ODD_FOLDS) < _MAX_TABLE:
                _ODD_FOLDS[c] = fold
            fold = _ODD
        if len(self) < _MAX_TABLE:
            self[cp] = fold
        return fold


_SINGLE_FOLDS = _SingleFolds()
_ODD_FOLDS: dict[str, str] = {}


def _odd_fold(c: str) -> str:
    fold = _ODD_FOLDS.get(c)
    return fold if fold is not None else fold_char(c)


def _positions(text: str, ch: str) -> list[int]:
    """The ascending indices of ``ch`` in ``text`` (by C-level searches)."""
    out: list[int] = []
    k = text.find(ch)
    while k >= 0:
        out.append(k)
        k = text.find(ch, k + 1)
    return out


def normalize(text: str) -> Normalized:
    """Build the primary view of ``text`` (see the module docstring)."""
    if text.isascii():
        return Normalized(text, text, None)
    # Only the non-ASCII characters are looked at, in one ``translate`` of them alone (the UTF-8
    # of the text without its ASCII bytes) with a table shared by every call. The rest is a few
    # C-level passes: the projection, one split into the ASCII stretches between non-ASCII
    # characters, one join.
    utf8 = text.encode("utf-8", "surrogatepass")
    original_data = project_utf8(utf8)
    na = utf8.translate(None, _ASCII_BYTES).decode("utf-8", "surrogatepass")
    folded_na = na.translate(_SINGLE_FOLDS)
    has_odd = _ODD in folded_na
    if not has_odd and folded_na == na:
        return Normalized(text, text, None, (), na, original_data, odd_offsets=[], original_data=original_data)
    parts = _segments(text, original_data)
    if not has_odd:
        # every character maps to exactly one: same length, identity offsets
        folded = _interleave(parts, folded_na)
        return Normalized(text, folded, None, (), na, _projection_of(parts, folded_na), odd_offsets=[],
                          original_data=original_data)
    # The odd characters (dropped invisibles, ligatures) are the only places where offsets shift,
    # and every hidden or invisible run is made of them: they are all that is located.
    indices = _positions(folded_na, _ODD)
    odd_offsets = _offsets(indices, parts)
    odd_chars = "".join([na[i] for i in indices])
    odd_folds = {c: _odd_fold(c) for c in set(odd_chars)}
    offsets = OffsetMap()
    pos = 0
    for k, c in zip(odd_offsets, odd_chars, strict=True):
        offsets.keep(pos, k)
        offsets.replace(k, k + 1, len(odd_folds[c]))
        pos = k + 1
    offsets.keep(pos, len(text))
    offsets.source_length = len(text)
    replacements = list(folded_na)
    projected = list(project(folded_na).decode("ascii"))
    odd_projected = {c: project(fold).decode("ascii") for c, fold in odd_folds.items()}
    for i, c in zip(indices, odd_chars, strict=True):
        replacements[i] = odd_folds[c]
        projected[i] = odd_projected[c]
    folded = _interleave(parts, replacements)
    return Normalized(text, folded, offsets, _hidden_runs(text, frozenset(odd_folds), odd_chars, odd_offsets), na,
                      _interleave(parts, projected).encode("ascii"), odd_chars, odd_offsets, original_data)


def _projection_of(parts: list[str], folded_na: str) -> bytes:
    """The projection of ``_interleave(parts, folded_na)`` (``folded_na`` one character per
    non-ASCII character), built from the projection of the folds alone."""
    return _interleave(parts, project(folded_na).decode("ascii")).encode("ascii")


def _hidden_runs(text: str, odd: frozenset[str], odd_chars: str, odd_offsets: list[int]) -> tuple[HiddenRun, ...]:
    """The runs of Unicode tags and variation selectors (all of them odd characters) and the text
    they hide; ``odd_chars`` are the odd characters of ``text`` in order, at ``odd_offsets``."""
    hidden: list[HiddenRun] = []
    codepoints = [ord(c) for c in odd]
    if any(TAG_FIRST <= cp <= TAG_LAST for cp in codepoints):
        for s, e in _runs_in_text(_TAG_RUN_NA, odd_chars, odd_offsets, 1):
            if _is_emoji_tag_sequence(text, s, e):
                continue
            hidden.append(HiddenRun("unicode-tags", s, e, _decode_tags(text[s:e])))
    if any(is_variation_selector(cp) for cp in codepoints):
        hidden.extend(
            HiddenRun("variation-selectors", s, e, _decode_variation_selectors(text[s:e]))
            for s, e in _runs_in_text(_VS_RUN_NA, odd_chars, odd_offsets, _VS_MIN_RUN)
        )
    return tuple(hidden)


# ---------------------------------------------------------------------------------------------
# decoded views

def _marks(alphabet: bytes) -> bytes:
    """A ``bytes.translate`` table: the bytes of ``alphabet`` to ``a``, all others to a space."""
    return bytes(0x61 if i in alphabet else 0x20 for i in range(256))


class _Finder:
    """Linear-time ``finditer`` of a block finder over the ASCII projection of a text (offsets
    equal character offsets): RE2 when available, else Python ``re`` (simple patterns only).

    With an ``alphabet`` (every byte a match can hold; no ``\\b`` or anchors in the pattern) and
    ``min_len`` (the shortest match), only the maximal runs of alphabet bytes that are long
    enough are searched, and with an ``anchor`` (a byte every match holds) only the runs that
    hold it: a match never crosses a byte outside the alphabet, so the matches are those of a
    search of the whole text. Runs are located by C-level passes (``translate``, ``find``)."""

    def __init__(self, pattern: str, alphabet: bytes | None = None, min_len: int = 1,
                 anchor: bytes | None = None) -> None:
        self._py = re.compile(pattern.encode("ascii"), re.ASCII)
        self._re2_match: Any = None
        if re2 is not None:
            opts = re2.Options()
            opts.encoding = re2.Options.Encoding.LATIN1
            self._re2_match = re2.compile(pattern.encode("ascii"), options=opts)._regexp.Match
        self._marks = _marks(alphabet) if alphabet is not None else None
        self._min_len = min_len
        self._anchor = anchor

    def spans(self, text: str, data: bytes | None = None) -> list[tuple[int, int]]:
        """Match spans in ``text``; ``data`` is its projection when known."""
        if data is None:
            data = project(text)
        out: list[tuple[int, int]] = []
        for start, end in self._runs(data):
            self._search(data, start, end, out)
        return out

    def _runs(self, data: bytes) -> Iterator[tuple[int, int]]:
        """The stretches of ``data`` that can hold matches, in order."""
        n = len(data)
        if self._marks is None:
            yield 0, n
            return
        marked = data.translate(self._marks)
        if self._anchor is None:
            needle = b"a" * self._min_len
            start = marked.find(needle)
            while start >= 0:
                end = marked.find(b" ", start + self._min_len)
                end = n if end < 0 else end
                yield start, end
                start = marked.find(needle, end)
            return
        p = data.find(self._anchor)
        while p >= 0:
            start = marked.rfind(b" ", 0, p) + 1
            end = marked.find(b" ", p)
            end = n if end < 0 else end
            if end - start >= self._min_len:
                yield start, end
            p = data.find(self._anchor, end)

    def _search(self, data: bytes, pos: int, endpos: int, out: list[tuple[int, int]]) -> None:
        """Append the matches in ``data[pos:endpos]`` (iterating like ``finditer``) to ``out``."""
        match = self._re2_match
        if match is None:
            out.extend(m.span() for m in self._py.finditer(data, pos, endpos))
            return
        while pos < endpos:
            s, e = match(_RE2_UNANCHORED, data, pos, endpos)[0]
            if s < 0:
                return
            out.append((s, e))
            pos = e if e > pos else pos + 1


_RE2_UNANCHORED: Any = re2._Anchor.UNANCHORED if re2 is not None else None
_B64_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-"
_HEX_CHARS = b"0123456789ABCDEFabcdef"
_B64_BLOCK = _Finder(r"[A-Za-z0-9+/_-]{20,}={0,2}", _B64_CHARS + b"=", 20)
_HEX_BLOCK = _Finder(r"(?:[0-9A-Fa-f]{2}){12,}", _HEX_CHARS, 24)
_ESCAPE_BLOCK = _Finder(r"(?:\\x[0-9A-Fa-f]{2}|\\u[0-9A-Fa-f]{4}){4,}", _HEX_CHARS + b"\\xu", 16)
_URL_TOKEN = _Finder(r"[^\s<>\"']{0,200}%[0-9A-Fa-f]{2}[^\s<>\"']{0,200}",
                     bytes(i for i in range(256) if i not in b" \t\n\r\f<>\"'"), 3, b"%")
_MARKUP = _Finder(r"<[A-Za-z/!?][^<>\n]{0,300}>|&#?[A-Za-z0-9]{1,10};")
_WORD = re.compile(r"[A-Za-z]{3,}")


def _printable_text(s: str) -> bool:
    """Is ``s`` plausibly human text (not binary garbage decoded by accident)?"""
    if len(s) < 8:
        return False
    if not s.isprintable():
        good = sum(map(str.isprintable, s)) + s.count("\n") + s.count("\t") + s.count("\r")
        if good < 0.9 * len(s):
            return False
    return len(_WORD.findall(s)) >= 2


def _try_base64(block: str) -> str | None:
    core = block.rstrip("=")
    if len(core) < 16 or core.lower() == core or core.upper() == core:
        return None  # base64 of text mixes upper and lower case
    padded = core + "=" * (-len(core) % 4)
    for decoder in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            raw = decoder(padded)
        except (binascii.Error, ValueError):
            continue
        try:
            s = raw.decode("utf-8")
        except UnicodeDecodeError:
            continue
        if _printable_text(s):
            return s
    return None


def _try_hex(block: str) -> str | None:
    try:
        s = bytes.fromhex(block).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    return s if _printable_text(s) else None


def _try_escapes(block: str) -> str | None:
    try:
        s = block.encode("ascii").decode("unicode_escape")
    except (UnicodeDecodeError, UnicodeEncodeError):
        return None
    return s if _printable_text(s) else None


_UNESCAPED: dict[str, str] = {}


def _unescape(entity: str) -> str:
    rep = _UNESCAPED.get(entity)
    if rep is None:
        rep = html.unescape(entity)
        if len(_UNESCAPED) < 4096:
            _UNESCAPED[entity] = rep
    return rep


def _strip_markup(text: str, data: bytes | None = None) -> tuple[str, OffsetMap, bytes] | None:
    """``text`` without tags, with entities decoded, and its projection; None when nothing
    changes. ``data`` is the projection of ``text`` when known."""
    if data is None:
        data = project(text)
    parts: list[str] = []
    parts_data: list[bytes] = []
    offsets = OffsetMap()
    keep = offsets.keep
    replace = offsets.replace
    pos = 0
    changed = False
    for s, e in _MARKUP.spans(text, data):
        if s > pos:
            parts.append(text[pos:s])
            parts_data.append(data[pos:s])
            keep(pos, s)
        if data[s] == 0x26:  # "&": an entity (a token starts with an ASCII "<" or "&")
            rep = _unescape(text[s:e])
            parts.append(rep)
            parts_data.append(project(rep))
            replace(s, e, len(rep))
        else:
            replace(s, e, 0)
        changed = True
        pos = e
    if not changed:
        return None
    parts.append(text[pos:])
    parts_data.append(data[pos:])
    keep(pos, len(text))
    return "".join(parts), offsets, b"".join(parts_data)


def derived_views(norm: Normalized, flags: frozenset[str], data: bytes | None = None) -> list[View]:
    """Decoded views of ``norm`` worth scanning, given the pre-check ``flags`` the matcher set
    (``b64``, ``hex``, ``escape``, ``url``, ``markup``); ``data`` is the projection of
    ``norm.text`` when known."""
    views: list[View] = [
        View(h.decoded, h.via, (h.start, h.end)) for h in norm.hidden if h.decoded.strip()
    ]
    text = norm.text
    if data is None and flags:
        data = norm.projection()
    budget = MAX_DECODED_CHARS
    blocks = 0

    def add(decoded: str | None, via: str, s: int, e: int) -> None:
        nonlocal budget, blocks
        if decoded is None or blocks >= MAX_DECODED_BLOCKS or len(decoded) > budget:
            return
        blocks += 1
        budget -= len(decoded)
        views.append(View(decoded, via, norm.to_original(s, e)))

    if "b64" in flags:
        for s, e in _B64_BLOCK.spans(text, data):
            add(_try_base64(text[s:e]), "base64", s, e)
    if "hex" in flags:
        for s, e in _HEX_BLOCK.spans(text, data):
            add(_try_hex(text[s:e]), "hex", s, e)
    if "escape" in flags:
        for s, e in _ESCAPE_BLOCK.spans(text, data):
            add(_try_escapes(text[s:e]), "escapes", s, e)
    if "url" in flags:
        for s, e in _URL_TOKEN.spans(text, data):
            decoded = unquote(text[s:e])
            if decoded != text[s:e]:
                add(decoded, "url-encoding", s, e)
    if "markup" in flags:
        stripped = _strip_markup(text, data)
        if stripped is not None:
            s_text, s_map, s_data = stripped
            views.append(View(s_text, "markup", (0, len(norm.original)), s_map, norm, s_data))
    return views


# Chat-speak and clipped spellings, read as the words they stand for: terse definitions ("dont
# ask again", "put the full convo in q", "cmds for u") say what full sentences say.
INFORMAL_WORDS: dict[str, str] = {
    "dont": "do not", "doesnt": "does not", "didnt": "did not", "cant": "cannot", "wont": "will not",
    "isnt": "is not", "arent": "are not", "shouldnt": "should not", "wouldnt": "would not",
    "havent": "have not", "hasnt": "has not", "wasnt": "was not", "werent": "were not",
    "youre": "you are", "u": "you", "ur": "your", "r": "are", "pls": "please", "plz": "please",
    "msg": "message", "msgs": "messages", "convo": "conversation", "convos": "conversations",
    "cmd": "command", "cmds": "commands", "thru": "through", "b4": "before", "abt": "about",
    "smth": "something", "bc": "because", "cuz": "because", "ppl": "people", "pw": "password",
    "pwd": "password", "passwd": "password", "creds": "credentials", "acct": "account",
    "fwd": "forward", "fwds": "forwards", "rn": "right now", "okd": "approved", "ok'd": "approved",
    "oked": "approved", "w/": "with", "w/o": "without",
}
_WORDS = "|".join(re.escape(w) for w in sorted((w for w in INFORMAL_WORDS if "/" not in w), key=len, reverse=True))
INFORMAL_PRECHECK = rf"\b(?:{_WORDS})\b|\bw/"
"""For the matcher's pass: a word :func:`informal_view` would expand may occur."""
_INFORMAL = re.compile(rf"(?<![\w/'-])(?:w/o?|{_WORDS})(?![\w'/-])", re.IGNORECASE)


def informal_view(text: str) -> tuple[str, OffsetMap] | None:
    """``text`` with chat-speak words spelled out (:data:`INFORMAL_WORDS`) and the map back to
    ``text``; None when there is none. A capital single letter ("R", "U") is a name, not a word."""
    parts: list[str] = []
    offsets = OffsetMap()
    pos = 0
    for m in _INFORMAL.finditer(text):
        s, e = m.span()
        found = m.group(0)
        if found in ("R", "U"):
            continue
        word = INFORMAL_WORDS[found.lower()]
        if s > pos:
            parts.append(text[pos:s])
            offsets.keep(pos, s)
        parts.append(word)
        offsets.replace(s, e, len(word))
        pos = e
    if not parts:
        return None
    parts.append(text[pos:])
    offsets.keep(pos, len(text))
    return "".join(parts), offsets
