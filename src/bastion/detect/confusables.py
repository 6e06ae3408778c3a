"""A small table of characters that look like Latin letters (Cyrillic, Greek, Armenian, IPA).

It is not the full Unicode ``confusables.txt``: it holds the look-alikes attackers actually use to
spell English words and package names with foreign letters (``раypal`` with Cyrillic ``р`` and
``а``). NFKC already folds full-width forms, mathematical alphanumerics, ligatures and the like;
this table covers what NFKC leaves alone.
"""

from __future__ import annotations

_PAIRS = (
    # Cyrillic lower case
    "аa вb еe ђh іi јj кk мm нh оo рp сc тt уy хx ѕs ԁd ԛq ԝw ӏl һh ɡg ґr ѵv ѡw ҫc ӕae ёe їi ӧo ӱy"
    # Cyrillic upper case
    " АA ВB ЕE ЅS ІI ЈJ КK МM НH ОO РP СC ТT УY ХX ԚQ ԜW ӀI ҮY"
    # Greek lower case
    " αa βb γy εe ηn ιi κk νv οo ρp τt υu χx ωw ϲc ϳj ϱp"
    # Greek upper case
    " ΑA ΒB ΕE ΖZ ΗH ΙI ΚK ΜM ΝN ΟO ΡP ΤT ΥY ΧX ϹC"
    # Armenian
    " օo սu հh ոn ցg ԁd"
    # Latin / IPA look-alikes that NFKC keeps
    ' “" ”" „" ‘\' ’\' ‚\' ‹< ›> «" »" –- —- ‐- ‑- ‒- −- ⁄/ ∕/'
    " ıi ȷj ɑa ɩi ʏy ǀl ɪi ʟl ᴀa ᴄc ᴅd ᴇe ᴊj ᴋk ᴍm ᴏo ᴘp ᴛt ᴜu ᴠv ᴡw ᴢz ꭰd"
)


def _build() -> dict[str, str]:
    table: dict[str, str] = {}
    for pair in _PAIRS.split(" "):
        if len(pair) >= 2:
            table[pair[0]] = pair[1:]
    return table


CONFUSABLES: dict[str, str] = _build()
"""Look-alike character -> the ASCII letter(s) it imitates."""


def fold_confusables(text: str) -> str:
    """Replace every look-alike character in ``text`` by the ASCII letter it imitates."""
    if text.isascii():
        return text
    return "".join(CONFUSABLES.get(c, c) for c in text)
