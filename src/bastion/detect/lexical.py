"""The learned lexical tier: a linear model over the words of a text, trained offline.

Phrase rules find the wording they were written for; attacks are reworded endlessly. This tier
reads a whole item (all strings of a tool definition, or one text) as a bag of words and word
pairs, and weighs each by how strongly it separated poisoned from honest tool definitions in the
training data (our own attack and benign definitions and the tuning half of the labelled corpora;
see ``scripts/train-lexical``). The weights ship as package data (``data/lexical/<name>.json``),
so nothing is downloaded and the result is the same on every machine.

What it sees:

- text is NFKC-normalised and lower-cased; the address part of URLs and e-mail addresses and
  home-relative paths (``~/``) become the tokens ``xurlx``, ``xemailx`` and ``xhomex``, so the
  model learns "sends to a URL" rather than one URL;
- tokens are runs of letters (identifiers such as ``send_email`` split into words); digits become
  ``x0x``;
- features are the distinct tokens, pairs of adjacent tokens and pairs one token apart, each
  counted once per item (repeating a word does not move the score).

The output is a probability-like score ``p`` in [0, 1]. A model rule (``model:`` in a rule file)
turns ``p`` into a finding through the model's *bands* (minimum ``p`` → confidence), calibrated at
training time on definitions the model did not see, so that a band alone makes a verdict only
where the false-positive rate on honest definitions stayed near zero. The finding's evidence lists
the words that pushed the score up most, so every verdict can be explained.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import re
import unicodedata
from dataclasses import dataclass
from importlib import resources

# Patterns that start with a literal, so that ``re`` finds them with a fast literal search: the
# scheme of a URL and the local part of an e-mail address stay as words ("https xurlx",
# "billing xemailx").
_SPECIAL = (
    ("://", re.compile(r"://[^\s\"'<>)\]]+"), " xurlx "),
    ("@", re.compile(r"@[\w-]+(?:\.[\w-]+)+"), " xemailx "),
)
_TOKEN = re.compile(r"[a-z]+|[0-9]+")
_FUNCTION_WORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "can", "do", "for", "from", "has", "have", "i",
    "if", "in", "is", "it", "its", "of", "on", "or", "so", "that", "the", "then", "this", "to", "was", "we",
    "will", "with", "you", "your", "x0x",
})
"""Single words left out of a finding's evidence (they carry weight only in pairs)."""
MAX_CHARS = 20_000
"""Only the first this many characters of an item are read (tool definitions are short; the
rest of a long text cannot change much once the strongest words are in)."""


def tokens(text: str) -> list[str]:
    """The tokens of ``text`` as the model reads them."""
    text = unicodedata.normalize("NFKC", text[:MAX_CHARS])
    for marker, pattern, token in _SPECIAL:
        if marker in text:
            text = pattern.sub(token, text)
    if "~/" in text:
        text = text.replace("~/", " xhomex ")
    return [t if t[0] > "9" else "x0x" for t in _TOKEN.findall(text.lower())]


def features(text: str) -> set[str]:
    """The distinct features of ``text``: tokens, adjacent token pairs (``"a b"``) and pairs with
    one token between them (``"a _ c"``: "send the key" and "send your key" share ``"send _ key"``)."""
    toks = tokens(text)
    out = set(toks)
    out.update(map(" ".join, itertools.pairwise(toks)))
    out.update(map(" _ ".join, zip(toks, toks[2:], strict=False)))
    return out


@dataclass(frozen=True, slots=True)
class Band:
    """Scores at or above ``min_score`` give a finding with ``confidence``."""

    min_score: float
    confidence: float


@dataclass(frozen=True, slots=True)
class LexicalResult:
    score: float
    confidence: float
    top: tuple[tuple[str, float], ...]
    """The features that pushed the score up most, with their weights."""


class LexicalModel:
    """A trained linear model: ``p = sigmoid(bias + sum of the weights of the features present)``,
    the sum divided by the square root of the number of features when ``scaled`` (so that a long
    text does not reach an extreme score by the sheer number of its words)."""

    def __init__(self, name: str, weights: dict[str, float], bias: float, bands: list[Band], about: str = "",
                 scaled: bool = False) -> None:
        self.name = name
        self.weights = weights
        self.bias = bias
        self.bands = sorted(bands, key=lambda b: b.min_score, reverse=True)
        self.about = about
        self.scaled = scaled

    @classmethod
    def from_dict(cls, name: str, data: dict[str, object]) -> LexicalModel:
        weights = data.get("weights")
        bias = data.get("bias")
        bands = data.get("bands")
        if not isinstance(weights, dict) or not isinstance(bias, int | float) or not isinstance(bands, list):
            raise ValueError(f"lexical model {name}: expected 'weights', 'bias' and 'bands'")
        parsed = []
        for b in bands:
            if not isinstance(b, dict) or not {"min_score", "confidence"} <= b.keys():
                raise ValueError(f"lexical model {name}: each band needs 'min_score' and 'confidence'")
            parsed.append(Band(float(b["min_score"]), float(b["confidence"])))
        about = data.get("about", "")
        scaled = data.get("scaled", False)
        if not isinstance(scaled, bool):
            raise ValueError(f"lexical model {name}: 'scaled' must be true or false")
        return cls(name, {str(k): float(v) for k, v in weights.items()}, float(bias), parsed,
                   about if isinstance(about, str) else "", scaled)

    def score_features(self, feats: set[str]) -> float:
        total = sum(filter(None, map(self.weights.get, feats)))
        if self.scaled and feats:
            total /= math.sqrt(len(feats))
        z = self.bias + total
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    def evaluate(self, text: str, top: int = 6) -> LexicalResult:
        """Score ``text``; ``confidence`` is 0 when no band is reached."""
        feats = features(text)
        p = self.score_features(feats)
        confidence = next((b.confidence for b in self.bands if p >= b.min_score), 0.0)
        strongest: tuple[tuple[str, float], ...] = ()
        if confidence:
            w = self.weights
            ranked = sorted(((f.replace(" _ ", " … "), w[f]) for f in feats
                             if w.get(f, 0.0) > 0 and f not in _FUNCTION_WORDS),
                            key=lambda fw: -fw[1])
            strongest = tuple(ranked[:top])
        return LexicalResult(p, confidence, strongest)


@functools.cache
def load_model(name: str) -> LexicalModel:
    """The built-in model ``name`` (``data/lexical/<name>.json``), loaded once per process."""
    if not re.fullmatch(r"[a-z0-9_-]+", name):
        raise ValueError(f"invalid lexical model name {name!r}")
    path = resources.files("bastion.detect") / "data" / "lexical" / f"{name}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ValueError(f"no built-in lexical model named {name!r}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"lexical model {name}: expected a JSON object")
    return LexicalModel.from_dict(name, data)
