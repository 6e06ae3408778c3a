from __future__ import annotations

from pathlib import Path

import pytest

from bastion.config import ConfigError, HttpUpstream, StdioUpstream, json_schema, load_config, parse_config


def test_minimal_config_has_safe_defaults() -> None:
    cfg = parse_config({"upstreams": {"time": {"command": "python", "args": ["-m", "mcp_server_time"]}}})
    assert isinstance(cfg.upstreams["time"], StdioUpstream)
    assert cfg.listen.http is not None and cfg.listen.http.host == "127.0.0.1"
    assert [g.type for g in cfg.guards] == ["header_match", "limits", "secret_redaction", "tool_poisoning"]
    assert not cfg.prefixing()  # one upstream: transparent names


def test_http_upstream_and_transport_inference() -> None:
    cfg = parse_config({"upstreams": {"a": {"url": "http://h/mcp"}, "b": {"url": "ws://h/ws"}}})
    a, b = cfg.upstreams["a"], cfg.upstreams["b"]
    assert isinstance(a, HttpUpstream) and a.effective_transport == "streamable-http"
    assert isinstance(b, HttpUpstream) and b.effective_transport == "websocket"
    assert cfg.prefixing()


BAD = [
    ({"upstreams": {}}, "upstreams: Value error, configure at least one upstream"),
    ({"upstreams": {"a": {"command": "x", "bogus": 1}}}, "upstreams.a.bogus"),
    ({"upstreams": {"a": {"url": "ftp://x"}}}, "upstreams.a.url"),
    ({"upstreams": {"a__b": {"command": "x"}}}, "upstream name 'a__b'"),
    ({"upstreams": {"a": {"command": "x"}}, "guards": [{"type": "nope"}]}, "guards.0"),
    ({"upstreams": {"a": {"command": "x"}}, "guards": [{"type": "limits", "max_bytes": 0}]}, "guards.0.limits.max_bytes"),
    ({"upstreams": {"a": {"command": "x"}}, "guards": [{"type": "tool_filter", "upstreams": {"zz": {}}}]},
     "unknown upstream 'zz'"),
    ({"upstreams": {"a": {"command": "x"}}, "listen": {"stdio": False}}, "configure at least one listener"),
    ({"upstreams": {"a": {"command": "x", "timeout": -1}}}, "upstreams.a.timeout"),
]


@pytest.mark.parametrize(("data", "fragment"), BAD)
def test_bad_config_names_the_key(data: dict[str, object], fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(data, "test.yaml")
    assert fragment in str(info.value)
    assert str(info.value).startswith("test.yaml: invalid configuration")


def test_load_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("upstreams: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    top = tmp_path / "list.yaml"
    top.write_text("- 1\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_config(top)


def test_schema_describes_guards() -> None:
    schema = json_schema()
    assert "upstreams" in schema["properties"]
    assert "LimitsGuardConfig" in schema["$defs"]


def test_bundled_demo_config_is_valid() -> None:
    demo = Path(__file__).resolve().parent.parent / "examples" / "demo.yaml"
    cfg = load_config(demo)
    assert cfg.upstreams
