from __future__ import annotations

from bastion.guards.base import Allow, Context, Mutate
from bastion.guards.secret_redaction import SecretRedactionGuard
from bastion.protocol.eras import Era
from bastion.protocol.jsonrpc import Message
from bastion.secrets.redact import Redactor

CTX = Context(session_id="s", era=Era.HANDSHAKE, transport="http", method="tools/call")


def reply(text: str) -> Message:
    return Message.from_obj({"jsonrpc": "2.0", "id": 1, "result": {"content": [{"type": "text", "text": text}]}})


def test_nothing_registered_passes_untouched() -> None:
    assert isinstance(SecretRedactionGuard(Redactor()).on_response(reply("tok-123456"), CTX), Allow)


def test_registered_values_are_removed_everywhere() -> None:
    red = Redactor()
    red.register("tok-123456")
    red.register('we"ird\\value')  # JSON-escaped in the raw bytes
    guard = SecretRedactionGuard(red)
    v = guard.on_response(reply('a tok-123456 b we"ird\\value c'), CTX)
    assert isinstance(v, Mutate) and v.rule == "secret_redaction.value"
    assert v.obj["result"]["content"][0]["text"] == "a [REDACTED:secret] b [REDACTED:secret] c"
    assert isinstance(guard.on_response(reply("clean"), CTX), Allow)
    red.register("later-secret")  # registered after the guard was built
    later = guard.on_response(reply("x later-secret"), CTX)
    assert isinstance(later, Mutate)
