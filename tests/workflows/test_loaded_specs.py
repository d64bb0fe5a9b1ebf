"""A spec loaded once is reused by every later bot in the process only while nothing it was
loaded from changed: its files, its owner, the plugin strategies it could use."""

from __future__ import annotations

from wf_helpers import SHIPPED, copy_pack

from discomfy.core.comfyui.workflows import load_manifest
from discomfy.core.comfyui.workflows.loaded import load_shared, strategies_stamp


class Counting:
    """Loads a manifest and counts how often it really did."""

    def __init__(self, manifest):
        self.manifest, self.loads = manifest, 0

    def __call__(self):
        self.loads += 1
        return load_manifest(self.manifest, check=False)


class Shout:
    name = "shout"

    def __init__(self, volume: int) -> None:
        self.volume = volume

    def apply(self, graph, values, spec):  # pragma: no cover - never rendered here
        return graph


def test_an_unchanged_pack_is_loaded_once_and_an_edit_loads_it_again(tmp_path):
    pack = copy_pack(SHIPPED["generate-sdxl"], tmp_path / "workflows", "sdxl")
    manifest = pack / "manifest.toml"
    load = Counting(manifest)
    first = load_shared(manifest, "sdxl", [], load)
    assert load_shared(manifest, "sdxl", [], load) is first and load.loads == 1

    manifest.write_text(manifest.read_text().replace('model = "sdxl"', 'model = "sdxl-edited"'))
    edited = load_shared(manifest, "sdxl", [], load)
    assert load.loads == 2 and edited.model == "sdxl-edited"
    assert load_shared(manifest, "another-owner", [], load) is not edited and load.loads == 3


def test_other_plugin_strategies_load_the_pack_again(tmp_path):
    manifest = copy_pack(SHIPPED["generate-sdxl"], tmp_path / "workflows", "sdxl") / "manifest.toml"
    load = Counting(manifest)
    quiet = load_shared(manifest, "sdxl", [Shout(1)], load)
    assert load_shared(manifest, "sdxl", [Shout(1)], load) is quiet, "an equal strategy from a re-imported plugin"
    assert load_shared(manifest, "sdxl", [Shout(2)], load) is not quiet
    assert load.loads == 2


def test_a_strategy_that_cannot_be_identified_is_never_trusted(tmp_path):
    class Local(Shout):  # defined in a function: another definition may behave differently
        pass

    manifest = copy_pack(SHIPPED["generate-sdxl"], tmp_path / "workflows", "sdxl") / "manifest.toml"
    load = Counting(manifest)
    load_shared(manifest, "sdxl", [Local(1)], load)
    load_shared(manifest, "sdxl", [Local(1)], load)
    assert load.loads == 2
    assert strategies_stamp([Shout(object())]) is None, "an attribute printed as an address"


def test_functions_are_told_apart_by_their_code_and_what_they_close_over():
    def accepting(*classes):
        return lambda cls: cls in classes

    assert strategies_stamp([Shout(accepting("A"))]) == strategies_stamp([Shout(accepting("A"))])
    assert strategies_stamp([Shout(accepting("A"))]) != strategies_stamp([Shout(accepting("B"))])
    assert strategies_stamp([Shout(lambda cls: cls == "A")]) != strategies_stamp([Shout(lambda cls: cls != "A")])
