from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest

from bastion.audit.log import AuditLog, args_digest, args_digest_bytes


def test_records_are_json_lines_without_none_fields(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    log = AuditLog(str(path))
    for i in range(100):
        log.record(method="tools/call", upstream="u", target=f"t{i}", verdict="allow", rule=None)
    log.close()
    rows = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert len(rows) == 100 and log.records == 100
    assert rows[0]["target"] == "t0" and rows[-1]["target"] == "t99"
    assert "rule" not in rows[0] and rows[0]["ts"].endswith("+00:00")


def test_appends_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    for n in range(2):
        log = AuditLog(str(path))
        log.record(method="m", n=n)
        log.close()
    assert [orjson.loads(x)["n"] for x in path.read_bytes().splitlines()] == [0, 1]


def test_disabled_log_writes_nothing(tmp_path: Path) -> None:
    log = AuditLog(None)
    log.record(method="m")
    log.close()
    assert log.records == 0


def test_args_digest_is_canonical_and_hides_values() -> None:
    a = args_digest({"b": 1, "a": "secret-value"})
    b = args_digest({"a": "secret-value", "b": 1})
    assert a == b and len(a or "") == 64 and "secret" not in (a or "")
    assert args_digest(None) is None
    assert args_digest({"a": 1}) != args_digest({"a": 2})


async def test_records_made_on_the_event_loop_are_batched_and_all_written(tmp_path: Path) -> None:
    import asyncio

    path = tmp_path / "a.jsonl"
    log = AuditLog(str(path))
    for i in range(500):
        log.record(method="m", n=i)
    await asyncio.sleep(0.2)  # a flush is scheduled on the loop
    log.record(method="m", n=500)
    log.close()  # writes what is still pending
    rows = [orjson.loads(line)["n"] for line in path.read_bytes().splitlines()]
    assert rows == list(range(501))


def test_timestamp_is_utc_iso8601_to_the_millisecond_and_first(tmp_path: Path) -> None:
    import datetime as dt
    import time

    path = tmp_path / "a.jsonl"
    log = AuditLog(str(path))
    before = dt.datetime.now(dt.UTC)
    log.record(method="m")
    time.sleep(0.002)  # a later record in (most likely) the same second reuses the cached prefix
    log.record(method="m2")
    log.record(nothing=None)  # every field dropped: still a valid line with its time
    after = dt.datetime.now(dt.UTC)
    log.close()
    lines = path.read_bytes().splitlines()
    assert all(line.startswith(b'{"ts":"') for line in lines)
    rows = [orjson.loads(line) for line in lines]
    assert rows[2] == {"ts": rows[2]["ts"]}
    for row in rows:
        ts = dt.datetime.fromisoformat(row["ts"])
        assert len(row["ts"]) == len("2026-01-01T00:00:00.000+00:00")
        assert before - dt.timedelta(milliseconds=1) <= ts <= after


def test_write_logs_a_prepared_record_as_given(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    log = AuditLog(str(path))
    log.write({"method": "tools/call", "verdict": "deny", "rule": "tool_filter.deny"})
    log.close()
    row = orjson.loads(path.read_bytes())
    assert list(row) == ["ts", "method", "verdict", "rule"] and row["rule"] == "tool_filter.deny"


def test_digest_bytes_match_the_digest() -> None:
    args = {"b": [1, {"x": "y"}], "a": "secret"}
    assert args_digest_bytes(args).decode() == args_digest(args) and b"secret" not in args_digest_bytes(args)


def test_an_exchange_is_formatted_when_written_and_keeps_its_place(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "a.jsonl"
    log = AuditLog(str(path))
    start = time.perf_counter_ns()
    monkeypatch.setattr(time, "perf_counter_ns", lambda: start + 125_400)
    log.record(method="upstream/exit", verdict="error")
    log.exchange(b'"method":"tools/call","verdict":"allow"', start, {"b": 1, "a": "secret"})
    log.exchange(b'"method":"resources/read","verdict":"allow"', start, None)
    log.write({"method": "ping"})
    log.close()
    rows = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert [r["method"] for r in rows] == ["upstream/exit", "tools/call", "resources/read", "ping"]
    call, read = rows[1], rows[2]
    assert list(call) == ["ts", "method", "verdict", "latency_ms", "args_sha256"]
    assert call["latency_ms"] == 0.125 and call["args_sha256"] == args_digest({"a": "secret", "b": 1})
    assert b"secret" not in path.read_bytes()
    assert list(read) == ["ts", "method", "verdict", "latency_ms"]
    assert log.records == 4


def test_a_closed_log_notes_no_exchange(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    log = AuditLog(str(path))
    assert log.enabled
    log.close()
    assert not log.enabled
    log.exchange(b'"method":"tools/call"', time.perf_counter_ns(), None)
    log.flush()
    assert path.read_bytes() == b""


@pytest.mark.parametrize(("elapsed_ns", "latency"), [
    (0, 0.0), (499, 0.0), (999, 0.001), (1_000, 0.001), (125_400, 0.125), (2_000_000, 2.0), (999_999_999, 1000.0),
    (61_234_567_000, 61234.567),
])
def test_an_exchange_latency_is_milliseconds_with_three_decimals(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  elapsed_ns: int, latency: float) -> None:
    path = tmp_path / "a.jsonl"
    log = AuditLog(str(path))
    monkeypatch.setattr(time, "perf_counter_ns", lambda: 10**12 + elapsed_ns)
    log.exchange(b'"method":"ping"', 10**12, None)
    log.close()
    row = orjson.loads(path.read_bytes())
    assert list(row) == ["ts", "method", "latency_ms"]  # the timestamp first
    assert row["latency_ms"] == latency == round(elapsed_ns / 1e6, 3)
