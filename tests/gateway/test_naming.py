from __future__ import annotations

import pytest

from bastion.gateway.naming import Names, template_regex


def test_prefixed_names_roundtrip() -> None:
    names = Names(["git", "time"], prefix=True, separator="__")
    assert names.public("git", "git_status") == "git__git_status"
    assert names.resolve("tools", "git__git_status") == ("git", "git_status")
    assert names.resolve("tools", "time__a__b") == ("time", "a__b")
    assert names.resolve("tools", "nope__x") is None
    assert names.resolve("tools", "git__") is None
    assert names.resolve("tools", "plain") is None


def test_unprefixed_single_upstream_passes_through() -> None:
    names = Names(["only"], prefix=False, separator="__")
    assert names.public("only", "x") == "x"
    assert names.resolve("tools", "x") == ("only", "x")
    assert names.single == "only"  # every name is its own: nothing to look up
    assert Names(["only"], prefix=True, separator="__").single is None
    assert Names(["a", "b"], prefix=False, separator="__").single is None


def test_unprefixed_collisions_are_refused() -> None:
    names = Names(["a", "b"], prefix=False, separator="__")
    assert names.learn("tools", "a", ["search", "only_a"]) == []
    assert names.learn("tools", "b", ["search", "only_b"]) == ["search"]
    assert names.resolve("tools", "only_a") == ("a", "only_a")
    assert names.resolve("tools", "only_b") == ("b", "only_b")
    assert names.resolve("tools", "search") is None
    assert names.is_ambiguous("tools", "search")


@pytest.mark.parametrize(("template", "uri", "match"), [
    ("file:///{path}", "file:///a.txt", True),
    ("file:///{path}", "file:///dir/a.txt", False),
    ("file:///{+path}", "file:///dir/a.txt", True),
    ("test://static/resource/{id}", "test://static/resource/7", True),
    ("test://static/resource/{id}", "other://static/resource/7", False),
    ("db://{table}{?limit}", "db://users?limit=3", True),
])
def test_template_regex(template: str, uri: str, match: bool) -> None:
    assert bool(template_regex(template).fullmatch(uri)) == match
