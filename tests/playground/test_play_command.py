"""``discomfy play``'s options, run as a user runs them: --host, --port, --dev."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys

from playwright.sync_api import expect

from discomfy.testing.playground import PlaygroundProcess
from tests.conftest import REPO_ROOT
from tests.playground.conftest import write_settings


def test_a_non_loopback_host_is_warned_about_and_a_busy_port_is_named_with_the_fix(tmp_path):
    write_settings(tmp_path)
    with socket.socket() as busy:
        busy.bind(("0.0.0.0", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "discomfy", "--root", str(tmp_path), "play",
                               "--host", "0.0.0.0", "--port", str(port)],
                              capture_output=True, text=True, timeout=180)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "warning: serving the playground on 0.0.0.0" in done.stderr
    assert f"cannot serve the page on 0.0.0.0:{port}" in done.stderr and "--port" in done.stderr
    assert "DisComfy playground: http" not in done.stdout, "no URL is announced for a page that is not served"


def test_dev_hot_reloads_a_dropped_in_pack_into_the_page_and_its_jobs_run(tmp_path, context):
    root = tmp_path / "project"
    (root / "workflows").mkdir(parents=True)
    write_settings(root, plugins={"dirs": [str(REPO_ROOT / "plugins")], "workflow_dirs": ["workflows"]})
    process = PlaygroundProcess(root, dev=True)
    try:
        url = process.start()
        process.wait_for_line("hot reload watching")
        page = context.new_page()
        page.goto(url)
        page.wait_for_selector('body[data-ready="1"]')
        composer = page.locator("#composer-input")
        composer.fill("/generate prompt:x ")
        composer.dispatch_event("input")
        expect(page.locator('#suggestions li.item[data-name="steps"]')).to_be_visible()
        expect(page.locator('#suggestions li.item[data-name="model"]')).to_have_count(0)

        mark = len(process.lines)
        staged = tmp_path / "staging" / "sdxl"  # then one rename: the watcher sees a whole pack
        shutil.copytree(REPO_ROOT / "workflows" / "sdxl", staged)
        staged.rename(root / "workflows" / "sdxl")
        process.wait_for_line("synced", after=mark, timeout=60)

        composer.fill("")
        composer.type("/")  # the composer reads the commands again
        composer.type("generate prompt:a pack from --dev model:")
        expect(page.locator("#suggestions li.item")).to_have_text(["flux", "sdxl"])
        page.locator('#suggestions li.item[data-name="sdxl"]').click()
        page.click("#send")
        job = page.locator("#messages .message", has_text="a pack from --dev")
        expect(job.locator('button[data-custom-id^="discomfy:reroll:"]')).to_be_visible(timeout=45_000)
        expect(job.locator(".embed")).to_contain_text("sdxl")
    finally:
        assert process.stop() == 0, process.output()[-3000:]
