"""The scan's result: findings, each tied to a server and an item, with a stable JSON shape."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SEVERITIES = ("info", "low", "medium", "high", "critical")
RANK = {s: i for i, s in enumerate(SEVERITIES)}


@dataclass(frozen=True)
class ScanFinding:
    """One thing wrong (or worth knowing) about a configured server.

    ``item_kind`` is ``tool``, ``prompt``, ``resource``, ``instructions``, ``config`` (the client
    config entry: package, flags, env) or ``server`` (reachability, identity, pins)."""

    server: str
    client: str
    source: str
    item_kind: str
    item: str
    rule: str
    title: str
    severity: str
    category: str
    explanation: str
    confidence: float = 1.0
    field: str = ""
    evidence: str = ""
    start: int = 0
    end: int = 0
    diff: str = ""

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["confidence"] = round(self.confidence, 3)
        return {k: v for k, v in out.items() if v not in ("", None) or k in ("item", "field")}


@dataclass
class ServerResult:
    name: str
    client: str
    source: str
    target: str
    """What runs it: the command line or the URL."""
    status: str
    """``ok``, ``error`` (could not be enumerated) or ``skipped`` (``--no-connect``)."""
    error: str | None = None
    era: str | None = None
    protocol_version: str | None = None
    server_info: dict[str, Any] = field(default_factory=dict)
    sandboxed: bool | None = None
    counts: dict[str, int] = field(default_factory=dict)
    verdict: str = "benign"
    findings: list[ScanFinding] = field(default_factory=list)

    @property
    def worst(self) -> str:
        return max((f.severity for f in self.findings), key=lambda s: RANK[s], default="info")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "client": self.client,
            "source": self.source,
            "target": self.target,
            "status": self.status,
            "error": self.error,
            "era": self.era,
            "protocolVersion": self.protocol_version,
            "serverInfo": self.server_info,
            "sandboxed": self.sandboxed,
            "counts": self.counts,
            "verdict": self.verdict,
            "findings": [f.to_dict() for f in sorted(self.findings, key=lambda f: -RANK[f.severity])],
        }


@dataclass
class ScanResult:
    servers: list[ServerResult] = field(default_factory=list)
    configs: list[dict[str, Any]] = field(default_factory=list)
    """The config files read: ``{client, path, servers, error}``."""
    lockfile: str | None = None

    def findings(self) -> list[ScanFinding]:
        return [f for s in self.servers for f in s.findings]

    def worst(self) -> str | None:
        fs = self.findings()
        return max((f.severity for f in fs), key=lambda s: RANK[s]) if fs else None

    def to_dict(self) -> dict[str, Any]:
        counts = {s: 0 for s in SEVERITIES}
        for f in self.findings():
            counts[f.severity] += 1
        return {
            "schema": "bastion-scan/1",
            "configs": self.configs,
            "lockfile": self.lockfile,
            "summary": {"servers": len(self.servers), "findings": counts,
                        "malicious_servers": sum(1 for s in self.servers if s.verdict == "malicious")},
            "servers": [s.to_dict() for s in self.servers],
        }
