"""What ``discomfy`` says before doing nothing useful: ``--dev`` without the file watcher, and a
ComfyUI server that ``check --server`` cannot ask."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

import discomfy.cli
from discomfy.cli import main


@pytest.mark.parametrize("command", ["run", "play"])
def test_dev_without_watchfiles_refuses_at_start_naming_what_to_install(
        project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, command: str) -> None:
    """Without watchfiles, --dev used to start, never reload, and only say so at exit."""
    started: list[str] = []

    async def start(config, **options):  # noqa: ANN001, ANN003, ANN202
        started.append(command)
        return 0

    monkeypatch.setattr(discomfy.cli, "run_bot" if command == "run" else "play", start)
    monkeypatch.setitem(sys.modules, "watchfiles", None)  # `import watchfiles` now fails as if not installed
    monkeypatch.setenv("DISCOMFY_DISCORD__TOKEN", "a.b.c")
    assert main(["--root", str(project), command, "--dev"]) == 1
    assert started == []
    err = capsys.readouterr().err
    assert "--dev reloads plugins when their files change, which needs the watchfiles package" in err
    assert "pip install watchfiles" in err


def test_check_server_names_the_unreachable_url_once(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"  # closed again below: nothing listens there
    assert main(["--root", str(project), "check", "--server", url]) == 1
    err = capsys.readouterr().err
    assert f"Cannot check against {url}: could not read node definitions: connection refused" in err
    assert err.count(url) == 1, err
