"""Fault-injection fixtures: the real bot between the emulator and the fake ComfyUI, plus a
session-wide tally of jobs run, faults injected, jobs lost and results delivered twice.

The tally is printed at the end of the run (``pytest tests/faults``; see tests/figures.py) so the
figures quoted in the issue's closing note come from an actual run, not from memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from discomfy.testing.bot_harness import build_config
from tests.conftest import REPO_ROOT
from tests.figures import fault_rows


@dataclass
class FaultFigures:
    rows: list[tuple[str, int, int, int, int, int, int]] = field(default_factory=list)

    async def audit(self, request, emu, config, users, *, faults: int):
        """Audit a scenario's jobs, record its figures, and check what every scenario must
        hold: no job lost, no result delivered twice. Returns the audit for further checks."""
        from tests.faults.audit import audit_jobs

        audit = await audit_jobs(emu, config, users)
        self.record(request.node.name, audit, faults=faults)
        assert not audit.lost and audit.duplicates == 0, audit.explain()
        return audit

    def record(self, test: str, audit, faults: int) -> None:
        """One scenario's outcome: call it before asserting, so a failing run still reports."""
        self.rows.append((test, audit.jobs, faults, audit.delivered, audit.failed, len(audit.lost), audit.duplicates))


@pytest.fixture(scope="session")
def fault_figures(pytestconfig) -> FaultFigures:
    return FaultFigures(rows=fault_rows(pytestconfig))


@pytest.fixture
def bot_config(tmp_path, discord_emulator, fake_comfyui):
    return build_config(tmp_path, emulator=discord_emulator, comfyui_url=fake_comfyui.url,
                        plugin_dirs=[REPO_ROOT / "plugins"], workflow_dirs=[REPO_ROOT / "workflows"])
