"""Shared test helpers: a project folder per test, with its own settings and plugin folders.

Also the suite's own plumbing: the end-of-run figures counted across pytest-xdist workers
(tests/figures.py), the ``exhaustive`` marker on the matrices a plain ``pytest`` leaves out, and
``--screenshot``, where the browser test saves the README's picture (scripts/screenshot.sh), and
a bytecode cache for workers and subprocesses (tests/bytecode_cache.py).
"""

from __future__ import annotations

import logging
import sys
import textwrap
from pathlib import Path

import pytest

from discomfy.plugins import PLUGIN_NAMESPACE
from discomfy.testing.fake_comfyui.catalog import recorded_nodes
from discomfy.testing.fake_comfyui.nodes import BUILTIN
from tests import figures
from tests.bytecode_cache import use_a_private_bytecode_cache

use_a_private_bytecode_cache()  # before pytest-xdist starts its workers, which inherit it

REPO_ROOT = Path(__file__).resolve().parents[1]

# Folders whose tests are matrices exhaustive by design: marked ``exhaustive``, so a plain
# ``pytest`` deselects them (pyproject's addopts) and scripts/test.sh (``-m ""``) runs them. Each
# plays a whole scenario once per crash point, so each gets more than the usual time limit.
EXHAUSTIVE = [REPO_ROOT / "tests" / "crashpoints"]
EXHAUSTIVE_TIMEOUT = 600


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--screenshot", metavar="PATH", default=None,
                     help="save the README's playground screenshot there (scripts/screenshot.sh passes "
                          "docs/playground.png); by default it goes to the browser test's tmp_path")


def pytest_configure(config: pytest.Config) -> None:
    # pyproject's addopts deselect the exhaustive matrices from a plain `pytest`; a run that names
    # its tests (`pytest tests/crashpoints`) and no -m of its own runs what it named.
    named = config.args_source == pytest.Config.ArgsSource.ARGS
    own_m = any(arg == "-m" or arg.startswith("-m") for arg in config.invocation_params.args)
    if named and not own_m and config.option.markexpr == "not exhaustive":
        config.option.markexpr = ""
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_FiguresFromWorkers(), "discomfy-figures-from-workers")


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if any(item.path.is_relative_to(folder) for folder in EXHAUSTIVE):
            item.add_marker(pytest.mark.exhaustive)
            item.add_marker(pytest.mark.timeout(EXHAUSTIVE_TIMEOUT))


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)  # set in a pytest-xdist worker only
    if workeroutput is not None:
        workeroutput["discomfy_figures"] = figures.worker_output(session.config)


class _FiguresFromWorkers:
    """In the pytest-xdist controller: add up each worker's figures as it finishes."""

    @staticmethod
    def pytest_testnodedown(node, error) -> None:
        output = getattr(node, "workeroutput", None) or {}
        if "discomfy_figures" in output:
            figures.merge(node.config, output["discomfy_figures"])


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    figures.write_summaries(terminalreporter, config)


@pytest.fixture
def readme_screenshot(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """Where the browser test saves the playground's screenshot: ``--screenshot`` when given
    (scripts/screenshot.sh, to regenerate the README's picture), else under ``tmp_path``: a test
    run never rewrites a tracked file."""
    chosen = request.config.getoption("--screenshot")
    return Path(chosen).resolve() if chosen else tmp_path / "playground.png"


@pytest.fixture(autouse=True)
def _restore_logger_levels():
    """A test that quiets a logger (several set discord's to ERROR) must not quiet it for the
    tests after it in the same process: under pytest-xdist, which tests those are varies from run
    to run (test_token_privacy counted 2 DEBUG records instead of hundreds)."""
    loggers = [logging.getLogger()] + [logger for logger in logging.Logger.manager.loggerDict.values()
                                       if isinstance(logger, logging.Logger)]
    levels = [(logger, logger.level) for logger in loggers]
    yield
    for logger, level in levels:
        logger.setLevel(level)


@pytest.fixture(autouse=True)
def _forget_plugin_modules():
    """Plugins of one test's folder must not leak into the next test's imports."""
    yield
    for name in [m for m in sys.modules if m == PLUGIN_NAMESPACE or m.startswith(PLUGIN_NAMESPACE + ".")]:
        del sys.modules[name]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty project folder: plugins/ and workflows/ exist, no settings overrides yet."""
    (tmp_path / "plugins").mkdir()
    (tmp_path / "workflows").mkdir()
    return tmp_path


def write_plugin(root: Path, name: str, body: str) -> Path:
    """Write ``plugins/<name>/__init__.py`` with the given (dedented) source."""
    folder = root / "plugins" / name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "__init__.py"
    path.write_text(textwrap.dedent(body))
    return path


def command_plugin_source(command: str, reply: str = "hi") -> str:
    """A minimal code plugin contributing one slash command."""
    return f'''
        import discord
        from discord import app_commands
        from discord.ext import commands


        class Cog(commands.Cog, name="{command}"):
            @app_commands.command(name="{command}", description="says {reply}")
            async def handler(self, interaction: discord.Interaction) -> None:
                await interaction.response.send_message("{reply}")


        async def setup(bot):
            await bot.add_cog(Cog())
    '''


def workflow_plugin_source(command: str) -> str:
    """A code plugin shipping its own workflow (the manifest.toml beside it) with a handler of
    its own, the shape of plugins/upscale: what the hot-reload and handler tests edit."""
    return f'''
        from discomfy import WorkflowCog, command_handler


        class Cog(WorkflowCog, name="{command}"):
            command_name = "{command}"
            manifest_files = ("manifest.toml",)

            @command_handler
            async def {command}_command_handler(self, interaction, options):
                await self.run(interaction, options)


        async def setup(bot):
            await bot.add_cog(Cog(bot))
    '''


def unregistered_image_node() -> str:
    """A real ComfyUI node that takes and returns an IMAGE and has no semantics in the fake."""
    nodes = recorded_nodes()
    candidates = sorted(name for name, info in nodes.items()
                        if BUILTIN.get(name) is None and info.get("output") == ["IMAGE"]
                        and set((info["input"].get("required") or {})) == {"image"})
    assert candidates, "every IMAGE -> IMAGE node has semantics now: pick another kind of node"
    return candidates[0]
