"""The official MCP conformance suite's server scenarios, direct and through the gateway.

Our conformance fixture (``tests/fixtures/servers/conformance_server.py``, both protocol eras) runs over
Streamable HTTP on a loopback port. For each suite run -- 2025-11-25 with conformance 0.1.16, and
2025-11-25 and 2026-07-28 with 0.2.0-alpha.11 -- every server scenario runs against the fixture
directly, then through ``bastion gateway`` in front of the same fixture, once as a stdio child upstream
and once as a Streamable HTTP upstream (one upstream, so names are not prefixed). The gateway must not
break anything: every scenario that passes direct must pass through it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _conformance_helpers import (
    SUITE_RUNS,
    Result,
    SuiteRun,
    conformance_server_http,
    degradations,
    node_problem,
    package_problem,
    regressions,
    run_suite,
    stdio_upstream,
)

from bastion.testing.procs import run_gateway

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif((why := node_problem()) is not None, reason=why or ""),
]


@pytest.fixture(scope="module")
def fixture_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with conformance_server_http(tmp_path_factory.mktemp("conformance") / "server.log") as url:
        yield url


def _gateway_config(upstream: dict[str, Any]) -> dict[str, Any]:
    return {"upstreams": {"conf": upstream}, "audit": {"path": None}}


def _run_via_gateway(run: SuiteRun, upstream: dict[str, Any], out_dir: Path, where: str) -> Result:
    with run_gateway(_gateway_config(upstream), timeout=60) as gw:
        result = run_suite(run, gw.url, out_dir, where)
        if result.failed:
            result.output += "\n--- gateway stderr ---\n" + "\n".join(gw.stderr_lines[-60:])
        return result


@pytest.mark.parametrize("run", SUITE_RUNS, ids=lambda r: f"{r.label}-{r.version}")
def test_conformance_direct_and_via_gateway(run: SuiteRun, fixture_url: str, tmp_path: Path) -> None:
    if (why := package_problem(run)) is not None:
        pytest.skip(why)

    direct = run_suite(run, fixture_url, tmp_path / "direct", "direct")
    assert direct.scenarios, f"the suite produced no results against the fixture:\n{direct.tail()}"
    via = [
        _run_via_gateway(run, stdio_upstream(), tmp_path / "via-stdio", "via gateway(stdio upstream)"),
        _run_via_gateway(run, {"url": fixture_url}, tmp_path / "via-http", "via gateway(http upstream)"),
    ]

    print(
        f"\nconformance {run.label} [{run.version}] direct: {direct.counts()}; "
        + "; ".join(f"{r.where}: {r.counts()}" for r in via)
    )
    if direct.failed:
        print("fixture scenarios failing direct (not held against the gateway): " + ", ".join(direct.failed))
    for line in [d for r in via for d in degradations(direct, r)]:
        print(f"  weaker than direct (not failed): {line}")

    broken = [line for r in via for line in regressions(direct, r)]
    outputs = "\n\n".join(f"=== {r.where} ===\n{r.summary()}" for r in via if r.failed)
    assert not broken, (
        f"{len(broken)} scenario run(s) pass direct but fail through the gateway ({run}):\n  "
        + "\n  ".join(broken)
        + f"\n\n{outputs}"
    )
