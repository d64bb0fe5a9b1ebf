"""The hook example of docs/plugins.md, run as written: a plugin's prepare hook fills in what
the user did not give, leaves what they gave, and says so in the job's sources."""

from __future__ import annotations

import re

from discomfy.bot.client import ComfyUIBot
from discomfy.config import get_config, override

from tests.conftest import REPO_ROOT, write_plugin


def docs_example(marker: str) -> str:
    guide = (REPO_ROOT / "docs" / "plugins.md").read_text()
    blocks = [b for b in re.findall(r"```python\n(.*?)```", guide, re.S) if b.startswith(marker)]
    assert len(blocks) == 1, f"expected one example starting with {marker!r} in docs/plugins.md"
    return blocks[0]


async def test_the_house_style_example_fills_in_only_what_the_user_left_out(project):
    write_plugin(project, "house_style", docs_example("# plugins/house_style/__init__.py"))
    config = get_config(project)
    override(config, "plugins.dirs", [str(REPO_ROOT / "plugins"), str(project / "plugins")])
    bot = ComfyUIBot(config)
    await bot.plugins.load()
    assert not bot.plugins.report.failed, bot.plugins.report.format()
    spec = bot.plugins.workflows.get("generate-flux")
    styled = bot.plugins.render(spec, {"prompt": "a harbour"}, user_id=1)
    assert styled.parameters["prompt"] == "a harbour, watercolour"
    assert styled.sources == {"prompt": "the house style"}
    plain = bot.plugins.render(spec, {"prompt": "a harbour", "lora": "style_a.safetensors"}, user_id=1)
    assert plain.parameters["prompt"] == "a harbour" and plain.sources == {}
