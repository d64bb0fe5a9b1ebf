"""The ``discomfy`` pytest plugin: fixtures for tests of DisComfy and of its plugins.

Loaded automatically (``pytest11`` entry point) in every environment where DisComfy is
installed, so it must never stop pytest from starting:

* Its fixtures need the ``testing`` extra (``pip install 'discomfy[testing]'``: pytest and
  pytest-asyncio). Without it this module still loads, and a test that asks for one of the
  kit's fixtures fails with a message naming the extra to install; every other test runs.
* An ``async def`` test that takes one of the kit's fixtures runs on asyncio whatever
  ``asyncio_mode`` the project sets (pytest-asyncio's default, ``strict``, would otherwise
  refuse it with "async def functions are not natively supported"). Other async tests follow
  the project's own settings.
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import pytest

#: The fixtures this kit provides (all of them need the testing extra).
KIT_FIXTURES = ("discord_emulator", "fake_comfyui", "comfyui_client", "discomfy_bot",
                "discomfy_root", "discomfy_settings")
#: Extra that brings the kit's optional dependencies; named in the message when one is missing.
EXTRA = "testing"

try:
    import pytest_asyncio  # noqa: F401  (the kit's async fixtures are pytest-asyncio fixtures)
except ImportError as exc:  # the testing extra is not installed: stay out of the way
    MISSING: str | None = exc.name or "pytest_asyncio"
else:
    MISSING = None


def missing_extra_message(fixture: str, module: str) -> str:
    return (f"the DisComfy fixture '{fixture}' needs the '{EXTRA}' extra, which is not installed "
            f"(no module named '{module}'): pip install 'discomfy[{EXTRA}]'")


def _unavailable(name: str) -> Any:
    def fixture() -> None:
        pytest.fail(missing_extra_message(name, str(MISSING)), pytrace=False)

    fixture.__name__ = name
    fixture.__doc__ = f"Unavailable: needs pip install 'discomfy[{EXTRA}]'."
    return pytest.fixture(name=name)(fixture)


if MISSING is None:
    # These import discord.py, which imports the deprecated audioop (for voice, which DisComfy
    # never uses). pytest loads this module before any project's filterwarnings apply, so the
    # warning would show in every pytest run of an environment with DisComfy installed.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="'audioop' is deprecated", category=DeprecationWarning)
        from discomfy.testing.bot_fixtures import discomfy_bot, discomfy_root, discomfy_settings  # noqa: F401
        from discomfy.testing.comfyui_fixtures import comfyui_client, fake_comfyui  # noqa: F401
        from discomfy.testing.discord_fixtures import discord_emulator  # noqa: F401

    @pytest.hookimpl(tryfirst=True)
    def pytest_pycollect_makeitem(collector: Any, name: str, obj: Any) -> None:
        """Mark async tests using the kit for asyncio before pytest-asyncio sorts them."""
        if not (inspect.iscoroutinefunction(obj) and collector.funcnamefilter(name)):
            return
        try:
            wanted = inspect.signature(obj).parameters
        except (TypeError, ValueError):
            return
        already = any(getattr(m, "name", None) == "asyncio" for m in getattr(obj, "pytestmark", []))
        if not already and any(name in wanted for name in KIT_FIXTURES):
            pytest.mark.asyncio(obj)
else:
    for _name in KIT_FIXTURES:
        globals()[_name] = _unavailable(_name)
