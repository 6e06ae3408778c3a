"""Real servers behind the gateway: the MCP reference server (Node, over stdio and Streamable HTTP),
the official time and git servers (Python), each in its sandbox, driven by the official Python SDK
client in both protocol eras: tools, resources, prompts, progress, sampling and elicitation relay."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest
from mcp import Client

from bastion.testing.procs import GatewayProc, free_port, run_gateway, stop_process, wait_http
from support import FIXTURES, NODE_DIR

EVERYTHING = NODE_DIR / "@modelcontextprotocol" / "server-everything" / "dist" / "index.js"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(
    NODE is None or not EVERYTHING.exists(), reason="node and node/node_modules (scripts/setup) are required"
)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("repo")
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    subprocess.run(["git", "init", "-q", str(path)], check=True, env=env)
    (path / "README.md").write_text("hello\n")
    subprocess.run(["git", "-C", str(path), "add", "."], check=True, env=env)
    subprocess.run(["git", "-C", str(path), "commit", "-qm", "first commit"], check=True, env=env)
    return path


@pytest.fixture(scope="module")
def everything_http() -> Iterator[str]:
    assert NODE is not None
    port = free_port()
    proc = subprocess.Popen(
        [NODE, "--require", str(FIXTURES / "node" / "loopback.cjs"), str(EVERYTHING), "streamableHttp"],
        env={**os.environ, "PORT": str(port)}, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/mcp")
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        stop_process(proc)


@pytest.fixture(scope="module")
def gateway(repo: Path, everything_http: str) -> Iterator[GatewayProc]:
    assert NODE is not None
    config = {
        "upstreams": {
            "everything": {"command": NODE, "args": [str(EVERYTHING), "stdio"]},
            "remote": {"url": everything_http},
            "time": {"command": sys.executable, "args": ["-m", "mcp_server_time", "--local-timezone", "UTC"]},
            "git": {"command": sys.executable, "args": ["-m", "mcp_server_git", "--repository", str(repo)],
                    "sandbox": {"mounts": [{"source": str(repo), "mode": "ro"}]}},
        },
        "guards": [{"type": "header_match"}, {"type": "limits"},
                   {"type": "tool_filter", "upstreams": {"everything": {"deny": ["get-env"]}}}],
    }
    with run_gateway(config) as gw:
        yield gw


async def _sampling(ctx: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
    return types.CreateMessageResult(role="assistant", content=types.TextContent(text="sampled by the client"),
                                     model="test-model", stop_reason="endTurn")


async def _elicit(ctx: Any, params: Any) -> types.ElicitResult:
    return types.ElicitResult(action="accept", content={"color": "blue", "number": 7, "pets": ["cats"]})


def texts(result: Any) -> str:
    return " ".join(str(getattr(c, "text", "")) for c in result.content)


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_real_servers_through_the_gateway(gateway: GatewayProc, repo: Path, mode: str) -> None:
    async with Client(gateway.url, mode=mode) as c:
        names = {t.name for t in (await c.list_tools()).tools}
        assert {"everything__echo", "remote__echo", "time__get_current_time", "git__git_status"} <= names
        assert "everything__get-env" not in names  # the demo filter hides the environment dump
        assert "remote__get-env" in names  # filters are per upstream
        assert texts(await c.call_tool("everything__echo", {"message": "hi"})) == "Echo: hi"
        assert texts(await c.call_tool("remote__echo", {"message": "there"})) == "Echo: there"
        assert "UTC" in texts(await c.call_tool("time__get_current_time", {"timezone": "UTC"}))
        status = texts(await c.call_tool("git__git_status", {"repo_path": str(repo)}))
        assert "working tree clean" in status or "nothing to commit" in status
        log = texts(await c.call_tool("git__git_log", {"repo_path": str(repo)}))
        assert "first commit" in log
        assert "42" in texts(await c.call_tool("everything__get-sum", {"a": 40, "b": 2}))
        prompts = {p.name for p in (await c.list_prompts()).prompts}
        assert "everything__simple-prompt" in prompts
        templates = (await c.list_resource_templates()).resource_templates
        assert templates


async def test_sampling_and_elicitation_are_relayed_to_the_calling_client(gateway: GatewayProc) -> None:
    async with Client(gateway.url, mode="legacy", sampling_callback=_sampling, elicitation_callback=_elicit) as c:
        for up in ("everything", "remote"):
            sampled = texts(await c.call_tool(f"{up}__trigger-sampling-request", {"prompt": "hello", "maxTokens": 5}))
            assert "sampled by the client" in sampled
            elicited = texts(await c.call_tool(f"{up}__trigger-elicitation-request", {}))
            assert "blue" in elicited


async def test_progress_from_a_real_server(gateway: GatewayProc) -> None:
    seen: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(progress)

    async with Client(gateway.url, mode="legacy") as c:
        result = await c.call_tool("everything__trigger-long-running-operation", {"duration": 0.3, "steps": 3},
                                   progress_callback=on_progress)
        assert "completed" in texts(result).lower()
        assert len(seen) == 3


async def test_filtered_tool_is_refused_by_rule(gateway: GatewayProc) -> None:
    async with Client(gateway.url, mode="legacy") as c:
        from mcp.shared.exceptions import MCPError

        with pytest.raises(MCPError) as info:
            await c.call_tool("everything__get-env", {})
        assert info.value.error.data == {"rule": "tool_filter.denied"}
