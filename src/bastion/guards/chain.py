"""Runs guards in order over a message and returns the outcome with the deciding rule."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field

from bastion.guards.base import ALLOW, Allow, Context, Deny, Guard, Mode, Mutate, Phase, Verdict
from bastion.protocol.jsonrpc import Message

log = logging.getLogger("bastion.guards")


@dataclass(frozen=True, slots=True)
class Installed:
    guard: Guard
    mode: Mode


@dataclass(slots=True)
class Outcome:
    """The result of running the chain: the message to pass on (or a deny) and what decided it."""

    message: Message
    deny: Deny | None = None
    rules: list[str] = field(default_factory=list)
    """Rules that mutated, denied, or would have denied in monitor mode."""

    @property
    def verdict(self) -> str:
        if self.deny is not None:
            return "deny"
        return "mutate" if self.rules else "allow"


class Chain:
    def __init__(self, guards: Sequence[Installed]) -> None:
        active = [g for g in guards if g.mode != "off"]
        self._request = [g for g in active if _overrides(g.guard, "on_request")]
        self._response = [g for g in active if _overrides(g.guard, "on_response")]

    async def run(self, phase: Phase, msg: Message, ctx: Context) -> Outcome:
        guards = self._request if phase == "request" else self._response
        outcome = Outcome(msg)
        for inst in guards:
            verdict = _call(inst.guard, phase, outcome.message, ctx)
            if verdict is ALLOW:
                continue
            if not isinstance(verdict, _VERDICTS):  # an async guard: only then a coroutine step
                verdict = await _settle(inst.guard, phase, verdict)
                if verdict is ALLOW:
                    continue
            if isinstance(verdict, Deny):
                if inst.mode == "monitor":
                    log.warning("monitor: %s would deny %s: %s", verdict.rule, ctx.method, verdict.reason)
                    outcome.rules.append(f"{verdict.rule}(monitor)")
                    continue
                outcome.deny = verdict
                outcome.rules.append(verdict.rule)
                return outcome
            if isinstance(verdict, Mutate):
                if inst.mode == "monitor":
                    outcome.rules.append(f"{verdict.rule}(monitor)")
                    continue
                outcome.message = Message.from_obj(verdict.obj)
                outcome.rules.append(verdict.rule)
        return outcome

    @property
    def empty(self) -> bool:
        return not self._request and not self._response


_VERDICTS = (Allow, Mutate, Deny)


def _call(guard: Guard, phase: Phase, msg: Message, ctx: Context) -> Verdict | Awaitable[Verdict]:
    """The guard's verdict, or what it returned to be awaited; a guard that raises denies."""
    try:
        return guard.on_request(msg, ctx) if phase == "request" else guard.on_response(msg, ctx)
    except Exception as exc:  # a crashing guard denies: fail closed
        return _crashed(guard, phase, exc)


async def _settle(guard: Guard, phase: Phase, result: object) -> Verdict:
    """Await what an async guard returned; anything that is not a verdict denies."""
    try:
        if not inspect.isawaitable(result):
            raise TypeError(f"guard returned {type(result).__name__}, not a verdict")
        verdict = await result
        if not isinstance(verdict, _VERDICTS):
            raise TypeError(f"guard returned {type(verdict).__name__}, not a verdict")
        return verdict
    except Exception as exc:
        return _crashed(guard, phase, exc)


def _crashed(guard: Guard, phase: Phase, exc: Exception) -> Deny:
    log.error("guard %s failed in %s phase", guard.name, phase, exc_info=exc)
    return Deny(f"{guard.name}.error", f"guard {guard.name} failed: {type(exc).__name__}")


def _overrides(guard: Guard, method: str) -> bool:
    impl = getattr(type(guard), method, None)
    from bastion.guards.base import BaseGuard

    return impl is not None and impl is not getattr(BaseGuard, method)


__all__ = ["ALLOW", "Chain", "Installed", "Outcome"]
