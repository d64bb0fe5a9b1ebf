"""Workflow manifests: ``manifest.toml`` + API-format template + JSON Schema -> ``WorkflowSpec``.

A manifest is the whole contract between a model's data and the engine: which command it
joins, under which ``model`` name, which parameter writes which ``node_id.input`` (or
``title:Node Title.input``), which strategies run, which outputs to collect, which loader
inputs name model files. Data packs are nothing but these files, so a new model needs no
Python. The template is kept private: ``WorkflowSpec.template`` hands out a deep copy.
"""

from __future__ import annotations

import copy
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .format import UI_FORMAT_HELP, detect_format
from .problems import PackLoadError, Problem
from .schema.validation import check_schema

MANIFEST_NAME = "manifest.toml"

#: Loader inputs that name model files, with the word used in messages ("diffusion model x").
KNOWN_MODEL_INPUTS: dict[str, str] = {
    "UNETLoader.unet_name": "diffusion model",
    "CheckpointLoaderSimple.ckpt_name": "checkpoint",
    "DualCLIPLoader.clip_name1": "text encoder",
    "DualCLIPLoader.clip_name2": "text encoder",
    "CLIPLoader.clip_name": "text encoder",
    "VAELoader.vae_name": "VAE",
    "LoraLoader.lora_name": "LoRA",
    "LoraLoaderModelOnly.lora_name": "LoRA",
    "UpscaleModelLoader.model_name": "upscale model",
}
_KNOWN_KEYS = {"name", "kind", "command", "description", "model", "model_description", "template",
               "schema", "strategies", "outputs", "model_inputs", "node_classes", "bindings",
               "options"}
DEFAULT_STRATEGIES = ("images", "seed", "size", "bindings")


def is_image_parameter(prop: Any) -> bool:
    """A parameter the user fills with an attached image (``"x-discord": {"type": "attachment"}``)."""
    return isinstance(prop, dict) and (prop.get("x-discord") or {}).get("type") == "attachment"


@dataclass(frozen=True)
class ModelFile:
    """A model file the template names: ``UNETLoader.unet_name`` = ``flux1-dev.safetensors``."""

    node_id: str
    node_class: str
    input: str
    filename: str
    kind: str


@dataclass(frozen=True, eq=False)
class WorkflowSpec:
    """Everything loaded from one manifest. ``name`` is unique across plugins; workflows sharing
    ``command`` become one slash command whose ``model`` option chooses among them."""

    name: str
    plugin: str
    command: str
    description: str
    model: str
    model_description: str
    schema: dict[str, Any]
    bindings: dict[str, tuple[str, ...]]
    strategies: tuple[str, ...]
    strategy_options: dict[str, dict[str, Any]]
    outputs: tuple[str, ...]
    model_inputs: tuple[str, ...]
    extra_node_classes: tuple[str, ...]
    root: Path | None = None
    manifest_file: str = MANIFEST_NAME
    template_file: str = "workflow.json"
    schema_file: str = "params.schema.json"
    _template: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def template(self) -> dict[str, Any]:
        """A fresh deep copy: the cached template is never handed out for mutation."""
        return copy.deepcopy(self._template)

    def class_of(self, node_id: str) -> str | None:
        """The class of a template node, read without copying the template (hot path)."""
        node = self._template.get(node_id)
        return node.get("class_type") if isinstance(node, dict) else None

    @property
    def parameters(self) -> dict[str, dict[str, Any]]:
        return dict(self.schema.get("properties") or {})

    @property
    def image_parameters(self) -> list[str]:
        """Parameters filled with attached images: uploaded to ComfyUI when the job runs."""
        return [name for name, prop in (self.schema.get("properties") or {}).items() if is_image_parameter(prop)]

    @property
    def required_parameters(self) -> list[str]:
        return list(self.schema.get("required") or [])

    @property
    def examples(self) -> list[dict[str, Any]]:
        """Parameter sets from the schema's top-level ``examples``; each must render."""
        return [e for e in self.schema.get("examples") or [] if isinstance(e, dict)]

    @property
    def node_classes(self) -> list[str]:
        """Node classes the server must have: the template's, plus what strategies insert."""
        classes = {n.get("class_type") for n in self._template.values() if isinstance(n, dict)}
        return sorted(c for c in classes | set(self.extra_node_classes) if c)

    @property
    def model_files(self) -> list[ModelFile]:
        files = []
        for target in self.model_inputs:
            cls, _, inp = target.partition(".")
            for nid, node in self._template.items():
                value = (node.get("inputs") or {}).get(inp)
                if node.get("class_type") == cls and isinstance(value, str):
                    files.append(ModelFile(nid, cls, inp, value, KNOWN_MODEL_INPUTS.get(target, "model")))
        return files

    def label(self) -> str:
        """How messages name this workflow: ``model flux of /generate``."""
        return f"model {self.model} of /{self.command}"


def _read_json(path: Path, plugin: str, problems: list[Problem]) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append(Problem(plugin, path.name, "file not found"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        problems.append(Problem(plugin, path.name, f"not valid JSON: {exc}"))
    return None


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def read_manifest_toml(path: Path, plugin: str) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PackLoadError([Problem(plugin, path.name, "manifest file not found")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise PackLoadError([Problem(plugin, path.name, f"not valid TOML: {exc}")]) from None


def read_manifest(path: str | Path, *, plugin: str | None = None) -> WorkflowSpec:
    """Read ``manifest.toml`` (or the directory holding it) into a ``WorkflowSpec``: the files
    parse and the schema is a valid JSON Schema. Whether the manifest keeps its contract with
    its template is a separate step (:func:`.loading.load_manifest` runs both).

    ``plugin`` names the owner in messages (default: the directory name). Raises
    ``PackLoadError`` listing every problem, each naming plugin and file.
    """
    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST_NAME
    root = path.parent
    plugin = plugin or root.name
    data = read_manifest_toml(path, plugin)
    problems: list[Problem] = []
    if data.get("kind", "workflow") != "workflow":
        raise PackLoadError([Problem(plugin, path.name, f"kind = {data.get('kind')!r} describes a "
                                     "command without a workflow; read it with load_command_manifest")])
    for key in sorted(set(data) - _KNOWN_KEYS):
        problems.append(Problem(plugin, path.name, f"unknown key `{key}` (known: {', '.join(sorted(_KNOWN_KEYS))})"))
    for key in ("command", "template", "schema"):
        if not isinstance(data.get(key), str) or not data.get(key):
            problems.append(Problem(plugin, path.name, f"`{key}` is required (a string)"))
    if problems:
        raise PackLoadError(problems)

    template = _read_json(root / data["template"], plugin, problems)
    if template is not None:
        fmt = detect_format(template)
        if fmt == "ui":
            problems.append(Problem(plugin, data["template"], UI_FORMAT_HELP))
        elif fmt != "api":
            problems.append(Problem(plugin, data["template"], "not an API-format ComfyUI workflow "
                                    "(expected {node_id: {\"class_type\", \"inputs\"}}); export with Save (API)"))
    schema = _read_json(root / data["schema"], plugin, problems)
    if schema is not None:
        problems.extend(Problem(plugin, data["schema"], msg) for msg in check_schema(schema))
    if problems:
        raise PackLoadError(problems)

    model_inputs = data.get("model_inputs")
    if model_inputs is None:
        present = {n.get("class_type") for n in template.values()}
        model_inputs = [t for t in KNOWN_MODEL_INPUTS if t.split(".")[0] in present]
    spec = WorkflowSpec(
        name=str(data.get("name") or f"{data['command']}-{data.get('model') or root.name}"),
        plugin=plugin,
        command=data["command"],
        description=str(data.get("description") or ""),
        model=str(data.get("model") or root.name),
        model_description=str(data.get("model_description") or data.get("description") or ""),
        schema=schema,
        bindings={k: _as_tuple(v) for k, v in (data.get("bindings") or {}).items()},
        strategies=_as_tuple(data.get("strategies", DEFAULT_STRATEGIES)),
        strategy_options={k: dict(v) for k, v in (data.get("options") or {}).items()},
        outputs=_as_tuple(data.get("outputs")) or tuple(
            nid for nid, n in template.items() if n.get("class_type") in ("SaveImage", "PreviewImage")),
        model_inputs=_as_tuple(model_inputs),
        extra_node_classes=_as_tuple(data.get("node_classes")),
        root=root,
        manifest_file=path.name,
        template_file=data["template"],
        schema_file=data["schema"],
        _template=template,
    )
    return spec


@dataclass(frozen=True)
class CommandManifest:
    """A command without a workflow (``kind = "command"``), e.g. ``/loras``: its name,
    description and option schema, so the cog's options share the schema's descriptions."""

    plugin: str
    command: str
    description: str
    schema: dict[str, Any]


def load_command_manifest(path: str | Path, *, plugin: str | None = None) -> CommandManifest:
    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST_NAME
    plugin = plugin or path.parent.name
    data = read_manifest_toml(path, plugin)
    problems: list[Problem] = []
    if data.get("kind") != "command":
        problems.append(Problem(plugin, path.name, 'expected kind = "command"'))
    schema: dict[str, Any] = {"type": "object", "properties": {}}
    if data.get("schema"):
        schema = _read_json(path.parent / data["schema"], plugin, problems) or schema
        problems.extend(Problem(plugin, data["schema"], m) for m in check_schema(schema))
    if not data.get("command"):
        problems.append(Problem(plugin, path.name, "`command` is required"))
    if problems:
        raise PackLoadError(problems)
    return CommandManifest(plugin, data["command"], str(data.get("description") or ""), schema)
