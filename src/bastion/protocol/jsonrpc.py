"""JSON-RPC 2.0 messages: parsed once, original bytes kept.

A :class:`Message` holds the bytes it was read from and the decoded object. Code that does not
change a message forwards ``raw``; code that changes one builds a new message with
:func:`encode`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

import orjson

from bastion.protocol import errors

JSONObj = dict[str, Any]
RequestId = int | str


class Kind(str, Enum):
    REQUEST = "request"
    NOTIFICATION = "notification"
    RESPONSE = "response"
    ERROR = "error"


class ProtocolError(Exception):
    """A message that is not valid JSON-RPC. ``code`` is the JSON-RPC error to answer with."""

    def __init__(self, code: int, message: str, request_id: RequestId | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id


@dataclass(slots=True)
class Message:
    raw: bytes
    obj: JSONObj
    kind: Kind
    method: str = ""
    """The JSON-RPC method ("" for responses), read once when the message is built."""
    id: RequestId | None = None
    """The JSON-RPC id (None for notifications, or when it is not a string or an integer), read once."""

    @property
    def params(self) -> JSONObj:
        value = self.obj.get("params")
        return value if type(value) is dict else {}

    @property
    def result(self) -> JSONObj:
        value = self.obj.get("result")
        return value if type(value) is dict else {}

    @property
    def is_request(self) -> bool:
        return self.kind is Kind.REQUEST

    @classmethod
    def from_obj(cls, obj: JSONObj) -> Message:
        return _build(encode(obj), obj)


def _build(raw: bytes, obj: JSONObj) -> Message:
    if obj.get("jsonrpc") == "2.0":  # the shapes of nearly every message, told apart in one go
        method = obj.get("method")
        if type(method) is str:
            params = obj.get("params")
            if params is None or type(params) is dict:
                if "id" not in obj:
                    return Message(raw, obj, Kind.NOTIFICATION, method, None)
                rid = obj["id"]
                if type(rid) is int or type(rid) is str:
                    return Message(raw, obj, Kind.REQUEST, method, rid)
        elif method is None and "method" not in obj and "result" in obj:
            rid = obj.get("id")
            return Message(raw, obj, Kind.RESPONSE, "", rid if type(rid) is int or type(rid) is str else None)
    kind = classify(obj)  # the rest, with the error that says what is wrong
    if kind is Kind.REQUEST:
        return Message(raw, obj, kind, obj["method"], obj["id"])  # classify checked the id
    if kind is Kind.NOTIFICATION:
        return Message(raw, obj, kind, obj["method"], None)
    return Message(raw, obj, kind, "", _id(obj))


def classify(obj: JSONObj) -> Kind:
    """The kind of a decoded JSON-RPC object, or :class:`ProtocolError` (-32600)."""
    if obj.get("jsonrpc") != "2.0":
        raise ProtocolError(errors.INVALID_REQUEST, "not JSON-RPC 2.0: 'jsonrpc' must be \"2.0\"", _id(obj))
    if "method" in obj:
        if not isinstance(obj["method"], str):
            raise ProtocolError(errors.INVALID_REQUEST, "'method' must be a string", _id(obj))
        params = obj.get("params")
        if params is not None and not isinstance(params, dict):
            raise ProtocolError(errors.INVALID_REQUEST, "MCP 'params' must be an object", _id(obj))
        if "id" not in obj:
            return Kind.NOTIFICATION
        rid = obj["id"]
        if rid is None or isinstance(rid, bool) or not isinstance(rid, int | str):
            raise ProtocolError(errors.INVALID_REQUEST, "request 'id' must be a string or an integer")
        return Kind.REQUEST
    if "result" in obj:
        return Kind.RESPONSE
    if "error" in obj:
        return Kind.ERROR
    raise ProtocolError(errors.INVALID_REQUEST, "neither a request, a notification nor a response", _id(obj))


def _id(obj: JSONObj) -> RequestId | None:
    rid = obj.get("id")
    return rid if isinstance(rid, int | str) and not isinstance(rid, bool) else None


def parse(raw: bytes) -> Message:
    """Decode one JSON-RPC message. Batches are refused (removed from MCP in 2025-06-18)."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError(errors.PARSE_ERROR, f"malformed JSON: {exc}") from None
    if type(obj) is not dict:
        if isinstance(obj, list):
            raise ProtocolError(errors.INVALID_REQUEST, "JSON-RPC batches are not supported by MCP")
        raise ProtocolError(errors.INVALID_REQUEST, "a JSON-RPC message must be a JSON object")
    return _build(raw, obj)


def encode(obj: JSONObj) -> bytes:
    return orjson.dumps(obj)


def error_obj(request_id: RequestId | None, code: int, message: str, data: Any = None) -> JSONObj:
    err: JSONObj = {"code": code, "message": message}
    if data is not None:
        err["data"] = data
    return {"jsonrpc": "2.0", "id": request_id, "error": err}


def result_obj(request_id: RequestId | None, result: JSONObj) -> JSONObj:
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def request_obj(request_id: RequestId, method: str, params: JSONObj | None = None) -> JSONObj:
    obj: JSONObj = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        obj["params"] = params
    return obj


def notification_obj(method: str, params: JSONObj | None = None) -> JSONObj:
    obj: JSONObj = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        obj["params"] = params
    return obj


_HEAD = b'{"jsonrpc":"2.0","id":'


def with_id(raw: bytes, old_id: RequestId, new_id: RequestId | None) -> bytes | None:
    """The compact encoding ``raw`` of a message whose id is ``old_id``, with ``new_id`` in its
    place and every other byte as it was; None when the id is not where it can be swapped safely
    (the caller encodes the message anew). The id must be the message's only ``"id"`` and sit at
    the top level, right after ``"jsonrpc":"2.0"`` or as the last member."""
    if raw.count(b'"id"') != 1:
        return None
    if type(old_id) is int and type(new_id) is int:  # the usual case, in one comparison
        head = b'{"jsonrpc":"2.0","id":%d,' % old_id
        if raw.startswith(head):
            return b'{"jsonrpc":"2.0","id":%d,' % new_id + raw[len(head):]
    old = b"%d" % old_id if type(old_id) is int else orjson.dumps(old_id)
    new = b"%d" % new_id if type(new_id) is int else orjson.dumps(new_id)
    end = len(_HEAD) + len(old)
    if raw.startswith(_HEAD) and raw[len(_HEAD):end] == old and raw.startswith(b",", end):
        return _HEAD + new + raw[end:]
    tail = b',"id":' + old + b"}"
    if raw.endswith(tail):
        return raw[: -len(tail)] + b',"id":' + new + b"}"
    return None
