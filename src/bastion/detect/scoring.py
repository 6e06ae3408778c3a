"""From findings to a score and a verdict.

The score is a noisy-OR of the confidences of the distinct rules that fired: two independent
medium signals (0.35 each) make 0.58, one strong signal (0.65) is enough alone. Two things keep
real-world servers with forceful wording out of the ``malicious`` bucket:

- *weak* rules (imperative wording, mentions of passwords or data-access verbs) pool their
  contribution and the pool is capped at :data:`WEAK_CAP`, so no amount of "you must … always …"
  reaches the threshold on its own; they matter through combination rules;
- a rule counts once per item however often it matches.

Rules with ``scored: false`` (secrets, PII) never move the score: a tool result that contains an
e-mail address is not an attack.
"""

from __future__ import annotations

from collections.abc import Iterable

from bastion.detect.models import Finding

WEAK_CAP = 0.1


def score_findings(findings: Iterable[Finding]) -> float:
    """The item score in [0, 1]."""
    strongest: dict[str, float] = {}
    weak_keep = 1.0
    weak_seen: set[str] = set()
    for f in findings:
        if not f.scored:
            continue
        if f.weak:
            if f.rule not in weak_seen:
                weak_seen.add(f.rule)
                weak_keep *= 1.0 - f.confidence
            continue
        if f.confidence > strongest.get(f.rule, 0.0):
            strongest[f.rule] = f.confidence
    keep = 1.0 - min(WEAK_CAP, 1.0 - weak_keep)
    for c in strongest.values():
        keep *= 1.0 - c
    return 1.0 - keep
