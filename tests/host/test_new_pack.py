"""``discomfy new-pack``: names checked up front, every problem at once, image sizes offered."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from discomfy.cli import main

DISCOMFY = str(Path(sys.executable).with_name("discomfy"))


def export(folder: Path, graph: dict) -> Path:
    path = folder / "export_api.json"
    path.write_text(json.dumps(graph))
    return path


EMPTY_IMAGE = {
    "1": {"class_type": "EmptyImage", "inputs": {"width": 640, "height": 360, "batch_size": 1, "color": 0}},
    "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
    "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "inv"}},
}
SCALE_AN_UPLOAD = {
    "1": {"class_type": "LoadImage", "inputs": {"image": "example.png"}},
    "2": {"class_type": "ImageScale", "inputs": {"image": ["1", 0], "upscale_method": "lanczos",
                                                 "width": 1024, "height": 768, "crop": "disabled"}},
    "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "scaled"}},
}


def test_a_bad_name_is_refused_with_the_fixed_one_and_nothing_is_written(tmp_path: Path) -> None:
    source = export(tmp_path, EMPTY_IMAGE)
    result = subprocess.run([DISCOMFY, "--root", str(tmp_path), "new-pack", "Bad-Name", "--from", str(source)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "'Bad-Name' is not a valid name" in result.stderr and "try 'bad-name'" in result.stderr
    assert not (tmp_path / "workflows" / "Bad-Name").exists()


def test_every_problem_is_reported_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "workflows" / "taken").mkdir(parents=True)
    ui_export = tmp_path / "ui.json"
    ui_export.write_text(json.dumps({"nodes": [], "links": []}))
    assert main(["--root", str(tmp_path), "new-pack", "taken", "--from", str(ui_export), "--command", "My Command"]) == 1
    err = capsys.readouterr().err
    assert "3 problem(s)" in err
    assert "'My Command' is not a valid name" in err and "try 'my-command'" in err
    assert "already exists" in err
    assert "Save (API)" in err


def test_an_empty_image_export_offers_width_and_height(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = export(tmp_path, EMPTY_IMAGE)
    assert main(["--root", str(tmp_path), "new-pack", "negative", "--from", str(source)]) == 0
    schema = json.loads((tmp_path / "workflows" / "negative" / "params.schema.json").read_text())
    assert schema["properties"]["width"]["default"] == 640 and schema["properties"]["height"]["default"] == 360
    assert "batch" in schema["properties"]
    capsys.readouterr()
    assert main(["--root", str(tmp_path), "check"]) == 0, capsys.readouterr()
    capsys.readouterr()

    assert main(["--root", str(tmp_path), "render", "negative"]) == 0
    assert json.loads(capsys.readouterr().out)["1"]["inputs"] == EMPTY_IMAGE["1"]["inputs"]  # defaults = the export
    assert main(["--root", str(tmp_path), "render", "negative", "width=300", "height=200", "batch=2"]) == 0
    assert json.loads(capsys.readouterr().out)["1"]["inputs"] == {"width": 300, "height": 200, "batch_size": 2, "color": 0}


def test_a_resize_node_export_offers_its_size(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = export(tmp_path, SCALE_AN_UPLOAD)
    assert main(["--root", str(tmp_path), "new-pack", "resize", "--from", str(source)]) == 0
    schema = json.loads((tmp_path / "workflows" / "resize" / "params.schema.json").read_text())
    assert {"image", "width", "height"} <= set(schema["properties"])
    capsys.readouterr()
    assert main(["--root", str(tmp_path), "check"]) == 0, capsys.readouterr()
    capsys.readouterr()
    assert main(["--root", str(tmp_path), "render", "resize", "image=cat.png", "width=512", "height=512"]) == 0
    scaled = json.loads(capsys.readouterr().out)["2"]["inputs"]
    assert (scaled["width"], scaled["height"]) == (512, 512)


def test_render_refuses_a_pack_that_failed_to_load(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pack = tmp_path / "workflows" / "Broken"
    pack.mkdir(parents=True)
    (pack / "workflow.json").write_text(json.dumps(EMPTY_IMAGE))
    (pack / "params.schema.json").write_text(json.dumps({"type": "object", "properties": {}}))
    (pack / "manifest.toml").write_text('name = "Broken"\ncommand = "Broken"\n')
    assert main(["--root", str(tmp_path), "render", "Broken"]) == 1
    assert "Broken failed to load, so the bot would not serve it" in capsys.readouterr().err
