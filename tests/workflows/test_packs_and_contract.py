"""Packs: a data pack in a temporary workflows/ folder loads with no code; broken packs are
reported naming plugin, file, node and input, and the other packs still load."""

from __future__ import annotations

import json

import pytest
from wf_helpers import SHIPPED, copy_pack

from discomfy.core.comfyui.workflows import (
    PackLoadError,
    StrategyRegistry,
    WorkflowUpdater,
    builtin_strategies,
    group_commands,
    load_manifest,
    load_packs,
)


def _edit(path, fn):
    data = json.loads(path.read_text())
    fn(data)
    path.write_text(json.dumps(data))


def test_a_data_pack_in_a_temporary_folder_becomes_a_model(tmp_path, shipped_specs):
    pack = copy_pack(SHIPPED["generate-sdxl"], tmp_path / "workflows", "sdxl_turbo")
    text = (pack / "manifest.toml").read_text().replace('"generate-sdxl"', '"generate-turbo"')
    (pack / "manifest.toml").write_text(text.replace('model = "sdxl"', 'model = "turbo"'))
    report = load_packs(tmp_path / "workflows")
    assert report.ok and [s.model for s in report.specs] == ["turbo"]
    commands = group_commands([shipped_specs["generate-flux"], *report.specs])
    assert commands["generate"].models == ["flux", "turbo"]
    graph = WorkflowUpdater().render(report.specs[0], {"prompt": "a boat"}).graph
    assert graph["2"]["inputs"]["text"] == "a boat"


def test_broken_packs_are_named_and_the_others_still_load(tmp_path):
    root = tmp_path / "workflows"
    copy_pack(SHIPPED["generate-sdxl"], root, "good")
    missing = copy_pack(SHIPPED["generate-sdxl"], root, "missing_target")
    (missing / "manifest.toml").write_text((missing / "manifest.toml").read_text().replace('"5.steps"', '"55.steps"'))
    ui = copy_pack(SHIPPED["generate-sdxl"], root, "ui_export")
    (ui / "workflow.json").write_text(json.dumps({"last_node_id": 9, "nodes": [{"id": 3, "type": "KSampler"}],
                                                  "links": [], "version": 0.4}))
    bad_schema = copy_pack(SHIPPED["generate-sdxl"], root, "bad_schema")
    _edit(bad_schema / "params.schema.json", lambda s: s["properties"]["steps"].update(minimum="ten"))
    for name in ("missing_target", "ui_export", "bad_schema"):
        text = (root / name / "manifest.toml").read_text()
        (root / name / "manifest.toml").write_text(text.replace('"generate-sdxl"', f'"{name}"')
                                                   .replace('model = "sdxl"', f'model = "{name}"'))
    report = load_packs(root)
    assert [s.plugin for s in report.specs] == ["good"]
    by_plugin = {p.plugin: p for p in report.problems}
    assert set(by_plugin) == {"missing_target", "ui_export", "bad_schema"}
    target = by_plugin["missing_target"]
    assert (target.file, target.node, target.input) == ("workflow.json", "55", "steps")
    assert "55" in str(target) and "`steps`" in str(target) and "missing_target" in str(target)
    assert by_plugin["ui_export"].file == "workflow.json" and "Save (API)" in by_plugin["ui_export"].message
    assert by_plugin["bad_schema"].file == "params.schema.json" and "steps" in str(by_plugin["bad_schema"])


def test_a_parameter_written_nowhere_is_reported(tmp_path):
    pack = copy_pack(SHIPPED["generate-sdxl"], tmp_path, "unbound")
    (pack / "manifest.toml").write_text((pack / "manifest.toml").read_text().replace('cfg = "5.cfg"\n', ""))
    with pytest.raises(PackLoadError) as err:
        load_manifest(pack)
    [problem] = err.value.problems
    assert problem.plugin == "unbound" and problem.file == "params.schema.json"
    assert "`cfg` changes nothing" in problem.message


def test_binding_to_a_missing_input_and_a_bad_title_are_reported(tmp_path):
    pack = copy_pack(SHIPPED["generate-sdxl"], tmp_path, "typo")
    text = (pack / "manifest.toml").read_text().replace('"5.cfg"', '"5.cfg_scale"')
    (pack / "manifest.toml").write_text(text.replace("title:Negative Prompt", "title:Negativ Prompt"))
    with pytest.raises(PackLoadError) as err:
        load_manifest(pack)
    located = {(p.node, p.input) for p in err.value.problems}
    assert ("5", "cfg_scale") in located and (None, "text") in located
    assert any("Negativ Prompt" in p.message for p in err.value.problems)


def test_an_example_that_does_not_render_is_reported(tmp_path):
    pack = copy_pack(SHIPPED["generate-sdxl"], tmp_path, "bad_example")
    _edit(pack / "params.schema.json", lambda s: s["examples"].append({"prompt": "x", "steps": 500}))
    with pytest.raises(PackLoadError, match="schema example 2"):
        load_manifest(pack)


def test_unknown_strategy_is_refused_and_a_plugin_strategy_works(tmp_path):
    pack = copy_pack(SHIPPED["generate-sdxl"], tmp_path, "custom")
    text = (pack / "manifest.toml").read_text()
    (pack / "manifest.toml").write_text(text.replace('strategies = [', 'strategies = ["stamp", '))
    with pytest.raises(PackLoadError, match="unknown strategy `stamp`"):
        load_manifest(pack)

    class Stamp:
        name, order, consumes, produces, inserts = "stamp", 90, (), (), ()

        def apply(self, graph, params, context):
            graph["7"]["inputs"]["filename_prefix"] = f"stamped/{params['seed']}"

    registry = StrategyRegistry(builtin_strategies())
    registry.register(Stamp(), owner="stamp-plugin")
    spec = load_manifest(pack, registry=registry)
    graph = WorkflowUpdater(registry).render(spec, {"prompt": "x", "seed": 9}).graph
    assert graph["7"]["inputs"]["filename_prefix"] == "stamped/9"
    with pytest.raises(Exception, match="registered twice"):
        registry.register(Stamp(), owner="other")


def test_two_packs_offering_the_same_model_are_reported(tmp_path):
    copy_pack(SHIPPED["generate-sdxl"], tmp_path, "a")
    copy_pack(SHIPPED["generate-sdxl"], tmp_path, "b")
    report = load_packs(tmp_path)
    assert any("already used by plugin a" in p.message for p in report.problems)


def test_check_verifies_a_strategys_rewiring_against_the_node_definitions(tmp_path):
    """`discomfy check` (no server) still refuses a strategy that wires the graph wrongly."""
    pack = copy_pack(SHIPPED["generate-sdxl"], tmp_path, "miswired")
    text = (pack / "manifest.toml").read_text()
    (pack / "manifest.toml").write_text(text.replace("strategies = [", 'strategies = ["miswire", '))

    class Miswire:  # feeds the sampler's latent input from the checkpoint's MODEL output
        name, order, consumes, produces, inserts = "miswire", 90, (), (), ("VAEEncode",)

        def apply(self, graph, params, context):
            graph["5"]["inputs"]["latent_image"] = ["1", 0]

    registry = StrategyRegistry(builtin_strategies())
    registry.register(Miswire(), owner="miswire-plugin")
    with pytest.raises(PackLoadError, match=r"node 5 \(KSampler\) input `latent_image`: expects LATENT"):
        load_manifest(pack, registry=registry)


def test_img2img_without_a_vae_to_encode_with_is_refused_at_load(tmp_path):
    pack = copy_pack(SHIPPED["generate-sdxl"], tmp_path, "novae")
    workflow = json.loads((pack / "workflow.json").read_text())
    decoder = next(nid for nid, node in workflow.items() if node["class_type"] == "VAEDecode")
    workflow[decoder]["class_type"] = "VAEDecodeHunyuan3D"  # no VAEDecode left to borrow the VAE from
    (pack / "workflow.json").write_text(json.dumps(workflow))
    with pytest.raises(PackLoadError, match="img2img: the workflow has no VAEDecode"):
        load_manifest(pack)


def test_img2img_latent_option_names_the_node_to_replace(tmp_path):
    pack = copy_pack(SHIPPED["generate-sdxl"], tmp_path, "named")
    with (pack / "manifest.toml").open("a") as manifest:
        manifest.write('\n[options.img2img]\nlatent = "4"\n')
    graph = WorkflowUpdater().render(load_manifest(pack), {"prompt": "x", "init_image": "v.png"}).graph
    assert "4" not in graph and graph["5"]["inputs"]["latent_image"][0] in graph
    (pack / "manifest.toml").write_text((pack / "manifest.toml").read_text().replace('latent = "4"', 'latent = "99"'))
    with pytest.raises(PackLoadError, match=r"latent = '99' is not a node of the workflow"):
        load_manifest(pack)
