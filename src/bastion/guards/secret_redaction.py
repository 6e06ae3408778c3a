"""Secret redaction in responses.

Every secret the gateway hands out (sandbox secret files, upstream credentials) is registered with
the process-wide redactor. If an upstream sends one back (a server that echoes its token, a
stack trace with an environment dump), this guard replaces it with ``[REDACTED:secret]`` in every
string of the response before the client sees it (rule ``secret_redaction.value``). With no secret
registered it costs nothing; otherwise one substring check per registered value on the raw bytes,
and a walk over the message only when one is present.
"""

from __future__ import annotations

from typing import Any, ClassVar

import orjson

from bastion.guards.base import ALLOW, BaseGuard, Context, Mutate, Verdict
from bastion.protocol.jsonrpc import Message
from bastion.secrets.redact import Redactor, default_redactor


class SecretRedactionGuard(BaseGuard):
    name: ClassVar[str] = "secret_redaction"

    def __init__(self, redactor: Redactor | None = None) -> None:
        self.redactor = redactor or default_redactor
        self._seen = -1
        self._needles: tuple[bytes, ...] = ()

    def _refresh(self) -> tuple[bytes, ...]:
        values = self.redactor.values()
        if len(values) != self._seen:
            # as the value would appear inside a JSON string (escapes included)
            self._needles = tuple(orjson.dumps(v)[1:-1] for v in values)
            self._seen = len(values)
        return self._needles

    def on_response(self, msg: Message, ctx: Context) -> Verdict:
        if not len(self.redactor):
            return ALLOW
        raw = msg.raw
        if not any(n in raw for n in self._refresh()):
            return ALLOW
        return Mutate(_walk(msg.obj, self.redactor), "secret_redaction.value", "a registered secret was removed")


def _walk(value: Any, redactor: Redactor) -> Any:
    if isinstance(value, str):
        return redactor.redact(value)
    if isinstance(value, dict):
        return {k: _walk(v, redactor) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, redactor) for v in value]
    return value
