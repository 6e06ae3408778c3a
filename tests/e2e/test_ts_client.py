"""The official TypeScript client (@modelcontextprotocol/client 2.4.0, Node 22) through the gateway.

Each scripted session (``node/ts_client.mjs``) runs once against a fresh gateway -- HTTP in the legacy,
pinned-2026 and auto modes of the client, WebSocket in both eras, and ``bastion wrap`` over stdio -- and
the tests below assert on the JSON lines it printed and on the gateway's audit log. The gateway's
upstreams: our era fixture server as a stdio child in the ``both`` and ``legacy`` eras, and
@modelcontextprotocol/server-everything over stdio.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from _ts_helpers import (
    Session,
    everything_upstream,
    node_problem,
    read_audit,
    run_driver,
    slow_records,
    wait_for_audit,
)

from bastion.protocol import errors
from bastion.testing.procs import bastion_cmd, run_gateway
from support import ERA_SERVER, era_upstream

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif((why := node_problem()) is not None, reason=why or ""),
]

GATEWAY_UPSTREAMS = ("era", "legacy", "everything")
FIXTURE_PREFIXES = ("era__", "legacy__")
"""Tool prefixes of the era fixture servers behind the gateway (upstream ``era`` speaks both eras,
``legacy`` only the handshake era)."""
FIXTURE_TOOLS = ("echo", "ask_name", "sql", "slow", "progress", "crash", "big", "poke")


@dataclass(frozen=True)
class Run:
    """One scripted session: how the client reaches the gateway and which era it asks for."""

    transport: str  # http | ws | stdio (bastion wrap)
    era: str  # legacy | 2026 | auto
    wrapped: str | None = None  # stdio only: the server behind `bastion wrap`: both | legacy | everything
    roots: bool = False  # the client declares roots and answers roots/list

    @property
    def prefixes(self) -> tuple[str, ...]:
        if self.transport != "stdio":
            return FIXTURE_PREFIXES
        return () if self.wrapped == "everything" else ("",)

    @property
    def everything_prefixes(self) -> tuple[str, ...]:
        if self.transport != "stdio":
            return ("everything__",)
        return ("",) if self.wrapped == "everything" else ()

    @property
    def unknown(self) -> tuple[str, ...]:
        # An unknown upstream prefix is refused by the gateway itself; a known prefix with a name the
        # upstream lacks is forwarded (the upstream answers).
        return ("nosuch__x", "era__nope") if self.transport != "stdio" else ("nope",)

    @property
    def expected_era(self) -> str:
        return "legacy" if self.era == "legacy" else "modern"  # the gateway is dual-era: auto -> modern


RUNS = {
    "http-legacy": Run("http", "legacy"),
    "http-2026": Run("http", "2026"),
    "http-auto": Run("http", "auto"),
    "ws-legacy": Run("ws", "legacy"),
    "ws-2026": Run("ws", "2026"),
    "wrap-legacy": Run("stdio", "legacy", "both"),
    "wrap-2026": Run("stdio", "2026", "both"),
    "wrap-2026-legacy-server": Run("stdio", "2026", "legacy"),
    # server-everything asks for roots 350 ms after it starts: behind `bastion wrap` that lands on whichever
    # call is in flight (see test_server_everything_roots_request), so this client answers roots.
    "wrap-everything-2026": Run("stdio", "2026", "everything", roots=True),
}
FIXTURE_RUNS = [k for k, r in RUNS.items() if r.prefixes]
EVERYTHING_RUNS = [k for k, r in RUNS.items() if r.everything_prefixes]




class Sessions:
    """Runs each scripted session once (lazily) and keeps what it printed."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self._done: dict[str, Session] = {}

    def __getitem__(self, key: str) -> Session:
        if key not in self._done:
            self._done[key] = self._run(RUNS[key], key)
        return self._done[key]

    def _run(self, run: Run, key: str) -> Session:
        kwargs: dict[str, Any] = {
            "fixtures": run.prefixes, "everything": run.everything_prefixes, "unknown": run.unknown,
            "roots": run.roots,
        }
        expected_slow = len(run.prefixes)
        if run.transport == "stdio":
            audit = self.tmp / f"{key}.audit.jsonl"
            if run.wrapped == "everything":
                # its bin starts with `#!/usr/bin/env node`: Node 22 first on PATH, as in the gateway config
                up = everything_upstream()
                inner = ["env", f"PATH={up['env']['PATH']}", up["command"], *up["args"]]
            else:
                inner = [sys.executable, str(ERA_SERVER), "stdio", str(run.wrapped)]
            command = [*bastion_cmd(), "wrap", "--audit", str(audit), "--", *inner]
            session = run_driver("stdio", run.era, command=command, **kwargs)
            session.audit = wait_for_audit(lambda: read_audit(audit),
                                           lambda recs: len(slow_records(recs)) >= expected_slow)
            return session
        config = {
            "upstreams": {
                "era": era_upstream("both"),
                "legacy": era_upstream("legacy"),
                "everything": everything_upstream(),
            },
        }
        with run_gateway(config) as gw:
            url = gw.url if run.transport == "http" else gw.ws_url
            session = run_driver(run.transport, run.era, url=url, **kwargs)
            assert gw.audit_path is not None
            audit_path = gw.audit_path
            session.audit = wait_for_audit(lambda: read_audit(audit_path),
                                           lambda recs: len(slow_records(recs)) >= expected_slow)
            session.stderr += "\n--- gateway stderr ---\n" + gw.stderr()[-3000:]
        return session


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Sessions:
    return Sessions(tmp_path_factory.mktemp("ts-client"))


def _text_ok(s: dict[str, Any]) -> str:
    assert s["ok"], s
    return str(s["text"])


# ---- connection and listings ----------------------------------------------------------------------


@pytest.mark.parametrize("key", list(RUNS))
def test_connects_in_the_requested_era_and_finishes(sessions: Sessions, key: str) -> None:
    s = sessions[key]
    connect = s.ok("connect")
    assert connect["era"] == RUNS[key].expected_era, s.describe()
    if connect["era"] == "modern":
        assert connect["version"] == "2026-07-28"
    else:
        assert connect["version"].startswith("20")
    assert s.steps[-1] == {"step": "done", "ok": True}, s.describe()
    assert s.returncode == 0, s.describe()


@pytest.mark.parametrize("key", list(RUNS))
def test_tools_are_listed_with_the_right_names(sessions: Sessions, key: str) -> None:
    s, run = sessions[key], RUNS[key]
    names = set(s.ok("list_tools")["names"])
    for prefix in run.prefixes:
        assert {prefix + t for t in FIXTURE_TOOLS} <= names, s.describe()
    for prefix in run.everything_prefixes:
        assert {prefix + "echo", prefix + "get-sum", prefix + "trigger-long-running-operation"} <= names
    if run.transport != "stdio":
        # several upstreams: every name is namespaced by its upstream
        assert all(n.split("__", 1)[0] in GATEWAY_UPSTREAMS and "__" in n for n in names), names
    else:
        assert not any("__" in n for n in names), names  # one wrapped upstream: names pass through


@pytest.mark.parametrize("key", FIXTURE_RUNS)
def test_prompts_and_resources(sessions: Sessions, key: str) -> None:
    s, run = sessions[key], RUNS[key]
    prompts = set(s.ok("list_prompts")["names"])
    for prefix in run.prefixes:
        assert prefix + "greet" in prompts
        assert _text_ok(s.one("prompt_get", prefix=prefix)) == "Say hello to Ada"
    assert "fixture://readme" in s.ok("list_resources")["uris"]


@pytest.mark.parametrize("key", FIXTURE_RUNS)
def test_fixture_resource_is_read(sessions: Sessions, key: str) -> None:
    read = sessions[key].ok("read_resource")
    assert (read["uri"], read["text"]) == ("fixture://readme", "fixture readme")


@pytest.mark.parametrize("key", EVERYTHING_RUNS)
def test_server_everything_resource_is_read(sessions: Sessions, key: str) -> None:
    read = sessions[key].ok("everything_read")
    assert read["contents"] >= 1 and read["first_uri"] == read["uri"]


# ---- calls ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", FIXTURE_RUNS)
def test_echo_is_answered(sessions: Sessions, key: str) -> None:
    s = sessions[key]
    for prefix in RUNS[key].prefixes:
        echo = s.ok("echo", prefix=prefix)
        assert (echo["text"], echo["isError"]) == ("echo: hi", False)


@pytest.mark.parametrize("key", FIXTURE_RUNS)
def test_fixture_progress_notifications_reach_the_client(sessions: Sessions, key: str) -> None:
    """The fixture's ``progress`` tool reports three steps back to back, then answers.

    ``wire_notifications`` counts what the client's transport delivered; ``notifications`` what reached
    the onprogress callback. The TS client (2.4.0) dispatches notifications in a microtask but responses
    synchronously, so progress read in the same chunk as the answer never reaches the callback: only
    the transport count is exact."""
    s = sessions[key]
    for prefix in RUNS[key].prefixes:
        step = s.ok("progress", prefix=prefix)
        assert step["text"] == "done"
        assert step["wire_notifications"] == 3, s.describe()
        assert 0 <= step["notifications"] <= step["wire_notifications"]
        assert step["progress"] == sorted(step["progress"])  # in order


@pytest.mark.parametrize("key", EVERYTHING_RUNS)
def test_server_everything_tools_and_progress(sessions: Sessions, key: str) -> None:
    s = sessions[key]
    for prefix in RUNS[key].everything_prefixes:
        assert _text_ok(s.one("everything_echo", prefix=prefix)) == "Echo: hello"
        assert _text_ok(s.one("everything_sum", prefix=prefix)) == "The sum of 2 and 3 is 5."
        # this tool sleeps between its steps, so the onprogress callback sees them
        progress = s.ok("everything_progress", prefix=prefix)
        assert progress["text"].startswith("Long running operation completed")
        assert progress["wire_notifications"] == 3, s.describe()
        assert progress["notifications"] >= 1, s.describe()
        assert progress["progress"] == sorted(progress["progress"])


@pytest.mark.parametrize("key", EVERYTHING_RUNS)
def test_server_everything_roots_request(sessions: Sessions, key: str) -> None:
    """Roots are per client, but the upstream session is shared: the gateway never declares the roots
    capability upstream, so server-everything never learns any client's roots (its get-roots-list tool,
    offered only to clients with roots, is not offered through the gateway), and no call fails for it."""
    s, run = sessions[key], RUNS[key]
    for prefix in run.everything_prefixes:
        step = s.one("everything_roots", prefix=prefix)
        assert "file:///tmp/bastion-e2e" not in str(step.get("text", "")), s.describe()
        if step["ok"]:
            assert step["roots_requests"] == 0, s.describe()


def test_roots_of_one_client_are_not_shown_to_another() -> None:
    """A client's roots (its file paths) never reach the upstream session shared with other clients."""
    config = {"upstreams": {"everything": everything_upstream()}}
    with run_gateway(config) as gw:
        first = run_driver("http", "legacy", url=gw.url, everything=[""], roots=True)
        second = run_driver("http", "legacy", url=gw.url, everything=[""])
    for session in (first, second):
        step = session.one("everything_roots", prefix="")
        assert "file:///tmp/bastion-e2e" not in str(step.get("text", "")), session.describe()


@pytest.mark.parametrize("key", FIXTURE_RUNS)
def test_elicitation_round_trip(sessions: Sessions, key: str) -> None:
    """ask_name asks the client for a name: an elicitation/create request in the handshake era, an
    input_required result the TS client fulfils through the same handler in 2026-07-28."""
    s = sessions[key]
    for prefix in RUNS[key].prefixes:
        step = s.ok("ask_name", prefix=prefix)
        assert step["text"].startswith("hello {'name': 'Ada'}"), s.describe()
        assert step["elicitations"] == 1, s.describe()


@pytest.mark.parametrize("key", list(RUNS))
def test_unknown_tool_is_an_error_with_a_readable_message(sessions: Sessions, key: str) -> None:
    s = sessions[key]
    for name in RUNS[key].unknown:
        step = s.one("unknown_tool", name=name)
        if RUNS[key].wrapped == "everything":
            # server-everything (TS SDK McpServer) answers an unknown tool with a tool-level error result,
            # and `bastion wrap` passes it through unchanged.
            assert step["ok"] and step["isError"] is True, step
            assert name in step["text"], step
            continue
        assert not step["ok"], f"calling {name} did not fail: {step}"
        err = step["error"]
        assert err["name"] == "ProtocolError", err  # a JSON-RPC error response, not a transport failure
        assert isinstance(err["code"], int) and err["code"] < 0, err
        assert name.split("__")[-1] in err["message"], err  # readable: names the tool
    if RUNS[key].transport != "stdio":
        # an unknown upstream prefix never reaches an upstream: the gateway answers UNKNOWN_TARGET
        assert s.one("unknown_tool", name="nosuch__x")["error"]["code"] == errors.UNKNOWN_TARGET


# ---- cancellation -------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", FIXTURE_RUNS)
def test_cancelled_call_rejects_and_the_connection_stays_usable(sessions: Sessions, key: str) -> None:
    s = sessions[key]
    for prefix in RUNS[key].prefixes:
        step = s.ok("cancel", prefix=prefix)
        assert step["outcome"] == "rejected", s.describe()
        assert step["cancelled"] is True, s.describe()
        assert step["after"] == "echo: after-cancel"


@pytest.mark.parametrize("key", FIXTURE_RUNS)
def test_gateway_records_the_cancellation(sessions: Sessions, key: str) -> None:
    """The gateway, not just the client, gave up the cancelled call: its audit record says so."""
    s = sessions[key]
    records = slow_records(s.audit)
    assert len(records) == len(RUNS[key].prefixes), f"audit records of slow: {records}\n{s.describe()}"
    assert {r["verdict"] for r in records} == {"cancelled"}, records
