"""docs/mutation.md's equivalent mutants are what bench/mutation.py reads: each row parses, names
a module the script mutates and a function that module still has, and the matching rules the
doc describes (by function and mutated line, not by mutmut's number) hold."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from _mutation_equivalents import Equivalent, function_of, load_equivalents, mutated_line  # noqa: E402
from mutation import MODULES  # noqa: E402

DOC = ROOT / "docs" / "mutation.md"


def functions_in(path: str) -> set[str]:
    names = set()
    for node in ast.parse((ROOT / path).read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names |= {f"{node.name}.{item.name}" for item in node.body
                      if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))}
    return names


def test_every_equivalent_names_a_mutated_module_a_function_it_has_and_a_reason():
    equivalents = load_equivalents(DOC)
    assert len(equivalents) >= 9
    mutated = {module.path for module in MODULES.values()}
    for entry in equivalents:
        assert entry.path in mutated, entry
        assert entry.function in functions_in(entry.path), entry
        assert len(entry.reason.split()) >= 5, entry


def test_a_survivor_is_excused_by_function_and_mutated_line_whatever_its_number():
    entry = Equivalent("discomfy/core/jobs/rows.py", "guard", 'sql += " and prompt_id is ?"', "case-insensitive SQL")
    diff = '-        sql += " AND prompt_id IS ?"\n+        sql += " and prompt_id is ?"'
    for number in (12, 40):
        assert entry.matches("discomfy/core/jobs/rows.py", f"discomfy.core.jobs.rows.x_guard__mutmut_{number}", diff)
    assert not entry.matches("discomfy/core/jobs/rows.py", "discomfy.core.jobs.rows.x_encode__mutmut_12", diff)
    assert not entry.matches("discomfy/core/jobs/store.py", "discomfy.core.jobs.store.x_guard__mutmut_12", diff)
    other = '-        sql += " AND prompt_id IS ?"\n+        sql += " AND prompt_id IS NOT ?"'
    assert not entry.matches("discomfy/core/jobs/rows.py", "discomfy.core.jobs.rows.x_guard__mutmut_12", other)


@pytest.mark.parametrize(("mutant", "function"), [
    ("discomfy.core.jobs.rows.x_encode__mutmut_4", "encode"),
    ("discomfy.core.jobs.store.xǁJobStoreǁfinish__mutmut_17", "JobStore.finish"),
])
def test_mutmut_names_map_to_functions_and_methods(mutant, function):
    assert function_of(mutant) == function


def test_a_mutant_that_only_deletes_is_named_by_the_line_it_removes():
    assert mutated_line("-    await editor.stop()") == "removed: await editor.stop()"


def test_a_module_is_staged_outside_the_repository_configured_for_itself_alone(tmp_path):
    """What docs/mutation.md promises about a run: mutmut works on a copy (the last commit),
    told to mutate this one module and to run only its selection, one pytest process each."""
    import tomllib

    from mutation import stage

    where = tmp_path / "rows"
    stage(MODULES["rows"], where, worktree=False)
    config = tomllib.loads((where / "pyproject.toml").read_text())["tool"]["mutmut"]
    assert config["only_mutate"] == ["discomfy/core/jobs/rows.py"]
    assert config["pytest_add_cli_args_test_selection"] == list(MODULES["rows"].tests)
    assert config["pytest_add_cli_args"][:2] == ["-n", "0"]
    committed = subprocess.run(["git", "show", "HEAD:discomfy/core/jobs/rows.py"], cwd=ROOT, capture_output=True,
                               check=True).stdout
    assert (where / "discomfy" / "core" / "jobs" / "rows.py").read_bytes() == committed


def test_a_workdir_inside_the_repository_is_refused():
    from mutation import main

    with pytest.raises(SystemExit, match="outside the repository"):
        main(["rows", "--workdir", str(ROOT / "mutation-work")])
    assert not (ROOT / "mutation-work").exists()


def test_every_module_and_test_file_of_the_selections_exists():
    for module in MODULES.values():
        assert (ROOT / module.path).is_file(), module.path
        files = [arg for arg in module.tests if arg.endswith(".py")]
        assert files and all((ROOT / name).is_file() for name in files), module


def test_rerunning_survivors_is_refused_once_the_module_changed(tmp_path):
    """``--survivors`` keeps the last run's kills, which is sound only while the mutated module
    is the same file (its mutants keep their numbers): a changed module asks for a full run."""
    import json

    from mutation import rerun_survivors

    module = MODULES["rows"]
    where = tmp_path / "rows"
    meta = where / "mutants" / (module.path + ".meta")
    meta.parent.mkdir(parents=True)
    meta.write_text(json.dumps({"exit_code_by_key": {"discomfy.core.jobs.rows.x_guard__mutmut_1": 0}}))
    (where / module.path).parent.mkdir(parents=True, exist_ok=True)
    (where / module.path).write_text("# an older rows.py\n")
    with pytest.raises(SystemExit, match="changed since the last run"):
        rerun_survivors(module, where, worktree=False, max_children=1)
