"""Result types of the detection engine: findings, per-item reports and per-server reports.

A :class:`Finding` says *which rule* fired, *how sure* it is, *why* it matters and *where* the
evidence is: ``field`` names the string inside the scanned object (``description``,
``inputSchema.properties.note.description``, ``arguments.path`` …) and ``start``/``end`` are
character offsets into that original string, so a report can underline the exact text and a
guard can redact it.

An :class:`ItemReport` aggregates the findings of one item (a tool, a text, a tool result) into a
``score`` between 0 and 1 and a ``verdict`` (``malicious`` when the score reaches the threshold).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

Kind = Literal["tool_description", "tool_result", "arguments", "prompt"]
"""What a text is. ``tool_description`` covers everything a server advertises about itself
(tool, prompt and resource metadata, server instructions); ``tool_result`` is what a tool returned;
``arguments`` are the values a client sends in ``tools/call``; ``prompt`` is free user text."""

KINDS: tuple[Kind, ...] = get_args(Kind)

Severity = Literal["info", "low", "medium", "high", "critical"]
SEVERITIES: tuple[Severity, ...] = get_args(Severity)
SEVERITY_RANK: dict[str, int] = {name: i for i, name in enumerate(SEVERITIES)}

Verdict = Literal["malicious", "benign"]

DEFAULT_THRESHOLD = 0.5
"""Score at or above which an item is ``malicious``."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One piece of evidence found by a rule.

    ``confidence`` is how strongly this finding alone points to an attack (0..1); the item's score
    combines the confidences of all its findings. ``signals`` are the abstract facts the finding
    establishes (``hiding``, ``sensitive_target`` …), used by combination rules. ``via`` names the
    decoding step that revealed the text (``base64``, ``unicode-tags`` …) or is empty.
    """

    rule: str
    title: str
    category: str
    severity: Severity
    confidence: float
    explanation: str
    field: str
    start: int
    end: int
    evidence: str
    signals: tuple[str, ...] = ()
    via: str = ""
    scored: bool = True
    weak: bool = False

    def to_dict(self) -> dict[str, object]:
        """The JSON shape used by ``bastion detect`` and reports."""
        out: dict[str, object] = {
            "rule": self.rule,
            "title": self.title,
            "category": self.category,
            "severity": self.severity,
            "confidence": round(self.confidence, 3),
            "explanation": self.explanation,
            "field": self.field,
            "start": self.start,
            "end": self.end,
            "evidence": self.evidence,
        }
        if self.via:
            out["via"] = self.via
        return out


@dataclass(frozen=True, slots=True)
class ItemReport:
    """The verdict on one item (a tool definition, a text, a tool result, a set of arguments)."""

    name: str
    kind: Kind
    score: float
    verdict: Verdict
    findings: tuple[Finding, ...]
    threshold: float = DEFAULT_THRESHOLD

    @property
    def malicious(self) -> bool:
        return self.verdict == "malicious"

    def rules(self) -> set[str]:
        """Ids of the rules that fired."""
        return {f.rule for f in self.findings}

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "kind": self.kind,
            "verdict": self.verdict,
            "score": round(self.score, 3),
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass(frozen=True, slots=True)
class ServerReport:
    """The verdicts on everything one server (or a fleet of servers) exposes.

    Keys of ``tools``/``prompts``/``resources`` are the item names; ``instructions`` is the report
    on the server's ``instructions`` text, if it had any.
    """

    tools: dict[str, ItemReport] = field(default_factory=dict)
    prompts: dict[str, ItemReport] = field(default_factory=dict)
    resources: dict[str, ItemReport] = field(default_factory=dict)
    instructions: ItemReport | None = None

    def items(self) -> list[ItemReport]:
        out = [*self.tools.values(), *self.prompts.values(), *self.resources.values()]
        if self.instructions is not None:
            out.append(self.instructions)
        return out

    @property
    def malicious(self) -> bool:
        return any(r.malicious for r in self.items())

    def to_dict(self) -> dict[str, object]:
        return {
            "malicious": self.malicious,
            "tools": {k: v.to_dict() for k, v in self.tools.items()},
            "prompts": {k: v.to_dict() for k, v in self.prompts.items()},
            "resources": {k: v.to_dict() for k, v in self.resources.items()},
            "instructions": None if self.instructions is None else self.instructions.to_dict(),
        }
