"""Checks that patterns cannot express, referenced by name from rule files (``heuristic: …``).

Each heuristic receives a :class:`Context` (the original string, its normalised view, the kind of
text, whether it is an identifier) and returns :class:`Hit` spans in the *original* string. Most of
them look only at non-ASCII text, so plain ASCII input costs a single ``str.isascii`` check.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bastion.detect.confusables import CONFUSABLES
from bastion.detect.models import Kind
from bastion.detect.normalize import BIDI_CONTROLS, ZERO_WIDTH, Normalized


@dataclass(frozen=True, slots=True)
class Context:
    """What a heuristic sees: one string of an item."""

    norm: Normalized
    kind: Kind
    scope: str  # "text" | "name"
    field: str
    other_tools: frozenset[str] = frozenset()  # tool names of other servers (fleet scans)
    sibling_tools: frozenset[str] = frozenset()  # tool names of the same server
    own_tool: str = ""  # the name of the tool whose definition this string belongs to
    own_params: frozenset[str] = frozenset()  # that tool's parameter names
    read_only: bool = False  # that tool is annotated readOnlyHint: true
    own_values: frozenset[str] = frozenset()  # the string enum values of its parameters (its own options)


@dataclass(frozen=True, slots=True)
class Hit:
    start: int
    end: int
    detail: str = ""


Heuristic = Callable[[Context], list[Hit]]
HEURISTICS: dict[str, Heuristic] = {}
MAX_HITS = 8
NON_ASCII_ONLY: frozenset[str] = frozenset(
    {"invisible_characters", "bidi_controls", "unicode_tags", "variation_selectors", "mixed_script"}
)
"""Heuristics that find nothing in a string without non-ASCII characters (the engine skips them)."""
PLACEHOLDERS: frozenset[str] = frozenset({"decoded_payload", "risky_default"})
"""Heuristics that never find anything themselves (the engine emits their rule)."""


def heuristic(name: str) -> Callable[[Heuristic], Heuristic]:
    def register(fn: Heuristic) -> Heuristic:
        HEURISTICS[name] = fn
        return fn

    return register


_INVISIBLE_RUN = re.compile("[" + "".join(sorted(ZERO_WIDTH)) + "]+")
_ASCII_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def _is_emoji_like(ch: str) -> bool:
    if not ch:  # the start or the end of the text
        return False
    cp = ord(ch)
    return cp >= 0x1F000 or 0x2600 <= cp <= 0x27BF or 0x2190 <= cp <= 0x21FF or cp in (0xFE0F, 0x20E3)


@heuristic("invisible_characters")
def invisible_characters(ctx: Context) -> list[Hit]:
    """Zero-width and other invisible characters next to ASCII letters, or in runs."""
    text = ctx.norm.original
    if not ctx.norm.has_dropped(ZERO_WIDTH):
        return []
    hits: list[Hit] = []
    for s, e in ctx.norm.runs(_INVISIBLE_RUN):
        run = text[s:e]
        if s == 0 and run == "\ufeff":
            continue  # byte-order mark
        before = text[s - 1] if s > 0 else ""
        after = text[e] if e < len(text) else ""
        if len(run) == 1 and run in "\u200d\ufe0f" and (_is_emoji_like(before) or _is_emoji_like(after)):
            continue  # emoji joiner sequences
        if len(run) == 1 and run in "\u200c\u200d\u200e\u200f\u061c" and not (
            before in _ASCII_ALNUM or after in _ASCII_ALNUM
        ):
            continue  # joiners and direction marks used by non-Latin scripts
        if len(run) >= 2 or before in _ASCII_ALNUM or after in _ASCII_ALNUM:
            names = sorted({f"U+{ord(c):04X}" for c in run})
            hits.append(Hit(s, e, f"{len(run)} invisible character(s) {', '.join(names)}"))
            if len(hits) >= MAX_HITS:
                break
    return hits


_BIDI_RUN = re.compile("[" + "".join(sorted(BIDI_CONTROLS)) + "]+")


@heuristic("bidi_controls")
def bidi_controls(ctx: Context) -> list[Hit]:
    """Bidirectional embedding/override/isolate controls."""
    text = ctx.norm.original
    if not ctx.norm.has_dropped(BIDI_CONTROLS):
        return []
    return [
        Hit(s, e, "bidi control(s) " + ", ".join(f"U+{ord(c):04X}" for c in text[s:e][:4]))
        for s, e in ctx.norm.runs(_BIDI_RUN)
    ][:MAX_HITS]


def _preview(s: str, limit: int = 80) -> str:
    s = s.replace("\n", " ")
    return s if len(s) <= limit else s[: limit - 1] + "…"


@heuristic("unicode_tags")
def unicode_tags(ctx: Context) -> list[Hit]:
    """Runs of Unicode tag characters, with the ASCII text they hide."""
    return [
        Hit(h.start, h.end, f"hidden text: {_preview(h.decoded)!r}")
        for h in ctx.norm.hidden
        if h.via == "unicode-tags"
    ][:MAX_HITS]


@heuristic("variation_selectors")
def variation_selectors(ctx: Context) -> list[Hit]:
    """Long runs of variation selectors (bytes smuggled after a visible character)."""
    return [
        Hit(h.start, h.end, f"{h.end - h.start} variation selectors; decoded: {_preview(h.decoded)!r}")
        for h in ctx.norm.hidden
        if h.via == "variation-selectors"
    ][:MAX_HITS]


_GREEK_SAFE = frozenset("μπΩΔΣ")  # units and math symbols that legitimately sit next to Latin
_LOOKALIKES = "".join(sorted(c for c in CONFUSABLES if c not in _GREEK_SAFE and len(c) == 1 and c.isalpha()))
_LOOKALIKE_SET = frozenset(_LOOKALIKES)
_LOOKALIKE_CHAR = re.compile(f"[{_LOOKALIKES}]")
_L = "A-Za-z"
# a run of Latin letters and look-alikes that holds at least one of each
_MIXED = re.compile(
    f"[{_L}][{_L}{_LOOKALIKES}]{{0,40}}[{_LOOKALIKES}]|[{_LOOKALIKES}][{_L}{_LOOKALIKES}]{{0,40}}[{_L}]"
)
_WORDCHAR = re.compile(r"\w")


# a non-ASCII character (placeholder in the projection) next to an ASCII letter
_LETTER_NEXT_TO_PLACEHOLDER = re.compile(rb"\x1a(?:(?<=[A-Za-z]\x1a)|(?=[A-Za-z]))")


@heuristic("mixed_script")
def mixed_script(ctx: Context) -> list[Hit]:
    """Words mixing Latin letters with Cyrillic/Greek/Armenian look-alikes."""
    if not _LOOKALIKE_CHAR.search(ctx.norm.non_ascii):
        return []
    text = ctx.norm.original
    # Every match holds a Latin letter right next to a look-alike, at most 41 characters after
    # its start: find those places first (a fast scan of the projection), then search from 42
    # characters before the next one — the same leftmost match as searching from ``pos``.
    lookalike = _LOOKALIKE_SET.__contains__
    data = ctx.norm.original_projection()
    places = [p for m in _LETTER_NEXT_TO_PLACEHOLDER.finditer(data) if lookalike(text[p := m.start()])]
    hits: list[Hit] = []
    pos = 0
    k = 0
    while len(hits) < MAX_HITS:
        while k < len(places) and places[k] < pos:
            k += 1
        if k == len(places):
            break
        m = _MIXED.search(text, max(pos, places[k] - 42))
        if m is None:
            break
        s, e = m.span()
        while s > 0 and _WORDCHAR.match(text[s - 1]):
            s -= 1
        while e < len(text) and _WORDCHAR.match(text[e]):
            e += 1
        w = text[s:e]
        if not any(c.isalpha() and not c.isascii() and c not in _LOOKALIKE_SET for c in w):
            hits.append(Hit(s, e, f"{w!r} reads as {''.join(CONFUSABLES.get(c, c) for c in w)!r}"))
        pos = e
    return hits


_ANSI = re.compile(r"\x1b(?:\[[0-9;?]{0,32}[ -/]{0,4}[@-~]|\][^\x07\x1b]{0,512}(?:\x07|\x1b\\)|[@-Z\\-_])")


@heuristic("ansi_escapes")
def ansi_escapes(ctx: Context) -> list[Hit]:
    """ANSI CSI/OSC escape sequences."""
    text = ctx.norm.original
    if "\x1b" not in text:
        return []
    return [Hit(m.start(), m.end(), f"escape sequence {m.group()!r}") for m in _ANSI.finditer(text)][:MAX_HITS]


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f]+|\r(?!\n)")


@heuristic("control_characters")
def control_characters(ctx: Context) -> list[Hit]:
    """C0 control characters other than tab/newline, and bare carriage returns."""
    text = ctx.norm.original
    if text.isprintable():
        return []
    if "\r" not in text and text.replace("\n", " ").replace("\t", " ").isprintable():
        return []  # only line breaks and tabs
    return [Hit(m.start(), m.end(), f"control character(s) {m.group()!r}") for m in _CONTROL.finditer(text)][
        :MAX_HITS
    ]


_LETTERS = re.compile(r"[A-Za-z]{2,}")


@heuristic("html_comments")
def html_comments(ctx: Context) -> list[Hit]:
    """HTML comments holding at least three words."""
    text = ctx.norm.text
    hits: list[Hit] = []
    pos = text.find("<!--")
    while pos >= 0 and len(hits) < MAX_HITS:
        end = text.find("-->", pos + 4)
        stop = len(text) if end < 0 else end + 3
        body = text[pos + 4 : end if end >= 0 else len(text)]
        if len(_LETTERS.findall(body)) >= 3:
            s, e = ctx.norm.to_original(pos, stop)
            hits.append(Hit(s, e, f"comment: {_preview(body.strip())!r}"))
        if end < 0:
            break
        pos = text.find("<!--", stop)
    return hits


_BLANK_LINES = re.compile(r"(?:\n[ \t]{0,16}){10,}(?=[^\s])")
_SPACES = " " * 120


@heuristic("whitespace_padding")
def whitespace_padding(ctx: Context) -> list[Hit]:
    """120+ spaces or 10+ blank lines followed by more text."""
    text = ctx.norm.original
    hits: list[Hit] = []
    pos = text.find(_SPACES)
    if pos >= 0:
        end = pos + len(_SPACES)
        while end < len(text) and text[end] in " \t":
            end += 1
        if end < len(text) and not text[end].isspace():
            hits.append(Hit(pos, end, f"{end - pos} spaces before more text"))
    if "\n\n" in text:
        m = _BLANK_LINES.search(text)
        if m:
            hits.append(Hit(m.start(), m.end(), f"{m.group().count(chr(10))} line breaks before more text"))
    return hits


@heuristic("decoded_payload")
def decoded_payload(ctx: Context) -> list[Hit]:
    """Placeholder: the engine emits this rule itself when a decoded view reveals findings."""
    return []


_NAME_EDGE = re.compile(r"^[_\-.]|[_\-.]$|[_\-.]{2,}")


@heuristic("suspicious_name")
def suspicious_name(ctx: Context) -> list[Hit]:
    """Tool names with edge/doubled separators or look-alike letters."""
    if ctx.scope != "name" or ctx.field not in ("name", "title"):
        return []
    name = ctx.norm.original
    hits: list[Hit] = []
    m = _NAME_EDGE.search(name)
    if m and name.strip("_-."):
        hits.append(Hit(m.start(), m.end(), f"separator shape {m.group()!r} in {name!r}"))
    if not name.isascii() and any(c in CONFUSABLES for c in name):
        hits.append(Hit(0, len(name), f"look-alike letters: reads as {ctx.norm.text!r}"))
    return hits


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum used by payment card numbers."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


VALIDATORS: dict[str, Callable[[str], bool]] = {
    "luhn": lambda s: luhn_ok("".join(c for c in s if c.isdigit())),
}
"""Checks a pattern rule can ask for (``validator: luhn``) to confirm a match's text."""


_SEPARATORS = re.compile(r"[\s_\-.]+")


def canonical_name(name: str) -> str:
    """Lower case, look-alikes folded, separators removed: ``Send-Email`` -> ``sendemail``."""
    from bastion.detect.normalize import normalize

    return _SEPARATORS.sub("", normalize(name).text).lower()


def _distinctive(name: str) -> bool:
    """Tool names specific enough that naming them in prose is a reference, not a common word."""
    return len(name) >= 4 and bool(re.search(r"[_\-.]|[a-z][A-Z]", name))


def find_word(text: str, word: str, start: int = 0, end: int | None = None) -> int:
    """Where ``word`` first occurs in ``text[start:end]`` as a whole word (not inside an
    identifier: letters, digits and ``_`` count as word characters); -1 when it does not."""
    stop = len(text) if end is None else end
    pos = text.find(word, start, stop)
    while pos >= 0:
        after = pos + len(word)
        if (pos == 0 or not (text[pos - 1].isalnum() or text[pos - 1] == "_")) and (
            after >= len(text) or not (text[after].isalnum() or text[after] == "_")
        ):
            return pos
        pos = text.find(word, after, stop)
    return -1


@heuristic("cross_server_reference")
def cross_server_reference(ctx: Context) -> list[Hit]:
    """Mentions of another server's tool names (known only in server/fleet scans)."""
    if not ctx.other_tools or ctx.scope != "text":
        return []
    text = ctx.norm.text
    low = text.lower()
    hits: list[Hit] = []
    for name in sorted(ctx.other_tools):
        if not _distinctive(name) or name in ctx.sibling_tools:
            continue
        needle = name.lower()
        pos = find_word(low, needle)
        if pos >= 0:
            s, e = ctx.norm.to_original(pos, pos + len(needle))
            hits.append(Hit(s, e, f"names {name!r}, a tool of another server"))
        if len(hits) >= MAX_HITS:
            break
    return hits


@heuristic("lookalike_tool_name")
def lookalike_tool_name(ctx: Context) -> list[Hit]:
    """A tool name equal to another tool's name up to case, separators or look-alike letters."""
    if ctx.scope != "name" or ctx.field != "name":
        return []
    name = ctx.norm.original
    others = (ctx.other_tools | ctx.sibling_tools) - {name}
    if not others:
        return []
    mine = canonical_name(name)
    if not mine:
        return []
    odd = bool(_NAME_EDGE.search(name)) or not name.isascii()
    for other in sorted(others):
        if canonical_name(other) != mine:
            continue
        same_len_plain = len(name) == len(other) and name.isascii() and not _NAME_EDGE.search(other)
        if odd or len(name) > len(other) or same_len_plain:
            return [Hit(0, len(name), f"imitates {other!r}")]
    return []
