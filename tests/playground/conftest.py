"""Browser tests: ``discomfy play`` in a child process, looked at through headless Chromium.

One playground serves the whole session (it starts in a few seconds; every test uses its own
prompts, so they do not read each other's messages). Each test gets its own browser context,
so the user picked in one test's switcher does not carry over.
"""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import pytest
from PIL import Image

from discomfy.testing.playground import PlaygroundProcess, chromium_missing, free_port, launch_chromium
from tests.conftest import REPO_ROOT

VIEWPORT = {"width": 1280, "height": 960}


def write_settings(root: Path, **sections: dict) -> None:
    """settings.toml for a playground project: the repo's plugins, no ComfyUI answering."""
    closed = free_port()  # nothing listens there: the playground falls back to its fake
    lines = [f"""
        [comfyui]
        url = "http://127.0.0.1:{closed}"
        [plugins]
        dirs = ["{REPO_ROOT / 'plugins'}"]
        workflow_dirs = ["{REPO_ROOT / 'workflows'}"]
        [limits]
        per_user = 100       # the session's tests generate more than the default 10 a minute
        global_limit = 500
        [progress]
        edit_interval = 1.0  # several progress edits per job on the fake's few-second jobs
    """]
    for name, values in sections.items():
        lines.append(f"[{name}]\n" + "\n".join(f"{k} = {v!r}" for k, v in values.items()))
    (root / "settings.toml").write_text(textwrap.dedent(lines[0]) + "\n".join(lines[1:]))


@pytest.fixture(scope="session")
def playground(tmp_path_factory):
    root = tmp_path_factory.mktemp("playground")
    write_settings(root)
    process = PlaygroundProcess(root)
    process.start()
    yield process
    status = process.stop()
    assert status == 0, f"discomfy play exited with {status} on SIGTERM; its output:\n{process.output()[-3000:]}"


@pytest.fixture(scope="session")
def browser():
    missing = chromium_missing()
    if missing:
        pytest.fail(missing, pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser):
    ctx = browser.new_context(viewport=VIEWPORT)
    ctx.set_default_timeout(30_000)
    yield ctx
    ctx.close()


@pytest.fixture
def open_page(context, playground):
    """``open_page()`` -> a ready tab on the playground (a new tab each call, same browser context)."""
    def opener(channel: str | None = None):
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(playground.url)
        page.wait_for_selector('body[data-ready="1"]')
        page.js_errors = errors
        if channel:
            page.click(f'#channels li[data-name="{channel}"]')
        return page

    return opener


def png_file(path: Path, colour: str = "orange", size: tuple[int, int] = (96, 64)) -> Path:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return path
