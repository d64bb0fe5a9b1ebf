"""No ``asyncio.wait_for`` in the bot, its plugins or its test servers.

On Python 3.11, ``wait_for`` returns the awaited result when its task is cancelled in the same
instant the result arrives, swallowing the cancel (fixed in 3.12). A job's follower hit it when the
bot stopped while an event came in: it went on waiting and the shutdown hung (see
``test_a_follower_stopped_as_an_event_arrives_stops``). ``asyncio.timeout`` has no such gap.
"""

from __future__ import annotations

import ast

from tests.conftest import REPO_ROOT

CHECKED = ("discomfy", "plugins")


def wait_for_calls() -> list[str]:
    found = []
    files = [path for folder in CHECKED for path in sorted((REPO_ROOT / folder).rglob("*.py"))]
    assert len(files) > 50, "the checked folders moved: this test would pass over nothing"
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "asyncio.wait_for":
                found.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}")
    return found


def test_no_code_waits_with_asyncio_wait_for():
    assert wait_for_calls() == [], "use `async with asyncio.timeout(t): await ...` instead"
