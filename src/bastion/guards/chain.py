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
        self._named = frozenset(
            m for g in active for key in ("request_methods", "response_methods") for m in getattr(g.guard, key) or ()
        )
        """Methods some guard limits itself to; any other method gets the guards that take every method."""
        self._plans: dict[tuple[Phase, str, str | None], list[Installed]] = {}
        self.sync = {
            "request": not any(inspect.iscoroutinefunction(type(g.guard).on_request) for g in self._request),
            "response": not any(inspect.iscoroutinefunction(type(g.guard).on_response) for g in self._response),
        }
        """Per phase: True when no guard of it is ``async def``, so :meth:`decide` can run it."""

    def _guards(self, phase: Phase, ctx: Context) -> list[Installed]:
        """The guards of ``phase`` that take this method and transport (see :class:`BaseGuard`)."""
        key = (phase, ctx.transport, ctx.method if ctx.method in self._named else None)
        plan = self._plans.get(key)
        if plan is None:
            attr = "request_methods" if phase == "request" else "response_methods"
            plan = [
                g for g in (self._request if phase == "request" else self._response)
                if _takes(getattr(g.guard, attr, None), key[2])
                and _takes(getattr(g.guard, "transports", None), ctx.transport)
            ]
            if len(self._plans) < 4096:  # bounded: transports and named methods are few
                self._plans[key] = plan
        return plan

    async def run(self, phase: Phase, msg: Message, ctx: Context) -> Outcome:
        guards = self._guards(phase, ctx)
        outcome = Outcome(msg)
        for inst in guards:
            verdict = _call(inst.guard, phase, outcome.message, ctx)
            if verdict is ALLOW:
                continue
            if not isinstance(verdict, _VERDICTS):  # an async guard: only then a coroutine step
                verdict = await _settle(inst.guard, phase, verdict)
                if verdict is ALLOW:
                    continue
            if _apply(outcome, inst, verdict, ctx):
                return outcome
        return outcome

    def decide(self, phase: Phase, msg: Message, ctx: Context) -> Outcome:
        """:meth:`run` without the event loop, for a phase whose guards are all plain functions
        (:attr:`sync`): what a guard returns that is not a verdict denies, as a crash would."""
        return self.check(phase, msg, ctx) or Outcome(msg)

    def check(self, phase: Phase, msg: Message, ctx: Context) -> Outcome | None:
        """:meth:`decide`, or None when every guard allowed the message as it is (the usual case,
        for which nothing is built)."""
        plan = self._plans.get((phase, ctx.transport, ctx.method if ctx.method in self._named else None))
        if plan is None:
            plan = self._guards(phase, ctx)
        outcome: Outcome | None = None
        current = msg
        request = phase == "request"
        for inst in plan:
            guard = inst.guard
            try:
                verdict = guard.on_request(current, ctx) if request else guard.on_response(current, ctx)
            except Exception as exc:  # a crashing guard denies: fail closed
                verdict = _crashed(guard, phase, exc)
            if verdict is ALLOW:
                continue
            if not isinstance(verdict, _VERDICTS):
                if inspect.iscoroutine(verdict):
                    verdict.close()
                verdict = _crashed(inst.guard, phase, TypeError(
                    f"guard returned {type(verdict).__name__} from a plain function; declare it async def"))
            if outcome is None:
                outcome = Outcome(msg)
            if _apply(outcome, inst, verdict, ctx):
                return outcome
            current = outcome.message
        return outcome

    @property
    def empty(self) -> bool:
        return not self._request and not self._response


def _takes(scope: frozenset[str] | None, value: str | None) -> bool:
    return scope is None or value in scope


def _apply(outcome: Outcome, inst: Installed, verdict: Verdict, ctx: Context) -> bool:
    """Fold one guard's verdict (not ALLOW) into ``outcome``; True when the chain stops (a deny)."""
    if isinstance(verdict, Deny):
        if inst.mode == "monitor":
            log.warning("monitor: %s would deny %s: %s", verdict.rule, ctx.method, verdict.reason)
            outcome.rules.append(f"{verdict.rule}(monitor)")
            return False
        outcome.deny = verdict
        outcome.rules.append(verdict.rule)
        return True
    if isinstance(verdict, Mutate):
        if inst.mode == "monitor":
            outcome.rules.append(f"{verdict.rule}(monitor)")
            return False
        outcome.message = Message.from_obj(verdict.obj)
        outcome.rules.append(verdict.rule)
    return False


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
