"""Redaction of known secret values from text and log records.

Every secret bastion resolves is registered with :data:`default_redactor`; anything that prints
text a server or a caller may see (logs, forwarded stderr, audit records) passes it through
:meth:`Redactor.redact`, which replaces each registered value with ``[REDACTED:secret]``.

Matching is exact-substring: the common case (no secret in the text) costs one C-level substring
search per registered value and allocates nothing; replacement happens longest value first so a
secret that contains another is removed whole. Values shorter than ``min_length`` are refused
(they would shred every log line) and reported by length only.

Install :class:`RedactingFilter` on handlers (``install_log_redaction()`` does it for the root
logger's handlers) so records from every logger are redacted before they are written.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

MARK = "[REDACTED:secret]"
_log = logging.getLogger(__name__)


class Redactor:
    """A set of secret values and a fast ``redact(text)`` that hides them."""

    def __init__(self, *, min_length: int = 4, mark: str = MARK) -> None:
        self._min_length = min_length
        self._mark = mark
        self._lock = threading.Lock()
        self._values: frozenset[str] = frozenset()
        self._ordered: tuple[str, ...] = ()

    def register(self, value: str | bytes) -> bool:
        """Remember ``value`` (and its stripped form) as secret; returns whether it was accepted."""
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        forms = {value, value.strip()}
        forms = {f for f in forms if f}
        if not forms:
            return False
        if min(len(f) for f in forms) < self._min_length:
            _log.warning(
                "secret of %d characters is too short to redact safely; it is not registered",
                len(value.strip()),
            )
            return False
        with self._lock:
            if forms <= self._values:
                return True
            self._values = self._values | forms
            self._ordered = tuple(sorted(self._values, key=len, reverse=True))
        return True

    def register_many(self, values: Iterable[str | bytes]) -> None:
        """Register several values."""
        for v in values:
            self.register(v)

    def forget_all(self) -> None:
        """Drop every registered value (tests; a process that rotates everything)."""
        with self._lock:
            self._values = frozenset()
            self._ordered = ()

    def __len__(self) -> int:
        return len(self._values)

    def values(self) -> tuple[str, ...]:
        """The registered values, longest first (for callers that search encoded forms)."""
        return self._ordered

    def redact(self, text: str) -> str:
        """Return ``text`` with every registered value replaced by the mark."""
        ordered = self._ordered
        if not ordered or not text:
            return text
        for value in ordered:
            if value in text:
                break
        else:
            return text
        for value in ordered:
            if value in text:
                text = text.replace(value, self._mark)
        return text

    def redact_bytes(self, data: bytes) -> bytes:
        """Redact a UTF-8 byte string (invalid bytes are kept as replacement characters)."""
        if not self._ordered:
            return data
        text = data.decode("utf-8", "replace")
        red = self.redact(text)
        return data if red is text else red.encode("utf-8")


default_redactor = Redactor()
"""The process-wide redactor every bastion component registers secrets with."""


class RedactingFilter(logging.Filter):
    """A ``logging.Filter`` that redacts the formatted message and exception text of each record."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self._redactor = redactor if redactor is not None else default_redactor

    def filter(self, record: logging.LogRecord) -> bool:
        r = self._redactor
        if not len(r):
            return True
        message = record.getMessage()
        red = r.redact(message)
        if red is not message:
            record.msg = red
            record.args = None
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = r.redact(text)
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = r.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = r.redact(record.stack_info)
        return True


def install_log_redaction(logger: logging.Logger | None = None, redactor: Redactor | None = None) -> None:
    """Add a :class:`RedactingFilter` to every handler of ``logger`` (default: the root logger)."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter(redactor))
