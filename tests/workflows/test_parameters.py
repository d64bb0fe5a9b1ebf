"""User-facing validation messages: they name the parameter, the allowed values and the fix."""

from __future__ import annotations

import pytest

from discomfy.core.comfyui.workflows import WorkflowParameters, group_commands
from discomfy.exceptions import ValidationError


@pytest.mark.parametrize("values,expected", [
    ({"prompt": "x", "steps": 80}, "`steps` must be between 10 and 50 (you gave 80)."),
    ({"prompt": "x", "steps": "many"}, "`steps` must be a whole number (you gave 'many')."),
    ({"prompt": "x", "aspect_ratio": "5:1"}, "`aspect_ratio` must be one of `1:1`"),
    ({"steps": 20}, "`prompt` is required"),
    ({"prompt": ""}, "`prompt` must not be empty."),
    ({"prompt": "x", "cfg": 7}, "`cfg` is not an option of model flux of /generate"),
])
def test_bad_values_are_refused_with_a_helpful_message(values, expected, shipped_specs):
    spec = shipped_specs["generate-flux"]
    with pytest.raises(ValidationError) as err:
        WorkflowParameters(values).validated(spec.schema, label=spec.label())
    assert expected in err.value.user_message


def test_defaults_are_applied_and_none_means_not_given(shipped_specs):
    spec = shipped_specs["generate-sdxl"]
    values = WorkflowParameters(prompt="x", cfg=None).validated(spec.schema)
    assert values["cfg"] == 7.0 and values["negative_prompt"].startswith("blurry")


def test_whole_float_is_accepted_for_an_integer(shipped_specs):
    values = WorkflowParameters(prompt="x", steps=30.0).validated(shipped_specs["generate-flux"].schema)
    assert values["steps"] == 30 and isinstance(values["steps"], int)


def test_generate_offers_a_model_option_with_the_union_of_options(shipped_specs):
    commands = group_commands([shipped_specs["generate-flux"], shipped_specs["generate-sdxl"]])
    gen = commands["generate"]
    assert gen.models == ["flux", "sdxl"] and gen.default_model == "flux"
    by_name = {o.name: o for o in gen.options}
    assert by_name["cfg"].models == ("sdxl",) and by_name["guidance"].models == ("flux",)
    assert by_name["prompt"].required and gen.options[0].name == "prompt"
    assert by_name["lora"].autocomplete and by_name["aspect_ratio"].choices[0] == "1:1"
    assert all(len(o.description) <= 100 for o in gen.options)
    with pytest.raises(ValidationError, match="model"):
        gen.workflow_for("dalle")
    assert gen.workflow_for("sdxl").name == "generate-sdxl"


def test_image_options_are_attachments(shipped_specs):
    qwen = group_commands([shipped_specs["editqwen"]])["editqwen"]
    kinds = {o.name: (o.type, o.required) for o in qwen.options}
    assert kinds["image"] == ("attachment", True) and kinds["image2"] == ("attachment", False)
