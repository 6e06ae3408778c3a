"""Detection rules are data: YAML files in ``bastion/detect/rules/`` loaded into typed models.

A rule file holds a ``rules:`` list. Every rule has an ``id`` (``TP-001``), a ``title``, a
``category``, a ``severity``, the kinds of text it ``applies_to`` (``tool_description``,
``tool_result``, ``arguments``, ``prompt`` or ``any``), an ``explanation`` for users,
``references`` (OWASP LLM Top 10 2025 ``LLM01``…, OWASP MCP Top 10 ``MCP03``…, write-ups) and
``examples`` (``positive`` texts the rule must flag, ``negative`` texts it must not) that the test
suite runs automatically.

A rule detects in exactly one of four ways:

- ``patterns``: regular expressions, compiled together into one multi-pattern matcher. They are
  case-insensitive unless ``case_sensitive: true``. They must stay in the subset that every
  backend (Hyperscan, RE2, Python ``re``) treats the same way and in linear time: no
  back-references, look-arounds, anchors, named groups or nested quantifiers; ``\\w``, ``\\d``
  and ``\\b`` are ASCII; ``\\s`` means ``[\\t\\n\\f\\r ]``. :func:`check_pattern` enforces this.
- ``heuristic``: the name of a built-in check in :mod:`bastion.detect.heuristics` (for what a
  pattern cannot see: invisible characters, mixed scripts …).
- ``all_of``: a combination of ``signals`` established by other findings of the same item, e.g.
  ``[imperative, sensitive_target]``, optionally within ``window`` characters in the same field
  (and, with ``ordered: true``, in the order listed: an instruction, then its target).
- ``model``: the name of a learned lexical model shipped with the package
  (:mod:`bastion.detect.lexical`); it reads the whole item (every string of a tool definition
  together) and its calibrated bands set the finding's confidence, so ``confidence`` is only the
  documented ceiling.

``validator`` (``luhn``) confirms a pattern match by checking its text (card numbers).
``not_after`` drops a match of a weak rule when the words just before it (up to
:data:`NOT_AFTER_REACH` characters, read with Python ``re``, so bounded) match this expression:
"the tool *never reads* keys" describes what a tool refrains from, it does not tell the model to
read them. ``unless_in_sentence`` drops a match of a pattern rule, or a hit of a heuristic, when
the match and the rest of its sentence (up to :data:`UNLESS_REACH` characters past the match,
read on their own so ``^`` is the match's first character) hold this expression: "don't tell
the user the pipeline passed *until its status is success*" asks for the truth, not for
silence. Keep it to conditions that make the instruction honest; a negation before a strong
match is never enough. ``unless_before`` drops such a match when the words before it in its
sentence (up to :data:`UNLESS_BEFORE_REACH` characters, read on their own so ``$`` is the match's
first character) hold this expression: the tool's own refusal ("it never adds repositories or
runs ``curl | sh`` installers"). Rules that share one condition share it by a YAML anchor, so
it is written once.
``scope`` says which strings a pattern rule reads: ``text`` (descriptions, values), ``name``
(identifiers: tool and property names) or ``any``; ``parameters_only`` keeps a ``name`` rule to
property and argument names (a tool may be called ``get_ssh_key``; a parameter so named is an
exfiltration channel). ``confidence`` is how strongly one finding
points to an attack; ``weak`` rules only add context (their total contribution is capped, so
strong wording alone never makes a verdict); ``scored: false`` rules (secrets, PII) report and
redact but do not make an item malicious; ``redact: true`` puts a rule in the redaction set.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bastion.detect.models import KINDS, Kind, Severity

Category = Literal[
    "tool-poisoning",
    "hidden-content",
    "exfiltration",
    "shadowing",
    "preference-manipulation",
    "prompt-injection",
    "secrets",
    "pii",
    "supply-chain",
]
Scope = Literal["text", "name", "any"]
AppliesTo = Literal["tool_description", "tool_result", "arguments", "prompt", "any"]

MAX_REPEAT = 200
"""Largest bounded repetition allowed in a pattern (keeps compiled automata small)."""

_WS_CLASS_BODY = "\\t\\n\\f\\r "


class PatternError(ValueError):
    """A rule pattern uses a construct outside the portable, linear-time subset."""


def check_pattern(pattern: str) -> str:
    """Validate ``pattern`` and return its portable form (``\\s`` rewritten to an explicit class).

    Raises :class:`PatternError` for constructs that are not linear-time in every backend or that
    backends interpret differently.
    """
    out: list[str] = []
    i = 0
    n = len(pattern)
    in_class = False
    # per open group: does it contain a quantifier?
    group_stack: list[bool] = []
    last_closed_group_quantified = False
    while i < n:
        c = pattern[i]
        if c == "\\":
            if i + 1 >= n:
                raise PatternError(f"trailing backslash in {pattern!r}")
            e = pattern[i + 1]
            if e.isdigit() and e != "0":
                raise PatternError(f"back-reference in {pattern!r}")
            if e in "AZzG":
                raise PatternError(f"anchor \\{e} in {pattern!r}")
            if e in "pPX":
                raise PatternError(f"Unicode property \\{e} in {pattern!r}")
            if e == "s":
                if in_class:
                    out.append(_WS_CLASS_BODY)
                else:
                    out.append(f"[{_WS_CLASS_BODY}]")
                    # whitespace runs are bounded so every match has a known maximum length
                    if pattern.startswith("+", i + 2) or pattern.startswith("*", i + 2):
                        out.append("{1,16}" if pattern[i + 2] == "+" else "{0,16}")
                        i += 1
                        if group_stack:
                            group_stack[-1] = True
            elif e == "S":
                if in_class:
                    raise PatternError(f"\\S inside a class in {pattern!r}")
                out.append(f"[^{_WS_CLASS_BODY}]")
            else:
                out.append(pattern[i : i + 2])
            i += 2
            last_closed_group_quantified = False
            continue
        if in_class:
            if c == "]":
                in_class = False
            elif c == "[" and i + 1 < n and pattern[i + 1] == ":":
                raise PatternError(f"POSIX class in {pattern!r}")
            out.append(c)
            i += 1
            continue
        if c == "[":
            in_class = True
            out.append(c)
            i += 1
            # a leading ']' or '^]' is literal
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            if i < n and pattern[i] == "]":
                out.append("]")
                i += 1
            last_closed_group_quantified = False
            continue
        if c in "^$":
            raise PatternError(f"anchor {c!r} in {pattern!r}")
        if c == "(":
            if pattern.startswith("(?", i):
                if not pattern.startswith("(?:", i):
                    raise PatternError(f"unsupported group syntax in {pattern!r} (only (?:...) allowed)")
                out.append("(?:")
                i += 3
            else:
                out.append("(?:")  # nothing reads rule groups: non-capturing matches the same, faster
                i += 1
            group_stack.append(False)
            last_closed_group_quantified = False
            continue
        if c == ")":
            if not group_stack:
                raise PatternError(f"unbalanced ')' in {pattern!r}")
            last_closed_group_quantified = group_stack.pop()
            out.append(c)
            i += 1
            if i < n and pattern[i] in "*+?{":
                if last_closed_group_quantified and pattern[i] != "?":
                    raise PatternError(f"nested quantifier in {pattern!r}")
                if group_stack:
                    group_stack[-1] = True
            elif last_closed_group_quantified and group_stack:
                group_stack[-1] = True
            continue
        if c in "*+{":
            if c == "{":
                j = pattern.find("}", i)
                if j < 0:
                    raise PatternError(f"unterminated repetition in {pattern!r}")
                body = pattern[i + 1 : j]
                parts = body.split(",")
                if not all(p.strip().isdigit() or p == "" for p in parts) or len(parts) > 2:
                    raise PatternError(f"bad repetition {{{body}}} in {pattern!r}")
                if any(p.strip().isdigit() and int(p) > MAX_REPEAT for p in parts):
                    raise PatternError(f"repetition larger than {MAX_REPEAT} in {pattern!r}")
                out.append(pattern[i : j + 1])
                i = j + 1
            else:
                out.append(c)
                i += 1
            if group_stack:
                group_stack[-1] = True
            if i < n and pattern[i] == "+":
                raise PatternError(f"possessive quantifier in {pattern!r}")
            continue
        out.append(c)
        i += 1
    if in_class:
        raise PatternError(f"unterminated class in {pattern!r}")
    if group_stack:
        raise PatternError(f"unbalanced '(' in {pattern!r}")
    return "".join(out)


class PatternEntry(BaseModel):
    """A rule pattern; ``prefilter`` is an optional cheaper pattern that matches wherever
    ``pattern`` does (a superset), used by the multi-pattern pass when set."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    pattern: str
    prefilter: str | None = None


NOT_AFTER_REACH = 40
UNLESS_REACH = 160
UNLESS_BEFORE_REACH = 240
"""How far back ``unless_before`` reads: a refusal often opens a long list ("these are refused:
~/.ssh, ~/.gnupg, ~/.aws, browser profile folders, ... and .env files")."""
"""How many characters before a match a rule's ``not_after`` reads."""


class Example(BaseModel):
    """A text a rule must (positive) or must not (negative) flag."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    text: str
    kind: Kind | None = None
    scope: Literal["text", "name"] = "text"
    field: str | None = None
    """Where the text sits in a definition (``inputSchema.properties.x.description``); the
    description by default."""
    tool: dict[str, Any] | None = None
    """A whole tool definition to scan instead (for rules that read annotations or several
    fields together); ``text`` then only names the example."""


class Examples(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    positive: tuple[Example, ...] = ()
    negative: tuple[Example, ...] = ()

    @field_validator("positive", "negative", mode="before")
    @classmethod
    def _strings_to_examples(cls, value: object) -> object:
        if isinstance(value, list):
            return [{"text": v} if isinstance(v, str) else v for v in value]
        return value


class Rule(BaseModel):
    """One detection rule (see the module docstring for the meaning of each field)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[A-Z]{2,4}-\d{3}$")
    title: str
    category: Category
    severity: Severity
    applies_to: tuple[AppliesTo, ...]
    scope: Scope = "text"
    parameters_only: bool = False
    patterns: tuple[PatternEntry, ...] = ()
    case_sensitive: bool = False
    heuristic: str | None = None
    validator: Literal["luhn"] | None = None
    not_after: str | None = None
    unless_in_sentence: str | None = None
    unless_before: str | None = None
    all_of: tuple[str, ...] = ()
    window: int | None = None
    ordered: bool = False
    model: str | None = Field(default=None, pattern=r"^[a-z0-9_-]+$")
    confidence: float = Field(ge=0.0, le=1.0)
    confidence_by_kind: dict[Kind, float] = Field(default_factory=dict)
    weak: bool = False
    scored: bool = True
    redact: bool = False
    signals: tuple[str, ...] = ()
    explanation: str
    references: tuple[str, ...] = ()
    examples: Examples = Examples()

    @field_validator("patterns", mode="before")
    @classmethod
    def _strings_to_entries(cls, value: object) -> object:
        if isinstance(value, list):
            return [{"pattern": v} if isinstance(v, str) else v for v in value]
        return value

    @model_validator(mode="after")
    def _one_detector(self) -> Rule:
        ways = sum(1 for w in (self.patterns, self.heuristic, self.all_of, self.model) if w)
        if ways != 1:
            raise ValueError(f"rule {self.id}: exactly one of patterns, heuristic, all_of, model is required")
        for p in self.patterns:
            check_pattern(p.pattern)
            if p.prefilter is not None:
                check_pattern(p.prefilter)
        if not self.examples.positive:
            raise ValueError(f"rule {self.id}: at least one positive example is required")
        # the conditions that excuse a match: each for the rules that can use it, each a valid expression
        for key, value, usable, kinds in (
            ("not_after", self.not_after, self.weak and bool(self.patterns), "weak pattern rules"),
            ("unless_in_sentence", self.unless_in_sentence, bool(self.patterns) or self.heuristic is not None,
             "pattern and heuristic rules"),
            ("unless_before", self.unless_before, bool(self.patterns), "pattern rules"),
        ):
            if value is None:
                continue
            if not usable:
                raise ValueError(f"rule {self.id}: {key} is for {kinds}")
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"rule {self.id}: {key}: {exc}") from exc
        return self

    def kinds(self) -> tuple[Kind, ...]:
        """The kinds this rule applies to, with ``any`` expanded."""
        if "any" in self.applies_to:
            return KINDS
        return tuple(k for k in KINDS if k in self.applies_to)

    def applies(self, kind: Kind) -> bool:
        return "any" in self.applies_to or kind in self.applies_to

    def confidence_for(self, kind: Kind) -> float:
        return self.confidence_by_kind.get(kind, self.confidence)

    def default_kind(self) -> Kind:
        return self.kinds()[0]


@dataclass(frozen=True, slots=True)
class RuleSet:
    """All loaded rules, indexed by id, with pattern rules flattened for the matcher."""

    rules: tuple[Rule, ...]

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for r in self.rules:
            if r.id in seen:
                raise ValueError(f"duplicate rule id {r.id}")
            seen.add(r.id)

    def by_id(self) -> dict[str, Rule]:
        return {r.id: r for r in self.rules}

    def pattern_rules(self) -> list[Rule]:
        return [r for r in self.rules if r.patterns]

    def heuristic_rules(self) -> list[Rule]:
        return [r for r in self.rules if r.heuristic]

    def combination_rules(self) -> list[Rule]:
        return [r for r in self.rules if r.all_of]

    def model_rules(self) -> list[Rule]:
        return [r for r in self.rules if r.model]


def parse_rules(data: object, source: str = "<rules>") -> list[Rule]:
    """Parse the content of one rule file (already loaded from YAML)."""
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise ValueError(f"{source}: expected a mapping with a 'rules' list")
    out: list[Rule] = []
    for i, raw in enumerate(data["rules"]):
        try:
            out.append(Rule.model_validate(raw))
        except ValueError as exc:
            raise ValueError(f"{source}: rule #{i + 1}: {exc}") from exc
    return out


def _builtin_rule_texts() -> Iterable[tuple[str, str]]:
    folder = resources.files("bastion.detect") / "rules"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith((".yaml", ".yml")):
            yield entry.name, entry.read_text(encoding="utf-8")


def load_rules(extra: Sequence[str | Path] = (), builtin: bool = True) -> RuleSet:
    """Load the built-in rule packs and any extra rule files (YAML)."""
    rules: list[Rule] = []
    if builtin:
        for name, text in _builtin_rule_texts():
            rules.extend(parse_rules(yaml.safe_load(text), name))
    for path in extra:
        p = Path(path)
        rules.extend(parse_rules(yaml.safe_load(p.read_text(encoding="utf-8")), str(p)))
    return RuleSet(tuple(rules))
