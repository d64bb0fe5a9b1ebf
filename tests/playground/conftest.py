"""Browser tests: ``discomfy play`` in a child process, looked at through headless Chromium.

One playground serves the whole session (it starts in a few seconds; every test uses its own
prompts, so they do not read each other's messages). Each test gets its own browser context,
so the user picked in one test's switcher does not carry over. Browser tests are plain (sync)
functions: see ``browser``.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from discomfy.testing.playground import PlaygroundProcess, chromium_missing, free_port, launch_chromium
from tests.conftest import REPO_ROOT

VIEWPORT = {"width": 1280, "height": 960}


def write_settings(root: Path, **sections: dict) -> None:
    """settings.toml for a playground project: the repo's plugins, no ComfyUI answering;
    ``sections`` replace keys (``plugins={"workflow_dirs": [...]}``)."""
    settings = {
        "comfyui": {"url": f"http://127.0.0.1:{free_port()}"},  # nothing listens: the fake steps in
        "plugins": {"dirs": [str(REPO_ROOT / "plugins")], "workflow_dirs": [str(REPO_ROOT / "workflows")]},
        # the session's tests generate more than the default 10 a minute
        "limits": {"per_user": 100, "global_limit": 500},
        # several progress edits per job on the fake's few-second jobs
        "progress": {"edit_interval": 1.0},
        # no /healthz endpoint: its fixed port (8700) is shared by every playground the parallel
        # test workers start, and by a developer's own running bot
        "ops": {"port": 0},
    }
    for name, values in sections.items():
        settings.setdefault(name, {}).update(values)
    text = "".join(f"[{name}]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in table.items())
                   for name, table in settings.items())
    (root / "settings.toml").write_text(text)


@pytest.fixture(scope="session")
def playground(tmp_path_factory):
    root = tmp_path_factory.mktemp("playground")
    write_settings(root)
    process = PlaygroundProcess(root)
    process.start()
    yield process
    status = process.stop()
    assert status == 0, f"discomfy play exited with {status} on SIGTERM; its output:\n{process.output()[-3000:]}"


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium for one test module. Not for the session: Playwright's sync API keeps an
    event loop running in this thread while it is open, and pytest-asyncio cannot run the async
    tests of later modules beside it."""
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
    ctx.set_default_timeout(60_000)  # an upper bound only: waits end when the page gets there; set for a loaded machine
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
