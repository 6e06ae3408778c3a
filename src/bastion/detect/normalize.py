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
import operator
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import accumulate, compress, count
from urllib.parse import unquote

from bastion.detect.confusables import CONFUSABLES
from bastion.detect.matcher import PLACEHOLDER, fast_projection, project

# Characters that render as nothing (or change rendering direction) and are dropped.
ZERO_WIDTH = frozenset("\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200c\u200d\u200e\u200f"
                       "\u2060\u2061\u2062\u2063\u2064\u3164\ufeff\uffa0")
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
TAG_FIRST, TAG_LAST = 0xE0000, 0xE007F


def is_variation_selector(cp: int) -> bool:
    return 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF


_ASCII_CHARS = frozenset(chr(i) for i in range(128))
_VS_MIN_RUN = 4
# the same runs, looked for among the non-ASCII characters only (see :func:`_runs_in_text`)
_TAG_RUN_NA = re.compile("[\U000e0000-\U000e007f]+")
_VS_RUN_NA = re.compile(f"[\ufe00-\ufe0f\U000e0100-\U000e01ef]{{{_VS_MIN_RUN},}}")
_SURROGATE = re.compile("[\ud800-\udfff]")

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
    chars: frozenset[str] = frozenset()  # the distinct non-ASCII characters of the original
    # the ASCII projection of ``text`` (see :func:`bastion.detect.matcher.project`) when it was
    # cheap to build along the way; None means "not built"
    data: bytes | None = None
    # the non-ASCII characters of the original in order, and their offsets in it, when they were
    # built along the way (see :meth:`runs`)
    non_ascii: str = field(default="", compare=False)
    non_ascii_offsets: list[int] | None = field(default=None, compare=False)
    # the ASCII projection of :attr:`original` when it was built along the way
    original_data: bytes | None = field(default=None, compare=False)

    def original_projection(self) -> bytes:
        """The ASCII projection of :attr:`original`."""
        if self.original_data is not None:
            return self.original_data
        if self.offsets is None and self.text == self.original:
            return self.projection()
        return project(self.original)

    def runs(self, pattern: re.Pattern[str], min_len: int = 1) -> list[tuple[int, int]]:
        """Spans of the maximal runs of at least ``min_len`` characters of the original, in text
        order, where ``pattern`` is ``[non-ASCII characters]{min_len,}`` (a class of non-ASCII
        characters, repeated): looked for among the non-ASCII characters only when their offsets
        are known."""
        if self.non_ascii_offsets is None:
            return [m.span() for m in pattern.finditer(self.original)]
        return _runs_in_text(pattern, self.non_ascii, self.non_ascii_offsets, min_len)

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

def _non_ascii(text: str) -> str:
    """The non-ASCII characters of ``text``, in order (ASCII bytes deleted from its UTF-8)."""
    return (
        text.encode("utf-8", "surrogatepass").translate(None, _ASCII_BYTES).decode("utf-8", "surrogatepass")
    )


def _segments(text: str, projection: bytes | None) -> list[str]:
    """The ASCII stretches of ``text`` around each non-ASCII character (one more than there are
    non-ASCII characters, many of them empty)."""
    if projection is not None:
        return projection.decode("ascii").split("\x1a")
    return re.split("[^\x00-\x7f]", text)


def _runs_in_text(run: re.Pattern[str], na: str, positions: list[int], min_len: int) -> list[tuple[int, int]]:
    """The maximal runs of at least ``min_len`` characters matched by ``run`` in the text, from its
    non-ASCII characters ``na`` and their ``positions`` in the text: a run among ``na`` is one
    run of the text where no ASCII stretch lies between its characters (else it is split there)."""
    out: list[tuple[int, int]] = []
    for m in run.finditer(na):
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


def _interleave(segments: list[str], replacements: Sequence[str]) -> str:
    """``segments[0] + replacements[0] + segments[1] + … + segments[-1]``."""
    out = [""] * (2 * len(segments) - 1)
    out[0::2] = segments
    out[1::2] = replacements
    return "".join(out)


def normalize(text: str) -> Normalized:
    """Build the primary view of ``text`` (see the module docstring)."""
    if text.isascii():
        return Normalized(text, text, None)
    # Only the non-ASCII characters are looked at one by one (through C-level passes: UTF-8
    # without its ASCII bytes; the ASCII stretches between them by one split), so the cost
    # follows the amount of non-ASCII text, not the length of the text.
    na = _non_ascii(text)
    chars = frozenset(na)
    folds = {c: fold_char(c) for c in chars}
    if all(len(v) == 1 for v in folds.values()):
        # every character maps to exactly one: same length, identity offsets
        projection = fast_projection(text)
        if all(v == c for c, v in folds.items()):
            return Normalized(text, text, None, (), chars, projection, original_data=projection)
        segments = _segments(text, projection)
        folded = na.translate({ord(c): v for c, v in folds.items()})
        folded_projected = na.translate({ord(c): v if v.isascii() else PLACEHOLDER for c, v in folds.items()})
        return Normalized(text, _interleave(segments, folded), None, (), chars,
                          _interleave(segments, folded_projected).encode("ascii"), original_data=projection)
    hidden: list[HiddenRun] = []
    codepoints = [ord(c) for c in chars]
    original_data = fast_projection(text)
    parts = _segments(text, original_data)
    # position of the i-th non-ASCII character: the lengths of the stretches before it, plus i
    positions = list(map(operator.add, accumulate(map(len, parts)), count()))
    # hidden runs are looked for among the non-ASCII characters only (not over the whole text)
    has_tags = any(TAG_FIRST <= cp <= TAG_LAST for cp in codepoints)
    has_vs = any(is_variation_selector(cp) for cp in codepoints)
    if has_tags:
        for s, e in _runs_in_text(_TAG_RUN_NA, na, positions, 1):
            if _is_emoji_tag_sequence(text, s, e):
                continue
            hidden.append(HiddenRun("unicode-tags", s, e, _decode_tags(text[s:e])))
    if has_vs:
        hidden.extend(
            HiddenRun("variation-selectors", s, e, _decode_variation_selectors(text[s:e]))
            for s, e in _runs_in_text(_VS_RUN_NA, na, positions, _VS_MIN_RUN)
        )
    # characters that do not map one-to-one (dropped invisibles, ligatures) are the only places
    # where offsets shift: the map keeps everything between them
    odd = frozenset(c for c, v in folds.items() if len(v) != 1)
    offsets = OffsetMap()
    pos = 0
    for k in compress(positions, map(odd.__contains__, na)):
        offsets.keep(pos, k)
        offsets.replace(k, k + 1, len(folds[text[k]]))
        pos = k + 1
    offsets.keep(pos, len(text))
    offsets.source_length = len(text)
    folded = _interleave(parts, list(map(folds.__getitem__, na)))
    folded_data = fast_projection(folded)
    return Normalized(text, folded, offsets, tuple(hidden), chars,
                      project(folded) if folded_data is None else folded_data, na, positions, original_data)


# ---------------------------------------------------------------------------------------------
# decoded views

class _Finder:
    """Linear-time ``finditer`` for the block finders: RE2 over the ASCII projection when
    available (offsets equal character offsets), else Python ``re`` (simple patterns only)."""

    def __init__(self, pattern: str) -> None:
        self._py = re.compile(pattern, re.ASCII)
        self._re2: object = None
        try:
            import re2  # type: ignore[import-untyped]

            opts = re2.Options()
            opts.encoding = re2.Options.Encoding.LATIN1
            self._re2 = re2.compile(pattern.encode("ascii"), options=opts)
        except ImportError:  # pragma: no cover
            self._re2 = None

    def spans(self, text: str, data: bytes | None = None) -> list[tuple[int, int]]:
        """Match spans in ``text``; ``data`` is its projection when known."""
        if self._re2 is not None:
            return [m.span() for m in self._re2.finditer(project(text) if data is None else data)]  # type: ignore[attr-defined]
        return [m.span() for m in self._py.finditer(text)]


_B64_BLOCK = _Finder(r"[A-Za-z0-9+/_-]{20,}={0,2}")
_HEX_BLOCK = _Finder(r"(?:[0-9A-Fa-f]{2}){12,}")
_ESCAPE_BLOCK = _Finder(r"(?:\\x[0-9A-Fa-f]{2}|\\u[0-9A-Fa-f]{4}){4,}")
_URL_TOKEN = _Finder(r"[^\s<>\"']{0,200}%[0-9A-Fa-f]{2}[^\s<>\"']{0,200}")
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


def _strip_markup(text: str, data: bytes | None = None) -> tuple[str, OffsetMap] | None:
    """``text`` without tags, with entities decoded; None when nothing changes."""
    parts: list[str] = []
    offsets = OffsetMap()
    pos = 0
    changed = False
    for s, e in _MARKUP.spans(text, data):
        if s > pos:
            parts.append(text[pos:s])
            offsets.keep(pos, s)
        token = text[s:e]
        if token.startswith("&"):
            rep = html.unescape(token)
            parts.append(rep)
            offsets.replace(s, e, len(rep))
        else:
            offsets.replace(s, e, 0)
        changed = True
        pos = e
    if not changed:
        return None
    parts.append(text[pos:])
    offsets.keep(pos, len(text))
    return "".join(parts), offsets


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
            s_text, s_map = stripped
            views.append(View(s_text, "markup", (0, len(norm.original)), s_map, norm))
    return views
