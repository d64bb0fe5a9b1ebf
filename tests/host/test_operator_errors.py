"""Errors an operator meets at the command line name their cause, as subprocesses show them.

Each test runs the installed ``discomfy`` command, as an owner would, against a stand-in that
fails in one precise way (nothing listening, a server that never answers, HTTP 401, a
Discord that refuses the token), and checks the words of the cause and the exit status.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

import pytest
from aiohttp import web

from discomfy.testing.discord_emulator import DiscordEmulator

DISCOMFY = str(Path(sys.executable).with_name("discomfy"))


async def discomfy(root: Path, *args: str, **env: str) -> tuple[int, str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DISCOMFY_")}
    environ.update(env)
    process = await asyncio.create_subprocess_exec(
        DISCOMFY, "--root", str(root), *args, env=environ,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 120)
    return process.returncode, out.decode(), err.decode()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens there


async def test_check_server_with_nothing_listening_says_connection_refused(project: Path) -> None:
    code, out, err = await discomfy(project, "check", "--server", f"http://127.0.0.1:{closed_port()}")
    assert code == 1
    assert "connection refused" in err
    assert "Is ComfyUI running" in err
    assert "Please try again later" not in out + err  # the Discord users' wording is not for operators


async def test_check_server_with_an_unknown_host_says_dns_failure(project: Path) -> None:
    code, _, err = await discomfy(project, "check", "--server", "http://no-such-host.invalid:8188")
    assert code == 1
    assert "DNS failure" in err and "no-such-host.invalid" in err
    assert "Check the host name" in err


async def test_check_server_that_never_answers_says_timed_out(project: Path) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(-1)  # never answers; returns when the client gives up

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        code, _, err = await discomfy(project, "check", "--server", f"http://127.0.0.1:{port}",
                                      DISCOMFY_COMFYUI__REQUEST_TIMEOUT="0.5")
    assert code == 1
    assert "timed out" in err and "0.5 s" in err
    assert "comfyui.request_timeout" in err


async def test_check_server_answering_401_says_http_401(project: Path) -> None:
    async def login_required(request: web.Request) -> web.Response:
        return web.Response(status=401, text="login required")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", login_required)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        code, _, err = await discomfy(project, "check", "--server", f"http://127.0.0.1:{port}")
    finally:
        await runner.cleanup()
    assert code == 1
    assert "HTTP 401" in err and "refused access" in err


@pytest.mark.parametrize("given, fixed", [("127.0.0.1:8188", "http://127.0.0.1:8188"),
                                          ("gpu-box:8188", "http://gpu-box:8188")])
async def test_check_server_without_a_scheme_suggests_the_fixed_url(project: Path, given: str, fixed: str) -> None:
    code, out, err = await discomfy(project, "check", "--server", given)
    assert code == 1
    assert f"did you mean {fixed}?" in err
    assert "loaded" not in out  # refused before anything was loaded


async def test_run_with_discord_unreachable_prints_one_line_and_exits_1(project: Path) -> None:
    api = f"http://127.0.0.1:{closed_port()}/api/v10"
    code, out, err = await discomfy(project, "run", DISCOMFY_DISCORD__TOKEN="some.token.value",
                                    DISCOMFY_DISCORD__API_BASE=api)
    assert code == 1
    errors = [line for line in (out + err).splitlines() if " ERROR " in line]
    assert len(errors) == 1, out + err
    assert f"Cannot reach Discord at {api}: connection refused" in errors[0]
    assert "Traceback" not in out + err

    code, out, err = await discomfy(project, "--debug", "run", DISCOMFY_DISCORD__TOKEN="some.token.value",
                                    DISCOMFY_DISCORD__API_BASE=api)
    assert code == 1
    assert "Traceback" in err and "ConnectionRefusedError" in err  # asked for: the whole story


async def test_run_with_a_rejected_token_prints_one_line_and_exits_1(project: Path) -> None:
    emulator = DiscordEmulator()
    await emulator.start()
    try:
        code, out, err = await discomfy(project, "run", DISCOMFY_DISCORD__TOKEN="not.the.right.token",
                                        DISCOMFY_DISCORD__API_BASE=emulator.api_base,
                                        DISCOMFY_DISCORD__GATEWAY_URL=emulator.gateway_url)
    finally:
        await emulator.stop()
    assert code == 1
    errors = [line for line in (out + err).splitlines() if " ERROR " in line]
    assert len(errors) == 1, out + err
    assert "Discord rejected the token" in errors[0] and "HTTP 401" in errors[0]
    assert "Traceback" not in out + err
    assert "not.the.right.token" not in out + err


async def test_a_configured_url_without_a_scheme_is_refused_with_the_fixed_url(project: Path) -> None:
    code, _, err = await discomfy(project, "check", DISCOMFY_COMFYUI__URL="127.0.0.1:8188")
    assert code == 1
    assert "comfyui.url = '127.0.0.1:8188' is not a valid URL" in err
    assert "did you mean http://127.0.0.1:8188?" in err
