"""The README's first command on a machine with no Discord token opens the playground."""

from __future__ import annotations

import pytest

from discomfy.testing.playground import PlaygroundProcess, free_port
from tests.conftest import REPO_ROOT

NO_TOKEN_LINE = "No Discord token, so this starts the playground"


@pytest.mark.timeout(700)  # bot.sh installs into .venv first: allowed 600 s, as a new user's first start
def test_bot_sh_without_a_token_prints_the_playground_url_within_60_s_and_the_page_loads(context, tmp_path):
    port = free_port()
    env = {"DISCOMFY_DISCORD__TOKEN": "", "DISCOMFY_COMFYUI__URL": f"http://127.0.0.1:{free_port()}",
           "DISCOMFY_OPS__PORT": "0"}  # no /healthz on the fixed port 8700 that other workers' playgrounds want too
    process = PlaygroundProcess(REPO_ROOT, port=port, env=env, log_path=tmp_path / "bot-sh.log",
                                command=["bash", str(REPO_ROOT / "scripts" / "bot.sh"), "--port", str(port)])
    try:
        url = process.start(timeout=600)  # the install may download packages
        installed_at = process.line_time(NO_TOKEN_LINE)
        assert installed_at is not None, f"bot.sh did not say it starts the playground:\n{process.output()}"
        announced = next(text for _, text in process.lines if NO_TOKEN_LINE in text)
        assert ".secrets.toml" in announced and "DISCOMFY_DISCORD__TOKEN" in announced, announced
        assert process.url_at - installed_at < 60, f"{process.url_at - installed_at:.1f} s from install to URL"
        assert url == f"http://127.0.0.1:{port}"
        page = context.new_page()
        page.goto(url)
        page.wait_for_selector('body[data-ready="1"]')
        assert page.locator("#banner").inner_text().startswith("No ComfyUI server answered")
        assert page.locator("#channels li").all_inner_texts() == ["general", "sandbox", "nsfw-art"]
    finally:
        assert process.stop() == 0, process.output()[-3000:]
