"""Secret references, the file/env providers, and the redactor."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bastion.secrets import (
    MARK,
    EnvProvider,
    FileProvider,
    RedactingFilter,
    Redactor,
    Resolver,
    SecretError,
    SecretRef,
)


def test_parse_refs() -> None:
    v = SecretRef.parse("secret://vault/kv/github#token")
    assert (v.provider, v.mount, v.path, v.key) == ("vault", "kv", "github", "token")
    nested = SecretRef.parse("secret://vault/kv/team/ci/github")
    assert (nested.mount, nested.path, nested.key) == ("kv", "team/ci/github", None)
    assert SecretRef.parse("secret://file//etc/app/key").path == "/etc/app/key"
    assert SecretRef.parse("secret://file/rel/key").path == "rel/key"
    assert SecretRef.parse("secret://env/API_KEY").location == "API_KEY"
    assert str(v) == "secret://vault/kv/github#token"


@pytest.mark.parametrize("bad", ["vault/kv/x", "secret://vault/kv", "secret://vault/kv/x#",
                                 "secret://env/1BAD", "secret://file/x#k", "secret://", "secret://Bad!/x"])
def test_bad_refs(bad: str) -> None:
    with pytest.raises(ValueError):
        SecretRef.parse(bad)


def test_file_and_env_providers_register_values(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "tok").write_text("file-secret-value\n")
    red = Redactor()
    r = Resolver({"file": FileProvider(tmp_path), "env": EnvProvider({"API_KEY": "env-secret-value"})},
                 redactor=red)
    assert r.resolve("secret://file/tok") == "file-secret-value"
    assert r.resolve(f"secret://file/{tmp_path}/tok".replace("file//", "file//")) == "file-secret-value"
    with caplog.at_level(logging.WARNING):
        assert r.resolve("secret://env/API_KEY") == "env-secret-value"
    assert any("development" in rec.getMessage() or "production" in rec.getMessage() for rec in caplog.records)
    assert red.redact("a file-secret-value b env-secret-value") == f"a {MARK} b {MARK}"
    with pytest.raises(SecretError, match="cannot read"):
        r.resolve("secret://file/missing")
    with pytest.raises(SecretError, match="no provider 'vault'"):
        r.resolve("secret://vault/kv/x#y")
    # rotation: no caching
    (tmp_path / "tok").write_text("rotated-value")
    assert r.resolve("secret://file/tok") == "rotated-value"


def test_redactor_longest_first_and_short_values() -> None:
    red = Redactor()
    assert red.redact("nothing registered") == "nothing registered"
    red.register("abcd1234")
    red.register("abcd1234-extended")
    assert red.redact("x abcd1234-extended y abcd1234") == f"x {MARK} y {MARK}"
    assert red.register("ab") is False
    text = "no secrets here"
    assert red.redact(text) is text  # no allocation on the common path
    assert red.redact_bytes(b"k=abcd1234") == f"k={MARK}".encode()


def test_logging_filter_redacts_args_and_exceptions() -> None:
    red = Redactor()
    red.register("hunter2-password")
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    h = Keep()
    h.addFilter(RedactingFilter(red))
    log = logging.getLogger("test.redact")
    log.addHandler(h)
    log.propagate = False
    try:
        log.warning("token is %s", "hunter2-password")
        try:
            raise ValueError("bad hunter2-password")
        except ValueError:
            log.exception("failed")
    finally:
        log.removeHandler(h)
    assert records[0].getMessage() == f"token is {MARK}"
    assert "hunter2" not in (records[1].exc_text or "") and MARK in (records[1].exc_text or "")
