"""``discomfy new-plugin NAME [--data]``: a pip-installable plugin package that works as generated.

The package has a ``pyproject.toml`` with the ``discomfy.plugins`` entry point and a dependency
on DisComfy, a workflow that runs on the fake ComfyUI without model weights, and an end-to-end
test through the real bot, the Discord emulator and the fake ComfyUI. Two kinds:

* a **code plugin** (default): a ``WorkflowCog`` serving ``/NAME`` (scales an attached image);
* a **data pack** (``--data``): no cog, only the workflow, registered through the
  ``discomfy_register_workflows`` hook; the host makes ``/NAME`` (makes an image of a size).

DisComfy is not published on PyPI, so the requirement is met by the DisComfy already installed
where the plugin is developed; ``--discomfy`` writes another requirement instead, e.g. a git URL
pinned to a tag (see docs/plugins.md).
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

from discomfy import __version__

NAME_RULE = re.compile(r"[a-z][a-z0-9_-]{0,31}")
MAJOR = int(__version__.split(".")[0])
DEFAULT_REQUIREMENT = f"discomfy>={MAJOR}.0,<{MAJOR + 1}"


def plugin_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a plugin (it becomes the slash command and the entry point)."""
    if NAME_RULE.fullmatch(name):
        return None
    fixed = re.sub(r"[^a-z0-9_-]+", "-", name.strip().lower()).strip("-_")
    fixed = re.sub(r"^[^a-z]+", "", fixed)[:32].rstrip("-_") or "my-plugin"
    return (f"{name!r} is not a valid plugin name: it becomes the slash command /{name}, so use 1-32 "
            f"lower-case letters, digits, '-' or '_', starting with a letter; try {fixed!r}")


def _pyproject(name: str, package: str, requirement: str, kind: str) -> str:
    return f'''\
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "discomfy-{name}"
version = "0.1.0"
description = "A DisComfy {kind}: /{name}"
requires-python = ">=3.11"
dependencies = [
    # DisComfy is not on PyPI: this requirement is met by the DisComfy installed where you
    # install this package. To let pip fetch DisComfy itself, use a direct reference instead,
    # pinned to a tag or commit so every install gets the same DisComfy:
    #   "discomfy @ git+https://github.com/OWNER/discomfy.git@v{__version__}",
    #   "discomfy @ file:///absolute/path/to/discomfy",
    {json.dumps(requirement)},
]

[project.optional-dependencies]
# pytest, pytest-asyncio: what the DisComfy test kit needs (pip install -e '.[test]').
test = ["discomfy[testing]"]

[project.entry-points."discomfy.plugins"]
{name} = "{package}"

[tool.setuptools]
packages = ["{package}"]

[tool.setuptools.package-data]
{package} = ["*.toml", "*.json"]

[tool.pytest.ini_options]
testpaths = ["tests"]
asyncio_default_fixture_loop_scope = "function"
'''


CODE_INIT = '''\
"""/{name}: a DisComfy code plugin (a discord.py cog) serving one workflow.

WorkflowCog builds the slash command from params.schema.json, validates the options and the
attached image, queues the workflow on ComfyUI, shows progress and delivers the result.
To add behaviour, define `async def {handler}(self, interaction, options)`
in the cog, mark it `@command_handler` (from discomfy: the slash command calls the marked
method, and an unmarked `*_command_handler` is refused at load), and end it with
`await self.run(interaction, options)`.
"""

from discomfy import WorkflowCog


class {cls}(WorkflowCog, name="{name}"):
    command_name = "{name}"
    manifest_files = ("manifest.toml",)


async def setup(bot):
    await bot.add_cog({cls}(bot))
'''

DATA_INIT = '''\
"""/{name}: a DisComfy data pack shipped as a package: a workflow and no command code.

The host makes the slash command from params.schema.json, as for a folder in workflows/.
"""

from pathlib import Path

from discomfy import hookimpl


@hookimpl
def discomfy_register_workflows():
    return [Path(__file__).with_name("manifest.toml")]
'''

CODE_WORKFLOW = {
    "1": {"class_type": "LoadImage", "inputs": {"image": "example.png"}, "_meta": {"title": "Input image"}},
    "2": {"class_type": "ImageScaleBy", "inputs": {"image": ["1", 0], "upscale_method": "lanczos", "scale_by": 2.0}},
    "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "{name}"}},
}
CODE_SCHEMA = {
    "image": {"type": "string", "description": "The image to scale", "x-discord": {"type": "attachment"}},
    "scale": {"type": "number", "minimum": 0.25, "maximum": 4.0, "default": 2.0,
              "description": "How many times larger (below 1: smaller)"},
}
CODE_BINDINGS = {"image": "1.image", "scale": "2.scale_by"}

DATA_WORKFLOW = {
    "1": {"class_type": "EmptyImage", "inputs": {"width": 320, "height": 240, "batch_size": 1, "color": 3381708}},
    "2": {"class_type": "ImageAddNoise", "inputs": {"image": ["1", 0], "seed": 0, "strength": 0.3}},
    "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "{name}"}},
}
DATA_SCHEMA = {
    "width": {"type": "integer", "minimum": 16, "maximum": 2048, "default": 320, "description": "Width in pixels"},
    "height": {"type": "integer", "minimum": 16, "maximum": 2048, "default": 240, "description": "Height in pixels"},
    "seed": {"type": "integer", "minimum": -1, "maximum": 2**53 - 1, "default": -1,
             "description": "Seed of the noise; -1 picks a random one"},
}
DATA_BINDINGS = {"width": "1.width", "height": "1.height", "seed": "2.seed"}

CODE_TEST = '''\
"""/{name} end to end: the real DisComfy bot between a loopback Discord and the fake ComfyUI.

The bot loads this package through its entry point (pip install -e . first).
"""

import io

from PIL import Image


def png(width, height):
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


async def test_{ident}_scales_the_attached_image(discomfy_bot, discord_emulator):
    interaction = await discord_emulator.invoke(
        "{name}", {{"scale": 3.0}}, attachments={{"image": ("cat.png", png(64, 48), "image/png")}})
    result = await discord_emulator.wait_for_message(
        lambda m: m.id == interaction.original_message.id and m.attachments, timeout=10)
    assert Image.open(io.BytesIO(result.attachments[0].data)).size == (192, 144)
    assert not discord_emulator.violations and not discord_emulator.unhandled


async def test_{ident}_refuses_a_scale_out_of_range(discomfy_bot, discord_emulator):
    interaction = await discord_emulator.invoke(
        "{name}", {{"scale": 9.0}}, attachments={{"image": ("cat.png", png(64, 48), "image/png")}}, strict=False)
    replies = [interaction.original_message, *interaction.followups]
    assert any("`scale` must be between 0.25 and 4.0" in m.content + str(m.embeds) for m in replies if m)
    assert not discord_emulator.violations and not discord_emulator.unhandled
'''

DATA_TEST = '''\
"""/{name} end to end: the real DisComfy bot between a loopback Discord and the fake ComfyUI.

The bot loads this package through its entry point (pip install -e . first).
"""

import io

from PIL import Image


async def test_{ident}_makes_an_image_of_the_asked_size(discomfy_bot, discord_emulator):
    interaction = await discord_emulator.invoke("{name}", {{"width": 100, "height": 60, "seed": 7}})
    result = await discord_emulator.wait_for_message(
        lambda m: m.id == interaction.original_message.id and m.attachments, timeout=10)
    assert Image.open(io.BytesIO(result.attachments[0].data)).size == (100, 60)
    assert not discord_emulator.violations and not discord_emulator.unhandled
'''

README = '''\
# discomfy-{name}

A DisComfy {kind} adding `/{name}`, made with `discomfy new-plugin`.

    pip install -e '.[test]'     # in the environment where DisComfy is installed
    pytest                       # the end-to-end test: real bot, loopback Discord, fake ComfyUI
    discomfy check               # the bot sees the plugin (run where your settings.toml is)

Edit `{package}/workflow.json` (a ComfyUI "Save (API)" export), `params.schema.json` (the
command's options) and `manifest.toml` (which option writes which node input).
'''


def _manifest(name: str, bindings: dict[str, str], description: str, strategies: list[str]) -> str:
    lines = [f'name = "{name}"', f'command = "{name}"', f"description = {json.dumps(description)}",
             f'model = "{name}"', 'template = "workflow.json"', 'schema = "params.schema.json"',
             f"strategies = {json.dumps(strategies)}", 'outputs = ["3"]', "", "[bindings]"]
    lines += [f'{param} = "{target}"' for param, target in bindings.items()]
    return "\n".join(lines) + "\n"


def _schema(properties: dict, required: list[str]) -> str:
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
              "additionalProperties": False, "required": required, "properties": properties}
    return json.dumps(schema, indent=2) + "\n"


def plugin_files(name: str, *, data: bool = False, requirement: str = DEFAULT_REQUIREMENT) -> dict[str, str]:
    """Relative path -> text of every file of the plugin package ``name``."""
    package = "discomfy_" + name.replace("-", "_")
    ident = name.replace("-", "_")
    kind = "data pack" if data else "code plugin"
    workflow = json.loads(json.dumps(DATA_WORKFLOW if data else CODE_WORKFLOW).replace("{name}", name))
    fields = {"name": name, "package": package, "ident": ident, "kind": kind,
              "cls": "".join(part.capitalize() for part in re.split(r"[-_]", name)) + "Cog",
              "handler": f"{ident}_command_handler"}
    files = {
        "pyproject.toml": _pyproject(name, package, requirement, kind),
        "README.md": README.format(**fields),
        f"{package}/__init__.py": (DATA_INIT if data else CODE_INIT).format(**fields),
        f"{package}/workflow.json": json.dumps(workflow, indent=2) + "\n",
        f"{package}/params.schema.json": _schema(DATA_SCHEMA, []) if data else _schema(CODE_SCHEMA, ["image"]),
        f"{package}/manifest.toml": _manifest(name, DATA_BINDINGS if data else CODE_BINDINGS,
                                              "Make a noisy image of a size" if data else "Scale an image",
                                              ["seed", "bindings"] if data else ["images", "bindings"]),
        f"tests/test_{ident}.py": (DATA_TEST if data else CODE_TEST).format(**fields),
    }
    return {path: textwrap.dedent(text) for path, text in files.items()}


def scaffold_plugin(name: str, destination: Path, *, data: bool = False,
                    requirement: str = DEFAULT_REQUIREMENT) -> Path:
    """Write the package into ``destination/name`` (which must not exist) and return it."""
    problem = plugin_name_problem(name)
    if problem:
        raise ValueError(problem)
    root = destination / name
    if root.exists():
        raise FileExistsError(f"{root} already exists; choose another name or delete it")
    for relative, text in plugin_files(name, data=data, requirement=requirement).items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root
