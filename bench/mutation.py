"""Issue 21 point 5: mutation testing of the exactly-once modules, as a gate.

For each critical module, mutmut (3.x) breaks the code one small change at a time (a flipped
condition, a dropped argument, a changed string) and runs the tests that reach the changed
function; a change no test notices is a *survivor*: either a gap in the tests or a change that
alters nothing a user or operator could see (an *equivalent* mutant, listed with its reason in
docs/mutation.md). Printed per module: mutants, killed, equivalent, survivors and the score
``killed / (mutants - equivalent)``; the exit status is 1 while any non-equivalent mutant
survives, so this can gate a release.

Each module has its own fast test selection (``MODULES``): the unit tests of tests/core and the
focused tests of tests/bot that drive it, a few seconds per mutant. mutmut mutates a *copy*:
every module is staged in its own folder outside the repository (``--workdir``, default
``$TMPDIR/discomfy-mutation``: the last commit, or with ``--worktree`` the working tree's
files, plus a ``[tool.mutmut]`` section naming that module and its tests), and mutmut writes its mutants under that folder's
``mutants/``. Nothing in the working tree is ever changed, so other runs of the tests are safe.
One worker (``--max-children 1``) by default: the machine is shared.

    .venv/bin/python bench/mutation.py                  # every module (~1 hour on 2 shared cores)
    .venv/bin/python bench/mutation.py rows transitions # some of them
    .venv/bin/python bench/mutation.py --list           # the modules and their tests
    .venv/bin/python bench/mutation.py --report         # the scores of the last run, no new run
    .venv/bin/python bench/mutation.py --survivors store  # only the last run's survivors, with today's tests
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _mutation_equivalents import Equivalent, load_equivalents  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MUTMUT = Path(sys.executable).parent / "mutmut"  # a console script: mutmut refuses `python -m mutmut run`


@dataclass(frozen=True)
class Module:
    """One module under mutation and the tests that must notice every change to it."""

    path: str
    tests: tuple[str, ...]  # pytest's arguments: test files, and a -k where one is needed
    #: a mutant whose tests run past this many times their usual time counts as a timeout
    #: (noticed); mutmut's default is 15
    timeout_multiplier: float | None = None

    @property
    def dotted(self) -> str:
        return self.path.removesuffix(".py").replace("/", ".")


#: The store's tests run on SQLite only here: these modules build every statement in SQLite's
#: dialect and hand it to an engine, so the PostgreSQL copy of each test exercises the same
#: lines through another engine (store_postgres.py, not mutated) and would only add a server
#: start to every mutant's run. Tests that exist for PostgreSQL alone still run.
SQLITE_ONLY = ("-k", "not postgresql]")
#: The one line of store.py only PostgreSQL reads: the advisory lock that serialises a user's
#: admissions (SQLite's write lock serialises every write), so the two-process admission test
#: also runs on PostgreSQL for the store.
SQLITE_AND_PG_ADMISSION = ("-k", "not postgresql] or admitting_at_once")

MODULES: dict[str, Module] = {
    "transitions": Module("discomfy/core/jobs/transitions.py", (
        "tests/core/test_job_store.py", "tests/core/test_store_guards.py", *SQLITE_ONLY)),
    "rows": Module("discomfy/core/jobs/rows.py", (
        "tests/core/test_job_store.py", "tests/core/test_store_guards.py", *SQLITE_ONLY)),
    "store": Module("discomfy/core/jobs/store.py", (
        "tests/core/test_job_store.py", "tests/core/test_store_guards.py", "tests/core/test_preferences.py",
        "tests/core/test_admission.py", *SQLITE_AND_PG_ADMISSION)),
    "delivery_protocol": Module("discomfy/bot/delivery_protocol.py", (
        "tests/bot/test_delivery_races.py", "tests/bot/test_delivery_guards.py", "tests/bot/test_delivery_told.py")),
    # a recovery mutant that hangs (waits for a delivery that never comes) would hold the one
    # worker 15 x ~13 s; 5 x stays far above a loaded machine's slowest honest run (~2x).
    "recovery": Module("discomfy/bot/recovery.py", (
        "tests/bot/test_restart_recovery.py", "tests/bot/test_recovery_resumes.py", "tests/bot/test_recovery_images.py",
        "tests/bot/test_recovery_shown.py", "tests/bot/test_recovery_jobs.py", "tests/bot/test_recovery_follows.py",
        "tests/bot/test_recovery_server_down.py"),
        timeout_multiplier=5.0),
    "affinity": Module("discomfy/core/scheduling/affinity.py", (
        "tests/core/test_scheduling_policy.py", "tests/core/test_scheduling_aging_checks.py",
        "tests/core/test_scheduling_promises.py", "tests/core/test_scheduling_vram_confirm.py",
        "tests/core/test_scheduling_running_jobs.py", "tests/core/test_scheduling_server_choice.py",
        "tests/core/test_scheduling_pick_order.py", "tests/core/test_scheduling_bookkeeping.py")),
}

#: mutmut's exit codes per mutant (mutmut.stats.status_by_exit_code), folded into what counts:
#: a timeout or a crash is a test that failed, so the change was noticed.
KILLED = {1: "killed", 3: "killed", 36: "timeout", -24: "timeout", 24: "timeout", 152: "timeout",
          255: "timeout", -11: "crashed", -9: "crashed"}
NOT_RUN = {None: "not checked", 2: "interrupted", 33: "no tests", 5: "no tests", 34: "skipped"}


@dataclass
class Score:
    name: str
    total: int = 0
    killed: int = 0
    equivalent: list[str] = field(default_factory=list)
    survivors: list[str] = field(default_factory=list)  # survived, or no test reaches them
    diffs: dict[str, str] = field(default_factory=dict)

    @property
    def score(self) -> float:
        counted = self.total - len(self.equivalent)
        return 100.0 if counted == 0 else 100.0 * self.killed / counted


def stage(module: Module, where: Path, worktree: bool) -> None:
    """A fresh copy of the last commit (or, with ``worktree``, of the working tree's tracked
    files as they are now), configured for this module alone."""
    if where.exists():
        shutil.rmtree(where)
    where.mkdir(parents=True)
    if worktree:
        files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT, check=True, capture_output=True).stdout
        for name in filter(None, files.decode().split("\0")):
            source = ROOT / name
            if source.is_file():
                target = where / name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
    else:
        archive = subprocess.run(["git", "archive", "HEAD"], cwd=ROOT, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(where)], input=archive, check=True)
    config = {
        "source_paths": ["discomfy"],
        "only_mutate": [module.path],
        # one process per mutant run (pyproject's addopts ask xdist for 4); a hung mutant fails
        # at pytest-timeout's limit, not mutmut's
        "pytest_add_cli_args": ["-n", "0", "-p", "no:cacheprovider"],
        "pytest_add_cli_args_test_selection": list(module.tests),
        "also_copy": ["plugins", "workflows"],
    }
    if module.timeout_multiplier is not None:
        config["timeout_multiplier"] = module.timeout_multiplier
    lines = [f"{key} = {json.dumps(value)}" for key, value in config.items()]
    with (where / "pyproject.toml").open("a") as out:
        out.write("\n[tool.mutmut]\n" + "\n".join(lines) + "\n")


def run(where: Path, max_children: int, mutants: list[str] = ()) -> int:
    log = where / "mutmut.log"
    with log.open("w") as out:
        done = subprocess.run([str(MUTMUT), "run", "--max-children", str(max_children), *mutants], cwd=where,
                              stdout=out, stderr=subprocess.STDOUT)
    return done.returncode


def rerun_survivors(module: Module, where: Path, worktree: bool, max_children: int) -> int:
    """Stage afresh (the tests as they are now) and run again only the mutants the last run
    left alive; the verdicts of the mutants it killed are kept. Only valid while the module
    itself is unchanged (its mutants then keep their numbers), which is checked; tests are
    only ever added or sharpened, so a mutant killed stays killed. A full run stays the
    reference: this is for the loop of writing a test and seeing its survivors go."""
    meta = where / "mutants" / (module.path + ".meta")
    if not meta.exists():
        raise SystemExit(f"--survivors needs a finished run in {where}")
    before = json.loads(meta.read_text())["exit_code_by_key"]
    source = (where / module.path).read_bytes()
    stage(module, where, worktree)
    if (where / module.path).read_bytes() != source:
        raise SystemExit(f"{module.path} changed since the last run: its mutants were renumbered; run it in full")
    survivors = sorted(m for m, code in before.items() if code not in KILLED)
    code = run(where, max_children, survivors)
    merged = json.loads(meta.read_text())
    merged["exit_code_by_key"] = {**before, **{m: merged["exit_code_by_key"].get(m) for m in survivors}}
    meta.write_text(json.dumps(merged))
    return code


#: prints {mutant: diff} for the mutants named on the command line, in one process (one
#: ``mutmut show`` per survivor costs a start of mutmut each)
_DIFFS = """
import json, sys
from mutmut.mutation.diff_apply import get_diff_for_mutant
print(json.dumps({name: get_diff_for_mutant(name, path=sys.argv[1]) for name in sys.argv[2:]}))
"""


def diffs_of(where: Path, path: str, mutants: list[str]) -> dict[str, str]:
    """The changed lines of each mutant, as ``mutmut show`` gives them (``-`` original, ``+`` mutant)."""
    if not mutants:
        return {}
    shown = subprocess.run([sys.executable, "-c", _DIFFS, path, *mutants], cwd=where, capture_output=True,
                           text=True, check=True).stdout
    return {name: "\n".join(line for line in diff.splitlines() if line[:1] in "-+" and not line.startswith(("---", "+++")))
            for name, diff in json.loads(shown).items()}


def score(name: str, module: Module, where: Path, equivalents: list[Equivalent]) -> Score:
    meta = where / "mutants" / (module.path + ".meta")
    if not meta.exists():
        raise SystemExit(f"{name}: no mutmut results in {meta} (see {where / 'mutmut.log'})")
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    result = Score(name, total=len(codes))
    result.diffs = diffs_of(where, module.path, sorted(m for m, code in codes.items() if code not in KILLED))
    for mutant, code in sorted(codes.items()):
        if code in KILLED:
            result.killed += 1
            continue
        diff = result.diffs[mutant]
        if code == 0 and any(e.matches(module.path, mutant, diff) for e in equivalents):
            result.equivalent.append(mutant)
        else:
            status = "survived" if code == 0 else NOT_RUN.get(code, f"exit code {code}")
            result.survivors.append(f"{mutant} ({status})")
    return result


def report(scores: list[Score]) -> None:
    print(f"{'module':<20}{'mutants':>9}{'killed':>8}{'equiv.':>8}{'survive':>9}{'score':>9}")
    for s in scores:
        print(f"{s.name:<20}{s.total:>9}{s.killed:>8}{len(s.equivalent):>8}{len(s.survivors):>9}"
              f"{s.score:>8.1f}%")
    for s in scores:
        for survivor in s.survivors:
            mutant = survivor.split(" ")[0]
            print(f"\n{survivor}\n{s.diffs.get(mutant, '')}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", metavar="module", help=f"some of: {', '.join(MODULES)} (default: all)")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "discomfy-mutation")
    parser.add_argument("--max-children", type=int, default=1, help="mutants run at once (default 1)")
    parser.add_argument("--worktree", action="store_true",
                        help="mutate the working tree as it is (default: the last commit, HEAD)")
    parser.add_argument("--report", action="store_true", help="score the last run again without running")
    parser.add_argument("--survivors", action="store_true",
                        help="run again only the last run's survivors, with the tests as they are now")
    parser.add_argument("--list", action="store_true", help="print the modules and their tests")
    args = parser.parse_args(argv)
    names = args.modules or list(MODULES)
    unknown = [name for name in names if name not in MODULES]
    if unknown:
        parser.error(f"no module {', '.join(unknown)}; the modules are {', '.join(MODULES)}")
    if args.list:
        for name in names:
            print(f"{name}: {MODULES[name].path} <- {' '.join(MODULES[name].tests)}")
        return 0
    workdir = args.workdir.resolve()
    if workdir == ROOT or ROOT in workdir.parents:
        raise SystemExit("--workdir must be outside the repository: mutmut's copies must not mix with it")
    equivalents = load_equivalents(ROOT / "docs" / "mutation.md")
    scores = []
    for name in names:
        where = workdir / name
        if args.survivors:
            print(f"{name}: running the survivors of the last run of {MODULES[name].path} again ...", flush=True)
            code = rerun_survivors(MODULES[name], where, args.worktree, args.max_children)
            if code != 0:
                print(f"{name}: mutmut exited with {code}; see {where / 'mutmut.log'}", file=sys.stderr)
        elif not args.report:
            stage(MODULES[name], where, args.worktree)
            print(f"{name}: mutating {MODULES[name].path} in {where} ...", flush=True)
            code = run(where, args.max_children)
            if code != 0:
                print(f"{name}: mutmut exited with {code}; see {where / 'mutmut.log'}", file=sys.stderr)
        scores.append(score(name, MODULES[name], where, equivalents))
    report(scores)
    return 0 if all(not s.survivors for s in scores) else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    sys.exit(main())
