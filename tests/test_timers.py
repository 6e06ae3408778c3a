"""Coarse per-request timers: never early, cancellable, the wheel idles when empty, and
``deadline`` behaves like ``asyncio.timeout``."""

from __future__ import annotations

import asyncio

import pytest

from bastion import timers
from bastion.timers import TICK, after, deadline


async def test_fires_once_never_early_and_in_order() -> None:
    loop = asyncio.get_running_loop()
    fired: list[tuple[str, float]] = []
    start = loop.time()
    after(0.12, lambda: fired.append(("late", loop.time())))
    after(0.01, lambda: fired.append(("early", loop.time())))
    await asyncio.sleep(0.12 + 3 * TICK)
    assert [name for name, _ in fired] == ["early", "late"]
    assert fired[0][1] - start >= 0.01 and fired[1][1] - start >= 0.12


async def test_cancelled_timer_does_not_fire_and_the_wheel_goes_idle() -> None:
    loop = asyncio.get_running_loop()
    fired: list[int] = []
    keep = after(0.01, fired.append, 1)
    drop = after(0.01, fired.append, 2)
    drop.cancel()
    drop.cancel()  # twice: harmless
    await asyncio.sleep(3 * TICK)
    keep.cancel()  # after firing: harmless
    assert fired == [1]
    assert loop not in timers._wheels  # nothing pending: no loop timer, no reference kept


async def test_a_failing_callback_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    fired: list[int] = []

    def boom() -> None:
        raise RuntimeError("boom")

    after(0.01, boom)
    after(0.01, fired.append, 1)
    await asyncio.sleep(3 * TICK)
    assert fired == [1]
    assert "timer callback" in caplog.text


async def test_a_callback_may_cancel_another_of_the_same_bucket() -> None:
    fired: list[str] = []
    second = None

    def first() -> None:
        fired.append("first")
        assert second is not None
        second.cancel()

    after(0.01, first)
    second = after(0.01, fired.append, "second")
    await asyncio.sleep(3 * TICK)
    assert fired in (["first"], ["second", "first"])  # set order; never both after a cancel


async def test_deadline_raises_timeout_error() -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    with pytest.raises(TimeoutError), deadline(0.05):
        await asyncio.sleep(10)
    assert loop.time() - start >= 0.05
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0  # the cancellation it caused is undone


async def test_deadline_not_reached_changes_nothing() -> None:
    with deadline(5):
        await asyncio.sleep(0)
        value = 42
    assert value == 42
    await asyncio.sleep(0.05)  # the withdrawn deadline does not cancel us later


async def test_outside_cancellation_passes_through_unchanged() -> None:
    started = asyncio.Event()

    async def worker() -> None:
        with deadline(5):
            started.set()
            await asyncio.sleep(10)

    task = asyncio.create_task(worker())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_other_errors_inside_pass_through() -> None:
    with pytest.raises(ValueError, match="inner"), deadline(5):
        raise ValueError("inner")


async def test_deadline_needs_a_task() -> None:
    loop = asyncio.get_running_loop()
    outcome: asyncio.Future[BaseException] = loop.create_future()

    def in_a_callback() -> None:  # on the loop, but no task
        try:
            deadline(1).__enter__()
        except RuntimeError as exc:
            outcome.set_result(exc)

    loop.call_soon(in_a_callback)
    assert "inside a task" in str(await outcome)
