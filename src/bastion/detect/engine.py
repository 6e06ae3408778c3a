"""The detection engine: one engine for tool descriptions, tool results, arguments and prompts.

Typical use::

    from bastion.detect import scan_tool, scan_text, redact

    report = scan_tool(tool_dict)             # every string of the definition is scanned
    if report.malicious: ...
    report = scan_text(result_text, kind="tool_result")
    clean, findings = redact(result_text)     # secrets and PII replaced by [REDACTED:<rule>]

For each string the engine builds the normalised view (:mod:`~bastion.detect.normalize`), runs
*all* rule patterns over it in one multi-pattern pass (:mod:`~bastion.detect.matcher`), scans
decoded views only when the same pass's pre-checks say there is something to decode, and runs the
heuristics (:mod:`~bastion.detect.heuristics`). Combination rules then look at the signals the
findings established, and :mod:`~bastion.detect.scoring` turns the findings into a score and a
verdict. Everything is compiled once; :func:`default_engine` caches one engine per process.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from bastion.detect import conduct_checks as _conduct_checks  # also registers its checks
from bastion.detect import definition_checks as _definition_checks  # noqa: F401  (registers its checks)
from bastion.detect import result_checks as _result_checks  # noqa: F401  (registers its checks)
from bastion.detect.heuristics import HEURISTICS, NON_ASCII_ONLY, PLACEHOLDERS, VALIDATORS, Context, Heuristic
from bastion.detect.lexical import LexicalModel, load_model
from bastion.detect.matcher import Backend, MultiMatcher, PatternSpec, Window, project
from bastion.detect.models import DEFAULT_THRESHOLD, Finding, ItemReport, Kind, ServerReport, Verdict
from bastion.detect.normalize import INFORMAL_PRECHECK, Normalized, View, derived_views, informal_view, normalize
from bastion.detect.rules import (
    NOT_AFTER_REACH,
    UNLESS_BEFORE_REACH,
    UNLESS_REACH,
    Rule,
    RuleSet,
    check_pattern,
    load_rules,
)
from bastion.detect.scoring import score_findings

# Pre-checks compiled into the same multi-pattern pass: they say which decoding steps could apply.
PRECHECKS: dict[str, str] = {
    "b64": r"[A-Za-z0-9+/_-]{20}",
    "hex": r"[0-9A-Fa-f]{24}",
    "escape": r"\\[xu][0-9A-Fa-f]{2}",
    "url": r"%[0-9A-Fa-f]{2}",
    "markup": r"<[A-Za-z/!?]|&#?[A-Za-z0-9]{1,10};",
    "comment": r"<!--",
    "informal": INFORMAL_PRECHECK,
}
# Heuristics that only run when their pre-check fired (the rest do their own cheap checks).
HEURISTIC_PRECHECK: dict[str, str] = {"html_comments": "comment"}
DECODING_VIAS = frozenset({"base64", "hex", "escapes", "url-encoding", "unicode-tags", "variation-selectors"})
MAX_FINDINGS_PER_RULE = 16
MAX_OCCURRENCES_PER_SIGNAL = 64

_NAME_SEPARATORS = re.compile(r"[_\-.]")
_EMPTY_SCORE = score_findings(())

log = logging.getLogger("bastion.detect")


@dataclass(frozen=True, slots=True)
class ScanContext:
    """What a scan knows beyond the text: the fleet it belongs to (for shadowing checks)."""

    other_tools: frozenset[str] = frozenset()
    sibling_tools: frozenset[str] = frozenset()
    own_tool: str = ""  # the name of the tool being scanned (set by scan_tool)
    own_params: frozenset[str] = frozenset()  # its input parameter names (set by scan_tool)
    read_only: bool = False  # it is annotated readOnlyHint: true (set by scan_tool)
    own_values: frozenset[str] = frozenset()  # the string enum values of its parameters (set by scan_tool)


NO_CONTEXT = ScanContext()


@dataclass(slots=True)
class _FieldScan:
    findings: list[Finding] = field(default_factory=list)


_SENTENCE_END = re.compile(r"(?<!\.)(?<!\be\.g)(?<!\bi\.e)\.(?![.\w])|\n")
"""Where a sentence stops for ``unless_*`` conditions: a full stop (not one of "...", not inside
"1.5" or "example.com", not "e.g." or "i.e.") or a line break."""
_SENTENCE_GAP = re.compile(r"[.!?][)\]\"']?\s+(?=[A-Z(\"'`])|\n[ \t]*\n")
"""Between the parts of a windowed combination: the end of one sentence and the start of the
next (a line break alone keeps a list item with its lead-in), or a blank line."""


def _excerpt(text: str, start: int, end: int, limit: int = 160) -> str:
    s = text[start:end]
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _scope_ok(rule: Rule, scope: str) -> bool:
    return rule.scope == "any" or rule.scope == scope


def _apart(text: str | None, a: Finding, b: Finding) -> bool:
    """Whether findings ``a`` and ``b`` of ``text`` (their field) cannot be one instruction: they
    overlap (the verb is a word of the target: "access" in "access token"), or a sentence ends
    between them."""
    if a.start < b.end and b.start < a.end:
        return True
    if text is None:
        return False
    lo, hi = (a.end, b.start) if a.end <= b.start else (b.end, a.start)
    # one character further: the capital that starts the next sentence may be ``b``'s first
    return lo < hi and _SENTENCE_GAP.search(text, lo, hi + 1) is not None


class Engine:
    """A compiled rule set. Thread-safe for scanning; build once, reuse."""

    def __init__(
        self,
        rules: RuleSet | None = None,
        *,
        backend: Backend | None = None,
        threshold: float = DEFAULT_THRESHOLD,
        models: Mapping[str, LexicalModel] | None = None,
        learned: bool = True,
    ) -> None:
        """``models`` replaces built-in lexical models by name (training and evaluation use it);
        ``learned=False`` leaves the learned tier out (the rule tier alone)."""
        self.rules = rules if rules is not None else load_rules()
        self.threshold = threshold
        # the conditions that excuse a match (not_after, unless_in_sentence, unless_before), compiled at load
        self._conditions: dict[tuple[str, str], re.Pattern[str]] = {
            (rule.id, key): re.compile(value)
            for rule in self.rules.rules
            for key in ("not_after", "unless_in_sentence", "unless_before")
            if (value := getattr(rule, key)) is not None
        }
        self._parameters_only = frozenset(r.id for r in self.rules.rules if r.parameters_only)
        specs: list[PatternSpec] = []
        owners: list[Rule | str] = []
        for rule in self.rules.pattern_rules():
            for p in rule.patterns:
                pre = check_pattern(p.prefilter) if p.prefilter else None
                specs.append(PatternSpec(check_pattern(p.pattern), rule.case_sensitive, prefilter=pre,
                                         limit=256 if rule.redact else MAX_FINDINGS_PER_RULE,
                                         lazy=rule.weak))
                owners.append(rule)
        for name, pre_pattern in PRECHECKS.items():
            specs.append(PatternSpec(pre_pattern, False, spans=False))
            owners.append(name)
        self._owners = owners
        self._owner_tables: dict[tuple[str, str], list[Rule | str | None]] = {}
        self._heuristic_tables: dict[tuple[str, str, bool], list[tuple[Rule, Heuristic, str | None, bool]]] = {}
        self.matcher = MultiMatcher(specs, backend)
        self._heuristics: list[tuple[Rule, Heuristic]] = []
        for rule in self.rules.heuristic_rules():
            assert rule.heuristic is not None
            fn = HEURISTICS.get(rule.heuristic)
            if fn is None:
                raise ValueError(f"rule {rule.id}: unknown heuristic {rule.heuristic!r}")
            self._heuristics.append((rule, fn))
        self._combos = self.rules.combination_rules()
        self._models: list[tuple[Rule, LexicalModel]] = []
        for rule in self.rules.model_rules() if learned else ():
            assert rule.model is not None
            given = (models or {}).get(rule.model)
            self._models.append((rule, given if given is not None else load_model(rule.model)))
        self._combos_by_kind: dict[str, list[Rule]] = {}
        by_id = self.rules.by_id()
        self._decoded_rule = by_id.get("HC-010")
        self._default_rules = [r for r in self.rules.heuristic_rules() if r.heuristic == "risky_default"]

    @property
    def backend(self) -> str:
        """The matcher backend in use (``hyperscan``, ``re2`` or ``re``)."""
        return self.matcher.backend

    # ------------------------------------------------------------------ one string

    def _finding(
        self, rule: Rule, kind: Kind, field_name: str, original: str, start: int, end: int,
        *, via: str = "", evidence: str | None = None, detail: str = "",
    ) -> Finding:
        explanation = rule.explanation if not detail else f"{rule.explanation} ({detail})"
        if via:
            explanation = f"{explanation} [revealed by decoding: {via}]"
        return Finding(
            rule=rule.id,
            title=rule.title,
            category=rule.category,
            severity=rule.severity,
            confidence=rule.confidence_for(kind),
            explanation=explanation,
            field=field_name,
            start=start,
            end=end,
            evidence=evidence if evidence is not None else _excerpt(original, start, end),
            signals=rule.signals,
            via=via,
            scored=rule.scored,
            weak=rule.weak,
        )

    def _heuristics_for(
        self, kind: Kind, scope: str, plain: bool = False
    ) -> list[tuple[Rule, Heuristic, str | None, bool]]:
        """The heuristics that apply to ``kind`` and ``scope``: ``(rule, function, pre-check it
        needs or None, finds nothing without non-ASCII text)``; with ``plain`` (a text without
        non-ASCII or hidden characters) only those that can find something (cached)."""
        key = (kind, scope, plain)
        out = self._heuristic_tables.get(key)
        if out is None:
            out = [
                (rule, fn, HEURISTIC_PRECHECK.get(fn.__name__), rule.heuristic in NON_ASCII_ONLY)
                for rule, fn in self._heuristics
                if rule.applies(kind) and _scope_ok(rule, scope) and rule.heuristic not in PLACEHOLDERS
            ]
            if plain:
                out = [h for h in out if not h[3]]
            self._heuristic_tables[key] = out
        return out

    def _owners_for(self, kind: Kind, scope: str) -> list[Rule | str | None]:
        """Per pattern index: its pre-check name, its rule if the rule applies to ``kind`` and
        ``scope``, else None (cached per kind and scope)."""
        key = (kind, scope)
        table = self._owner_tables.get(key)
        if table is None:
            table = [
                o if isinstance(o, str) or (o.applies(kind) and _scope_ok(o, scope)) else None
                for o in self._owners
            ]
            self._owner_tables[key] = table
        return table

    def _pattern_pass(
        self, text: str, data: bytes, kind: Kind, scope: str, flags: set[str] | None,
        lazy: dict[str, tuple[Rule, list[tuple[int, list[Window] | None]]]] | None = None,
        present: set[int] | None = None,
    ) -> list[tuple[Rule, int, int]]:
        """Matches of the rules that apply, over ``text`` (``data`` is its projection); the
        indices of all patterns that occur go to ``present`` if given."""
        matches, windows = self.matcher.scan_data(data)
        if present is not None:
            present.update(idx for idx, _, _ in matches)
        return self._owned(text, matches, windows, kind, scope, flags, lazy)

    def _owned(
        self, text: str, matches: list[tuple[int, int, int]], windows: dict[int, list[Window]],
        kind: Kind, scope: str, flags: set[str] | None,
        lazy: dict[str, tuple[Rule, list[tuple[int, list[Window] | None]]]] | None,
    ) -> list[tuple[Rule, int, int]]:
        out: list[tuple[Rule, int, int]] = []
        owners = self._owners_for(kind, scope)
        for idx, s, e in matches:
            owner = owners[idx]
            if owner is None:
                continue
            if isinstance(owner, str):
                if flags is not None:
                    flags.add(owner)
                continue
            if owner.validator is not None and s >= 0 and not VALIDATORS[owner.validator](text[s:e]):
                continue
            if s > 0 and owner.not_after is not None and self._negated(owner, text, s):
                continue
            if s >= 0 and owner.unless_in_sentence is not None and self._excused(owner, text, s, e):
                continue
            if s > 0 and owner.unless_before is not None and self._refused_before(owner, text, s):
                continue
            if s < 0:
                if lazy is not None:
                    lazy.setdefault(owner.id, (owner, []))[1].append((idx, windows.get(idx)))
                continue
            out.append((owner, s, e))
        return out

    def _markup_pass(
        self, view: View, kind: Kind, scope: str, primary_rules: set[str], present: set[int],
    ) -> list[tuple[Rule, int, int]]:
        """What ``_pattern_pass`` over the markup-stripped view gives for the rules without a
        finding in the primary view (the only ones the view may add). A pattern without any match
        in the primary text can only match the view where tags were removed or entities decoded:
        only the stretches around those places are scanned for it."""
        data = view.data if view.data is not None else project(view.text)
        owners = self._owners_for(kind, scope)
        specs = self.matcher.specs
        near: list[int] = []
        full: list[int] = []
        for idx, owner in enumerate(owners):
            if owner is None or isinstance(owner, str) or specs[idx].lazy or owner.id in primary_rules:
                continue
            (full if idx in present else near).append(idx)
        matches = None
        if view.offsets is not None:
            matches = self.matcher.scan_near(data, view.offsets.boundaries(), near, full)
        if matches is None:
            return self._pattern_pass(view.text, data, kind, scope, None)
        return self._owned(view.text, matches, {}, kind, scope, None, None)

    def scan_string(
        self,
        text: str,
        kind: Kind,
        *,
        field: str = "",
        scope: str = "text",
        context: ScanContext = NO_CONTEXT,
        spelled_out: bool = False,
    ) -> list[Finding]:
        """All findings (weak ones included) for one string. ``scope`` is ``text`` or ``name``.
        ``spelled_out``: the string is already :func:`informal_view`'s (not expanded again)."""
        out: list[Finding] = []
        per_rule: dict[str, int] = {}
        own_name = field == "name"  # the tool's own name, not one of its parameters
        parameters_only = self._parameters_only

        def add(f: Finding) -> None:
            if own_name and f.rule in parameters_only:
                return
            n = per_rule.get(f.rule, 0)
            if n < MAX_FINDINGS_PER_RULE:
                per_rule[f.rule] = n + 1
                out.append(f)

        norm = normalize(text)
        data = norm.projection()
        flags: set[str] = set()
        lazy: dict[str, tuple[Rule, list[tuple[int, list[Window] | None]]]] = {}
        present: set[int] = set()
        for rule, s, e in self._pattern_pass(norm.text, data, kind, scope, flags, lazy, present):
            os_, oe = norm.to_original(s, e)
            add(self._finding(rule, kind, field, text, os_, oe))
        if scope == "name":
            # identifiers: also read "ignore_previous_instructions" as words
            spaced = _NAME_SEPARATORS.sub(" ", norm.text)
            if spaced != norm.text:
                for rule, s, e in self._pattern_pass(spaced, project(spaced), kind, "text", None):
                    os_, oe = norm.to_original(s, e)
                    add(self._finding(rule, kind, field, text, os_, oe))
        informal = "informal" in flags
        flags.discard("informal")
        if flags or norm.hidden:
            self._scan_views(norm, data, flags, kind, field, scope, out, add, present)
        ctx: Context | None = None
        plain = not norm.non_ascii and not norm.hidden
        for rule, fn, need, _ in self._heuristics_for(kind, scope, plain):
            if need is not None and need not in flags:
                continue
            if ctx is None:
                ctx = Context(norm, kind, scope, field, context.other_tools, context.sibling_tools,
                              context.own_tool, context.own_params, context.read_only, context.own_values)
            try:
                hits = fn(ctx)
            except Exception as exc:  # a check that cannot clear the text reports it: fail closed
                log.error("detection check %s failed on a text of %d characters", rule.heuristic, len(text),
                          exc_info=exc)
                add(self._finding(rule, kind, field, text, 0, len(text),
                                  detail=f"the check failed ({type(exc).__name__}); reported as found"))
                continue
            for hit in hits:
                if rule.unless_in_sentence is not None and self._excused(rule, text, hit.start, hit.end):
                    continue
                add(self._finding(rule, kind, field, text, hit.start, hit.end, detail=hit.detail))
        if lazy:
            self._expand_lazy(norm, data, lazy, kind, field, out, add)
        if informal and kind == "tool_description" and scope == "text" and not spelled_out:
            self._scan_spelled_out(norm, kind, field, context, out, add)
        return out

    def _scan_spelled_out(self, norm: Normalized, kind: Kind, field_name: str, context: ScanContext,
                          out: list[Finding], add: Callable[[Finding], None]) -> None:
        """Scan a definition string again with its chat-speak spelled out ("dont ask again", "cmds
        for u"); what only that reading finds is added, with spans in the original string. Tool
        definitions only: they are short, and terse hobby servers write this way."""
        view = informal_view(norm.text)
        if view is None:
            return
        expanded, offsets = view
        have = {f.rule for f in out}
        for f in self.scan_string(expanded, kind, field=field_name, context=context, spelled_out=True):
            if f.rule in have:
                continue
            have.add(f.rule)
            if f.start < 0:
                add(dataclasses.replace(f, via="spelled-out"))
                continue
            s, e = norm.to_original(*offsets.span(f.start, f.end))
            add(dataclasses.replace(f, start=s, end=e, evidence=_excerpt(norm.original, s, e), via="spelled-out",
                                    explanation=f"{f.explanation} [read with chat-speak spelled out]"))

    def _negated(self, rule: Rule, text: str, start: int) -> bool:
        """Whether ``rule.not_after`` matches the words just before ``start``."""
        pattern = self._conditions[(rule.id, "not_after")]
        return pattern.search(text, max(0, start - NOT_AFTER_REACH), start) is not None

    def _excused(self, rule: Rule, text: str, start: int, end: int) -> bool:
        """Whether ``rule.unless_in_sentence`` matches the match ``start:end`` with the rest of
        its sentence (read on their own, so ``^`` is the match's first character)."""
        pattern = self._conditions[(rule.id, "unless_in_sentence")]
        stop = min(len(text), end + UNLESS_REACH)
        m = _SENTENCE_END.search(text, end, stop)
        if m is not None:
            stop = m.start()
        return pattern.search(text[start:stop]) is not None

    def _refused_before(self, rule: Rule, text: str, start: int) -> bool:
        """Whether ``rule.unless_before`` matches the words of the sentence before ``start``
        (read on their own, so ``$`` is the match's first character)."""
        pattern = self._conditions[(rule.id, "unless_before")]
        begin = max(0, start - UNLESS_BEFORE_REACH)
        for m in _SENTENCE_END.finditer(text, begin, start):
            begin = m.end()
        return pattern.search(text[begin:start]) is not None

    def _expand_lazy(
        self, norm: Normalized, data: bytes, lazy: dict[str, tuple[Rule, list[tuple[int, list[Window] | None]]]],
        kind: Kind, field_name: str, out: list[Finding], add: Callable[[Finding], None],
    ) -> None:
        """Weak (lazy) rules only get spans when a windowed combination could use them here;
        otherwise they are recorded as present (span -1:-1) for the score."""
        have = {sig for f in out for sig in f.signals}
        for rule, _ in lazy.values():
            have.update(rule.signals)
        wanted: set[str] = set()
        for combo in self._combos:
            if combo.window is not None and combo.applies(kind) and have.issuperset(combo.all_of):
                wanted.update(combo.all_of)
        for rule, indices in lazy.values():
            if wanted.intersection(rule.signals):
                for idx, windows in indices:
                    for s, e in self.matcher.spans(idx, norm.text, windows, data):
                        if s > 0 and rule.not_after is not None and self._negated(rule, norm.text, s):
                            continue
                        if rule.unless_in_sentence is not None and self._excused(rule, norm.text, s, e):
                            continue
                        os_, oe = norm.to_original(s, e)
                        add(self._finding(rule, kind, field_name, norm.original, os_, oe))
            else:
                add(self._finding(rule, kind, field_name, norm.original, -1, -1, evidence=""))

    def _scan_views(
        self, norm: Normalized, data: bytes, flags: set[str], kind: Kind, field_name: str, scope: str,
        out: list[Finding], add: Callable[[Finding], None], present: set[int],
    ) -> None:
        seen = {(f.rule, f.start, f.end) for f in out}
        primary_rules = {f.rule for f in out}
        revealed: list[tuple[int, int, str]] = []
        views = derived_views(norm, frozenset(flags), data)
        # the decoded views (all but the markup view) in one pass when there are several
        vnorms = [normalize(v.text) for v in views if v.via != "markup"]
        batch = self.matcher.scan_spans_many([n.projection() for n in vnorms]) if len(vnorms) > 1 else None
        k = 0
        for view in views:
            # the markup view is cut from the normalised text already
            if view.via == "markup":
                vnorm = Normalized(view.text, view.text, None)
                matches = self._markup_pass(view, kind, scope, primary_rules, present)
            else:
                vnorm = vnorms[k]
                if batch is not None:
                    matches = self._owned(vnorm.text, batch[k], {}, kind, scope, None, None)
                else:
                    matches = self._pattern_pass(vnorm.text, vnorm.projection(), kind, scope, None)
                k += 1
            for rule, s, e in matches:
                vs, ve = vnorm.to_original(s, e)
                os_, oe = view.to_original(vs, ve)
                if (rule.id, os_, oe) in seen or (view.via == "markup" and rule.id in primary_rules):
                    continue
                seen.add((rule.id, os_, oe))
                add(self._finding(rule, kind, field_name, norm.original, os_, oe, via=view.via,
                                  evidence=_excerpt(view.text, vs, ve)))
                if view.via in DECODING_VIAS and rule.scored and not rule.weak:
                    revealed.append((os_, oe, view.via))
        if revealed and self._decoded_rule is not None and self._decoded_rule.applies(kind):
            s, e, via = revealed[0]
            add(self._finding(self._decoded_rule, kind, field_name, norm.original, s, e,
                              detail=f"{len(revealed)} finding(s) in {via}-decoded text"))

    # ------------------------------------------------------------------ items

    def _combine(self, findings: list[Finding], kind: Kind, texts: Mapping[str, str]) -> list[Finding]:
        """Apply combination rules in file order; each may build on the signals of earlier ones.
        ``texts`` are the item's strings by field (windowed parts must share a sentence)."""
        occ: dict[str, list[Finding]] = {}
        for f in findings:
            if f.start < 0:
                continue  # present, without a span
            for sig in f.signals:
                lst = occ.setdefault(sig, [])
                if len(lst) < MAX_OCCURRENCES_PER_SIGNAL:
                    lst.append(f)
        added: list[Finding] = []
        combos = self._combos_by_kind.get(kind)
        if combos is None:
            combos = self._combos_by_kind[kind] = [r for r in self._combos if r.applies(kind)]
        for rule in combos:
            if not all(s in occ for s in rule.all_of):
                continue
            match = self._combo_match(rule, occ, texts)
            if match is None:
                continue
            first, span_start, span_end, evidence = match
            f = Finding(
                rule=rule.id, title=rule.title, category=rule.category, severity=rule.severity,
                confidence=rule.confidence_for(kind), explanation=rule.explanation,
                field=first.field, start=span_start, end=span_end, evidence=evidence,
                signals=rule.signals, scored=rule.scored, weak=rule.weak,
            )
            added.append(f)
            for sig in rule.signals:
                occ.setdefault(sig, []).append(f)
        return added

    @staticmethod
    def _combo_match(
        rule: Rule, occ: dict[str, list[Finding]], texts: Mapping[str, str]
    ) -> tuple[Finding, int, int, str] | None:
        head, *rest = rule.all_of
        for a in occ[head]:
            parts = [a]
            for sig in rest:
                found = None
                for b in occ[sig]:
                    if rule.window is None:
                        found = b
                        break
                    if rule.ordered and b.start < parts[-1].end:
                        continue  # the signals must come in the order of all_of
                    if (b.field == a.field and max(0, b.start - a.end, a.start - b.end) <= rule.window
                            and not _apart(texts.get(a.field), a, b)):
                        found = b
                        break
                if found is None:
                    break
                parts.append(found)
            else:
                same = [p for p in parts if p.field == a.field]
                start = min(p.start for p in same)
                end = max(p.end for p in same)
                evidence = " … ".join(dict.fromkeys(p.evidence for p in parts))
                return a, start, end, evidence[:240]
        return None

    def report(
        self, name: str, kind: Kind, findings: list[Finding], texts: Mapping[str, str] | None = None
    ) -> ItemReport:
        """Combine, score and package the findings of one item; ``texts`` are its strings by field
        (without them, windowed combinations do not check that their parts share a sentence)."""
        if not findings:
            # combination rules need signals, so nothing to combine
            score = _EMPTY_SCORE
            return ItemReport(name=name, kind=kind, score=score,
                              verdict="malicious" if score >= self.threshold else "benign",
                              findings=(), threshold=self.threshold)
        findings = findings + self._combine(findings, kind, texts or {})
        score = score_findings(findings)
        visible = tuple(
            sorted((f for f in findings if not f.weak), key=lambda f: (-f.confidence, f.field, f.start))
        )
        verdict: Verdict = "malicious" if score >= self.threshold else "benign"
        return ItemReport(name=name, kind=kind, score=score, verdict=verdict, findings=visible,
                          threshold=self.threshold)

    def scan_text(
        self, text: str, kind: Kind = "tool_description", *, name: str = "", field: str = "",
        scope: str = "text", context: ScanContext = NO_CONTEXT,
    ) -> ItemReport:
        """Scan one text. ``kind`` selects the rules (``tool_result`` for what tools return)."""
        findings = self.scan_string(text, kind, field=field, scope=scope, context=context)
        if self._models:
            findings.extend(self.model_findings(((field, text),), kind))
        return self.report(name, kind, findings, {field: text})

    def scan_fields(
        self, fields: Iterable[tuple[str, str, str]], kind: Kind, *, name: str = "",
        context: ScanContext = NO_CONTEXT, extra: Iterable[Finding] = (),
    ) -> ItemReport:
        """Scan ``(field path, text, scope)`` triples as one item (with ``extra`` findings made
        from the item's structure)."""
        findings: list[Finding] = list(extra)
        texts: list[tuple[str, str]] = []
        by_field: dict[str, str] = {}
        for path, text, scope in fields:
            if text:
                by_field[path] = text
                findings.extend(self.scan_string(text, kind, field=path, scope=scope, context=context))
                if self._models and not _structural(path):
                    texts.append((path, text))
        if texts:
            findings.extend(self.model_findings(texts, kind))
        return self.report(name, kind, findings, by_field)

    def model_findings(self, texts: Sequence[tuple[str, str]], kind: Kind) -> list[Finding]:
        """Findings of the learned lexical models on one item: ``(field path, text)`` pairs read
        together. A model that fails reports a finding at its top band (fail closed)."""
        out: list[Finding] = []
        models = [(rule, model) for rule, model in self._models if rule.applies(kind)]
        if not models:
            return out
        joined = "\n".join(t for _, t in texts)
        field_name = next((p for p, _ in texts if p == "description"), texts[0][0])
        for rule, model in models:
            try:
                result = model.evaluate(joined)
            except Exception as exc:
                log.error("lexical model %s failed on a text of %d characters", model.name, len(joined),
                          exc_info=exc)
                # not the model's judgement, so not capped by the rule: a crash quarantines
                confidence = max(max((b.confidence for b in model.bands), default=0.0), self.threshold)
                detail, evidence = f"the model failed: {type(exc).__name__}; reported as found", ""
                out.append(self._model_finding(rule, confidence, field_name, detail, evidence))
                continue
            if not result.confidence:
                continue
            words = ", ".join(f"'{f}'" for f, _ in result.top)
            out.append(self._model_finding(rule, min(result.confidence, rule.confidence), field_name,
                                           f"model score {result.score:.2f}",
                                           f"strongest words: {words}" if words else ""))
        return out

    @staticmethod
    def _model_finding(rule: Rule, confidence: float, field_name: str, detail: str, evidence: str) -> Finding:
        return Finding(
            rule=rule.id, title=rule.title, category=rule.category, severity=rule.severity,
            confidence=confidence, explanation=f"{rule.explanation} ({detail})",
            field=field_name, start=-1, end=-1, evidence=evidence,
            signals=rule.signals, scored=rule.scored, weak=rule.weak,
        )

    def scan_tool(self, tool: Mapping[str, object], *, context: ScanContext = NO_CONTEXT) -> ItemReport:
        """Scan every string of a tool definition: name, title, description, annotations and the
        input/output schemas recursively (property names, descriptions, defaults, enums,
        examples, any unknown keys)."""
        name = tool.get("name")
        name = name if isinstance(name, str) else ""
        schema = tool.get("inputSchema")
        props = schema.get("properties") if isinstance(schema, Mapping) else None
        params = frozenset(k for k in props if isinstance(k, str)) if isinstance(props, Mapping) else frozenset()
        notes = tool.get("annotations")
        read_only = isinstance(notes, Mapping) and notes.get("readOnlyHint") is True
        values = _own_values(schema)
        if name or params or read_only or values:
            context = dataclasses.replace(context, own_tool=name, own_params=params, read_only=read_only,
                                          own_values=values)
        found = [
            self._finding(rule, "tool_description", path, "", -1, -1, evidence="", detail=why)
            for path, why in (_conduct_checks.risky_defaults(tool) if params and self._default_rules else ())
            for rule in self._default_rules if rule.applies("tool_description")
        ]
        return self.scan_fields(definition_strings(tool), "tool_description", name=name, context=context,
                                extra=found)

    def scan_definition(self, item: Mapping[str, object], *, context: ScanContext = NO_CONTEXT) -> ItemReport:
        """Scan a prompt or resource definition (every string, like :meth:`scan_tool`)."""
        name = item.get("name", item.get("uri", ""))
        return self.scan_fields(definition_strings(item), "tool_description",
                                name=name if isinstance(name, str) else "", context=context)

    def scan_arguments(self, arguments: object, *, tool: str = "") -> ItemReport:
        """Scan the argument values (and keys) of a ``tools/call`` request."""
        fields = list(_walk(arguments, "arguments", key_scope="name"))
        return self.scan_fields(fields, "arguments", name=tool)

    def scan_server(
        self,
        tools: Sequence[Mapping[str, object]] = (),
        prompts: Sequence[Mapping[str, object]] = (),
        resources: Sequence[Mapping[str, object]] = (),
        instructions: str | None = None,
        *,
        other_tools: Iterable[str] = (),
    ) -> ServerReport:
        """Scan everything one server exposes. ``other_tools`` are tool names of the *other*
        servers in the same client configuration; with them the engine also reports references
        to other servers' tools (shadowing) and look-alike tool names."""
        siblings = frozenset(n for t in tools if isinstance(n := t.get("name"), str))
        ctx = ScanContext(other_tools=frozenset(other_tools) - siblings, sibling_tools=siblings)
        report = ServerReport()
        for t in tools:
            r = self.scan_tool(t, context=ctx)
            report.tools[r.name or f"#{len(report.tools)}"] = r
        for p in prompts:
            r = self.scan_definition(p, context=ctx)
            report.prompts[r.name or f"#{len(report.prompts)}"] = r
        for res in resources:
            r = self.scan_definition(res, context=ctx)
            report.resources[r.name or f"#{len(report.resources)}"] = r
        if instructions:
            report = ServerReport(
                report.tools, report.prompts, report.resources,
                self.scan_text(instructions, "tool_description", name="instructions", field="instructions",
                               context=ctx),
            )
        return report

    def scan_fleet(self, servers: Mapping[str, Mapping[str, object]]) -> dict[str, ServerReport]:
        """Scan several servers together (``{server: {"tools": [...], "prompts": [...],
        "resources": [...], "instructions": "..."}}``), so cross-server shadowing is visible."""
        names: dict[str, frozenset[str]] = {}
        for sname, inv in servers.items():
            tools = inv.get("tools") or []
            assert isinstance(tools, list)
            names[sname] = frozenset(t["name"] for t in tools if isinstance(t, dict) and isinstance(t.get("name"), str))
        out: dict[str, ServerReport] = {}
        for sname, inv in servers.items():
            others = frozenset().union(*(v for k, v in names.items() if k != sname))
            instr = inv.get("instructions")
            out[sname] = self.scan_server(
                _list(inv.get("tools")), _list(inv.get("prompts")), _list(inv.get("resources")),
                instr if isinstance(instr, str) else None, other_tools=others,
            )
        return out

    # ------------------------------------------------------------------ redaction

    def find_sensitive(
        self, text: str, kind: Kind = "tool_result", categories: Sequence[str] = ("secrets", "pii")
    ) -> list[Finding]:
        """Findings of the redaction rules (secrets, PII) in ``text``, spans in ``text``."""
        cats = set(categories)
        rules = {r.id for r in self.rules.rules if r.redact and r.category in cats}
        return [f for f in self.scan_string(text, kind) if f.rule in rules and not f.via]

    def redact(
        self, text: str, kind: Kind = "tool_result", categories: Sequence[str] = ("secrets", "pii")
    ) -> tuple[str, list[Finding]]:
        """``text`` with every secret/PII span replaced by ``[REDACTED:<rule>]``."""
        found = self.find_sensitive(text, kind, categories)
        if not found:
            return text, []
        spans = sorted(((f.start, f.end, f.rule) for f in found), key=lambda x: (x[0], -x[1]))
        merged: list[tuple[int, int, str]] = []
        for s, e, rule in spans:
            if merged and s < merged[-1][1]:
                ps, pe, pr = merged[-1]
                merged[-1] = (ps, max(pe, e), pr)
            else:
                merged.append((s, e, rule))
        parts: list[str] = []
        pos = 0
        for s, e, rule in merged:
            parts.append(text[pos:s])
            parts.append(f"[REDACTED:{rule}]")
            pos = e
        parts.append(text[pos:])
        return "".join(parts), found


# ---------------------------------------------------------------------- walking definitions

SCHEMA_KEYWORDS = frozenset((
    "type", "format", "$schema", "$ref", "$id", "$anchor", "$defs", "definitions", "properties",
    "patternProperties", "additionalProperties", "items", "prefixItems", "required", "enum", "const",
    "default", "examples", "example", "description", "title", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "minLength", "maxLength", "minItems", "maxItems", "uniqueItems", "pattern",
    "anyOf", "oneOf", "allOf", "not", "if", "then", "else", "contentMediaType", "contentEncoding",
    "readOnly", "writeOnly", "deprecated", "nullable", "multipleOf", "minProperties", "maxProperties",
    "dependentRequired", "dependentSchemas", "propertyNames", "unevaluatedProperties", "unevaluatedItems",
    "contains", "$comment", "name", "inputSchema", "outputSchema", "annotations", "arguments", "uri",
    "mimeType", "icons", "_meta", "size", "readOnlyHint", "destructiveHint", "idempotentHint",
    "openWorldHint", "src", "sizes",
))
_NAME_MAPS = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"})


def _list(v: object) -> list[Mapping[str, object]]:
    return [x for x in v if isinstance(x, Mapping)] if isinstance(v, list) else []


def _walk(node: object, path: str, key_scope: str = "name", names_here: bool = False) -> Iterator[tuple[str, str, str]]:
    if isinstance(node, str):
        yield path, node, "text"
    elif isinstance(node, Mapping):
        for k, v in node.items():
            key = str(k)
            sub = f"{path}.{key}" if path else key
            if names_here:
                yield sub, key, "name"
                yield from _walk(v, sub, key_scope)
                continue
            if key not in SCHEMA_KEYWORDS:
                yield sub, key, key_scope
            if key == "required" and isinstance(v, list):
                continue  # property names, already scanned as keys
            yield from _walk(v, sub, key_scope, names_here=key in _NAME_MAPS and isinstance(v, Mapping))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, f"{path}[{i}]", key_scope)


STRUCTURAL_KEYWORDS = frozenset({
    "type", "$schema", "$ref", "$id", "$anchor", "$dynamicRef", "$dynamicAnchor", "format", "const",
    "pattern", "contentEncoding", "contentMediaType",
})
"""Schema keywords whose values are machinery, not prose: the learned tier does not read them
(a ``$schema`` URL or ``"type": "string"`` says nothing about intent)."""


def _structural(path: str) -> bool:
    return path.rsplit(".", 1)[-1].split("[", 1)[0] in STRUCTURAL_KEYWORDS


def model_text(fields: Iterable[tuple[str, str, str]]) -> str:
    """What the learned tier reads of an item: its strings joined, structural schema values left
    out (the training script uses this too)."""
    return "\n".join(text for path, text, _ in fields if text and not _structural(path))


def definition_strings(item: Mapping[str, object]) -> list[tuple[str, str, str]]:
    """Every string of a tool/prompt/resource definition as ``(field path, text, scope)``.

    The top-level ``name`` and prompt argument names are identifiers (scope ``name``); all other
    values are text. Field paths look like ``inputSchema.properties.note.description``.
    """
    out: list[tuple[str, str, str]] = []
    for path, text, scope in _walk(item, ""):
        if path == "name" or (path.startswith("arguments[") and path.endswith("].name")):
            scope = "name"
        out.append((path, text, scope))
    return out


def _own_values(schema: object, depth: int = 0) -> frozenset[str]:
    """The identifiers a tool's input schema defines for itself: string enum values and nested
    property names (method names of a consolidated tool, fields of an object argument), so that a
    description mentioning them is not read as naming another tool. Bounded in depth."""
    out: set[str] = set()
    if depth > 8 or not isinstance(schema, Mapping):
        return frozenset()
    enum = schema.get("enum")
    if isinstance(enum, list):
        out.update(v for v in enum if isinstance(v, str))
    props = schema.get("properties")
    if isinstance(props, Mapping):
        for k, v in props.items():
            if depth and isinstance(k, str):
                out.add(k)
            out |= _own_values(v, depth + 1)
    for key in ("items", "additionalProperties"):
        out |= _own_values(schema.get(key), depth + 1)
    for key in ("anyOf", "oneOf", "allOf"):
        alts = schema.get(key)
        if isinstance(alts, list):
            for alt in alts[:32]:
                out |= _own_values(alt, depth + 1)
    return frozenset(out)


@functools.cache
def default_engine() -> Engine:
    """The process-wide engine with the built-in rules (compiled on first use)."""
    return Engine()
