"""The crash-point table: per scenario, how many points and how each ended (printed at the end
of the run by tests/figures.py, so the figures quoted in the issue's closing note come from an
actual run)."""

from __future__ import annotations

import pytest

from tests.figures import crash_rows


@pytest.fixture(scope="session")
def crash_table(pytestconfig) -> list:
    return crash_rows(pytestconfig)
