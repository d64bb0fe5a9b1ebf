"""``discomfy render`` reads arguments as Discord would and names every problem at once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from discomfy.core.comfyui.workflows import load_manifest
from discomfy.core.comfyui.workflows.server_check import check_choices_before_queue
from discomfy.exceptions import WorkflowError
from discomfy.testing.fake_comfyui.catalog import recorded_nodes

from tests.conftest import REPO_ROOT

DISCOMFY = str(Path(sys.executable).with_name("discomfy"))


def render(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DISCOMFY, "--root", str(REPO_ROOT), "render", *args],
                          capture_output=True, text=True, timeout=120)


def test_model_picks_the_commands_model_as_discord_does() -> None:
    sdxl = render("generate", "model=sdxl", "prompt=a fox", "seed=5")
    assert sdxl.returncode == 0, sdxl.stderr
    classes = {node["class_type"] for node in json.loads(sdxl.stdout).values()}
    assert "CheckpointLoaderSimple" in classes  # the SDXL pack, not FLUX's UNETLoader graph

    flux = render("generate", "model=flux", "prompt=a fox", "seed=5")
    assert flux.returncode == 0, flux.stderr
    assert "UNETLoader" in {node["class_type"] for node in json.loads(flux.stdout).values()}


def test_an_unknown_model_is_refused_with_the_nearest_and_the_list() -> None:
    result = render("generate", "model=sdxll", "prompt=x")
    assert result.returncode == 1
    assert "`sdxll` is not a model of /generate. Did you mean `sdxl`?" in result.stderr
    assert "`flux`" in result.stderr and result.stdout == ""


def test_every_bad_argument_is_reported_at_once() -> None:
    result = render("generate", "prompt=x", "stpes=30", "steps=lots", "seed=1", "seed=2", "guidance=99", "oops")
    assert result.returncode == 1 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert "`stpes` is not an option of model flux of /generate. Did you mean `steps`?" in result.stderr
    assert "`steps` must be a whole number (you gave `lots`)." in lines
    assert "`seed` is given more than once; give each option once." in lines
    assert any(line.startswith("`guidance` must be between") for line in lines)
    assert "`oops` is not `key=value`; write e.g. `steps=30`." in lines
    assert len(lines) == 5


def test_the_missing_model_message_names_every_missing_file() -> None:
    spec = load_manifest(REPO_ROOT / "plugins" / "generate", plugin="generate")
    assert len(spec.model_files) >= 2
    try:
        check_choices_before_queue(spec, {"prompt": "x"}, recorded_nodes())
    except WorkflowError as exc:
        message = exc.user_message
    else:
        raise AssertionError("the recorded server has none of FLUX's files, yet nothing was missing")
    for needed in spec.model_files:
        assert f"`{needed.filename}`" in message
    assert "are not installed on the ComfyUI server" in message
