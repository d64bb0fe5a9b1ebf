"""The pytest kit in a project that is not this one: no extras, and any asyncio_mode.

Every run is a subprocess in a temporary folder with its own ``pyproject.toml``, so none of
this repository's pytest settings (``asyncio_mode = "auto"``) help.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.kit.outside import explain, run, write_files

# pytest as it starts where pytest-asyncio is not installed: the import fails, and its pytest11
# entry point is not there to load (-p no:asyncio stands for its absence).
WITHOUT_PYTEST_ASYNCIO = """
import importlib.machinery
import sys

find_spec = importlib.machinery.PathFinder.find_spec


def hidden(cls, name, path=None, target=None):  # pytest's assertion rewriter asks PathFinder too
    return None if name.partition(".")[0] == "pytest_asyncio" else find_spec(name, path, target)


importlib.machinery.PathFinder.find_spec = classmethod(hidden)
import pytest

raise SystemExit(pytest.main(sys.argv[1:]))
"""

KIT_TEST = '''
    import aiohttp


    async def test_fake_comfyui_answers(fake_comfyui):
        async with aiohttp.ClientSession() as session:
            async with session.get(fake_comfyui.url + "/object_info/SaveImage") as response:
                assert response.status == 200
                assert "SaveImage" in await response.json()


    def test_plain():
        assert 1 + 1 == 2
'''


def test_without_the_testing_extra_pytest_starts_and_the_fixture_names_the_extra(tmp_path: Path) -> None:
    write_files(tmp_path, {"pyproject.toml": '[project]\nname = "someone-else"\nversion = "0"\n',
                           "tests/test_kit.py": KIT_TEST})
    version = run([sys.executable, "-c", WITHOUT_PYTEST_ASYNCIO, "-p", "no:asyncio", "--version"], tmp_path)
    assert version.returncode == 0, explain(version)
    assert "pytest" in version.stdout + version.stderr

    result = run([sys.executable, "-c", WITHOUT_PYTEST_ASYNCIO, "-p", "no:asyncio", "-p", "no:cacheprovider",
                  "-rA", "tests"], tmp_path)
    assert result.returncode == 1, explain(result)
    assert "1 passed, 1 error" in result.stdout, explain(result)  # the kit test fails at setup
    assert "the DisComfy fixture 'fake_comfyui' needs the 'testing' extra" in result.stdout, explain(result)
    assert "pip install 'discomfy[testing]'" in result.stdout, explain(result)
    assert "Traceback" not in result.stdout, explain(result)


@pytest.mark.parametrize("settings", [
    "",  # pytest-asyncio's default: strict
    '[tool.pytest.ini_options]\nasyncio_mode = "strict"\n',
    '[tool.pytest.ini_options]\nasyncio_mode = "auto"\n',
], ids=["default", "strict", "auto"])
def test_async_kit_fixtures_work_whatever_the_asyncio_mode(tmp_path: Path, settings: str) -> None:
    write_files(tmp_path, {"pyproject.toml": f'[project]\nname = "someone-else"\nversion = "0"\n\n{settings}',
                           "tests/test_kit.py": KIT_TEST})
    result = run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests"], tmp_path)
    assert result.returncode == 0, explain(result)
    assert "2 passed" in result.stdout, explain(result)
    assert "not natively supported" not in result.stdout + result.stderr
