"""``discomfy new-pack NAME --from exported_api.json``: a data pack from an exported graph.

Recognises what the strategies know by shape (prompt and negative text by following the
sampler's links, seed, steps, cfg, FLUX guidance, latent size and batch, LoRA loaders,
LoadImage nodes) and writes explicit bindings for them, so the pack for a standard
text-to-image graph passes the contract check without edits. LoRA loaders already in the
export stay (they are part of the model's recipe, e.g. a Lightning LoRA); the ``lora`` option
inserts the user's LoRAs after them, and only when one is chosen.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from .format import UI_FORMAT_HELP, detect_format
from .graph import Graph, consumers, find_by_class, is_link
from .problems import PackLoadError, Problem
from .strategies.lora import MODEL_LOADERS
from .strategies.text import text_targets

ASPECT_RATIOS = ["1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "21:9"]
SEED_MAX = 2**53 - 1
LORA_CLASSES = ("LoraLoader", "LoraLoaderModelOnly")


def lora_anchor(graph: Graph) -> tuple[str | None, str | None]:
    """Where user LoRAs should hang: after the model loader and any LoRA loaders the export
    already chains to it (those are part of the model's recipe, e.g. a Lightning LoRA, and
    stay). Returns ``(after node id, clip output "id.index" or None)``."""
    loaders = find_by_class(graph, *MODEL_LOADERS)
    if not loaders:
        return None, None
    current = loaders[0]
    while True:
        nxt = [nid for nid, inp in consumers(graph, current, 0)
               if inp == "model" and graph[nid]["class_type"] in LORA_CLASSES]
        if len(nxt) != 1:
            break
        current = nxt[0]
    clip = f"{current}.1" if graph[current]["class_type"] == "LoraLoader" else None
    return current, clip


def _literal_targets(graph: Graph, input_name: str, accept) -> list[str]:
    return [f"{nid}.{input_name}" for nid, node in graph.items()
            if accept(node.get("class_type", "")) and input_name in (node.get("inputs") or {})
            and not is_link(node["inputs"][input_name])]


def _first_value(graph: Graph, target: str) -> Any:
    nid, _, inp = target.rpartition(".")
    return graph[nid]["inputs"][inp]


def _sampler_like(cls: str) -> bool:
    return cls.startswith("KSampler") or cls.endswith("Scheduler") or cls in ("SamplerCustom", "CFGGuider")


def _latent_size(graph: Graph, props: dict[str, Any], bindings: dict[str, list[str]],
                 options: dict[str, dict]) -> bool:
    """An empty latent's size offered as an aspect ratio (and its batch); False if none."""
    latents = [nid for nid, n in graph.items() if n["class_type"].startswith("Empty") and "Latent" in n["class_type"]]
    if not latents:
        return False
    inputs = graph[latents[0]]["inputs"]
    w, h = inputs.get("width"), inputs.get("height")
    if isinstance(w, int) and isinstance(h, int):
        closest = min(ASPECT_RATIOS, key=lambda r: abs(math.log((int(r.split(":")[0]) / int(r.split(":")[1])) / (w / h))))
        props["aspect_ratio"] = {"type": "string", "enum": ASPECT_RATIOS, "default": closest,
                                 "description": "Shape of the image (width:height)"}
        bindings["width"] = [f"{n}.width" for n in latents]
        bindings["height"] = [f"{n}.height" for n in latents]
        multiple = 64 if find_by_class(graph, "CheckpointLoaderSimple") else 16
        options["size"] = {"multiple": multiple, "megapixels": round(w * h / 1048576, 3)}
    if isinstance(inputs.get("batch_size"), int):
        props["batch"] = {"type": "integer", "minimum": 1, "maximum": 4,
                          "default": min(4, inputs["batch_size"]), "description": "How many images to make"}
        bindings["batch"] = [f"{n}.batch_size" for n in latents]
    return True


#: (width input, height input) of the image nodes whose size a user may choose.
IMAGE_SIZE_INPUTS = (("width", "height"), ("target_width", "target_height"))


def _is_image_size_node(class_type: str) -> bool:
    return class_type == "EmptyImage" or any(word in class_type for word in ("Scale", "Resize"))


def _image_size(graph: Graph, props: dict[str, Any], bindings: dict[str, list[str]],
                options: dict[str, dict]) -> None:
    """The size of an image node (EmptyImage, ImageScale, resize nodes) offered as `width`
    and `height` in pixels, exactly as exported by default (no model constrains the sides)."""
    for nid, node in graph.items():
        inputs = node.get("inputs") or {}
        if not _is_image_size_node(node.get("class_type", "")):
            continue
        for w_in, h_in in IMAGE_SIZE_INPUTS:
            w, h = inputs.get(w_in), inputs.get(h_in)
            if isinstance(w, int) and isinstance(h, int) and not isinstance(w, bool) and w > 0 and h > 0:
                for param, value, target in (("width", w, w_in), ("height", h, h_in)):
                    props[param] = {"type": "integer", "minimum": 1, "maximum": 16384, "default": value,
                                    "description": f"{param.capitalize()} of the image in pixels"}
                    bindings[param] = [f"{nid}.{target}"]
                options["size"] = {"multiple": 1, "min_side": 1, "max_side": 16384}
                batch = inputs.get("batch_size")
                if isinstance(batch, int) and not isinstance(batch, bool):
                    props["batch"] = {"type": "integer", "minimum": 1, "maximum": 4, "default": min(4, batch),
                                      "description": "How many images to make"}
                    bindings["batch"] = [f"{nid}.batch_size"]
                return


def recognise(graph: Graph) -> tuple[dict[str, Any], dict[str, list[str]], list[str], dict[str, dict]]:
    """(schema properties, bindings, strategies, strategy options) recognised in ``graph``."""
    props: dict[str, Any] = {}
    bindings: dict[str, list[str]] = {}
    strategies = ["images", "size", "bindings"]
    options: dict[str, dict] = {}
    lora_after, lora_clip = lora_anchor(graph)
    images = find_by_class(graph, "LoadImage")
    for i, nid in enumerate(images, start=1):
        name = "image" if i == 1 else f"image{i}"
        props[name] = {"type": "string", "minLength": 1, "description": f"Input image {i}",
                       "x-discord": {"type": "attachment"}}
        bindings[name] = [f"{nid}.image"]
    for param, side, desc in (("prompt", "positive", "What to draw, in plain words"),
                              ("negative_prompt", "negative", "What to keep out of the image")):
        targets = text_targets(graph, side)
        if targets:
            bindings[param] = [f"{n}.{i}" for n, i in targets]
            props[param] = {"type": "string", "maxLength": 2000, "description": desc}
            if param == "prompt":
                props[param]["minLength"] = 1
            else:
                props[param]["default"] = graph[targets[0][0]]["inputs"][targets[0][1]]
    seeds = _literal_targets(graph, "seed", lambda c: True) + _literal_targets(graph, "noise_seed", lambda c: True)
    if seeds:  # no seed in the graph: no seed strategy, so results show no Seed nor a 🎲 Reroll
        strategies.insert(1, "seed")
        bindings["seed"] = seeds
        props["seed"] = {"type": "integer", "minimum": -1, "maximum": SEED_MAX, "default": -1,
                         "description": "Seed to reproduce an image; -1 picks a random one"}
    numeric = (("steps", "steps", _sampler_like, 1, 150, "integer", "Sampling steps"),
               ("cfg", "cfg", _sampler_like, 1.0, 30.0, "number", "How closely to follow the prompt (CFG)"),
               ("guidance", "guidance", lambda c: c == "FluxGuidance", 0.0, 30.0, "number",
                "How closely to follow the prompt (guidance)"),
               ("denoise", "denoise", _sampler_like, 0.0, 1.0, "number", "How much to change the input"))
    for param, inp, accept, lo, hi, typ, desc in numeric:
        targets = _literal_targets(graph, inp, accept)
        if not targets or (param == "denoise" and not images):
            continue
        default = _first_value(graph, targets[0])
        bindings[param] = targets
        props[param] = {"type": typ, "minimum": min(lo, default), "maximum": max(hi, default),
                        "default": default, "description": desc}
    if not _latent_size(graph, props, bindings, options):
        _image_size(graph, props, bindings, options)
    if lora_after is not None:
        strategies.insert(strategies.index("bindings"), "lora")
        options["lora"] = {"after": lora_after, **({"clip": lora_clip} if lora_clip else {})}
        props["lora"] = {"type": "string", "minLength": 1, "description": "LoRA file to apply",
                         "x-discord": {"autocomplete": True}}
        props["lora_strength"] = {"type": "number", "minimum": -2.0, "maximum": 2.0,
                                  "default": 1.0,
                                  "description": "How strongly the LoRA applies"}
    return props, bindings, strategies, options


def _toml_value(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


NAME_RULE = re.compile(r"[a-z0-9_-]{1,32}")


def fixed_name(name: str) -> str:
    """``name`` made into a valid Discord name: lower case, other characters as ``-``, <= 32."""
    fixed = re.sub(r"[^a-z0-9_-]+", "-", name.strip().lower()).strip("-_")
    return fixed[:32].rstrip("-_") or "pack"


def name_problem(what: str, name: str) -> str | None:
    """Why ``name`` cannot be a pack or command name (it becomes a slash command or a choice)."""
    if NAME_RULE.fullmatch(name):
        return None
    return (f"{what} {name!r} is not a valid name: use 1-32 lower-case letters, digits, '-' or '_' "
            f"(Discord's rule for commands and choices); try {fixed_name(name)!r}")


def _read_export(name: str, src: Path) -> tuple[Graph | None, list[Problem]]:
    try:
        graph = json.loads(src.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        return None, [Problem(name, src.name, f"cannot read the export: {exc}")]
    fmt = detect_format(graph)
    if fmt != "api":
        return None, [Problem(name, src.name, UI_FORMAT_HELP if fmt == "ui" else
                              "not an API-format ComfyUI workflow; export with Save (API)")]
    return graph, []


def scaffold_pack(name: str, api_json_path: str | Path, dest_dir: str | Path, *,
                  command: str | None = None) -> Path:
    """Write ``dest_dir/name/{manifest.toml, workflow.json, params.schema.json}`` and return
    the pack directory. Raises ``PackLoadError`` listing every problem at once: an invalid
    pack or command name (with the fixed one suggested), a pack directory that already
    exists, a UI-format or unreadable export."""
    src = Path(api_json_path)
    pack = Path(dest_dir) / name
    problems = [Problem(name, "new-pack", text) for text in (
        name_problem("the pack name", name), command and name_problem("the command name", command)) if text]
    if pack.exists():
        problems.append(Problem(name, str(pack), "already exists; choose another name or delete it"))
    graph, unreadable = _read_export(name, src)
    problems += unreadable
    if problems or graph is None:
        raise PackLoadError(problems)
    props, bindings, strategies, options = recognise(graph)
    pack.mkdir(parents=True, exist_ok=False)
    required = [p for p in props if p == "prompt" or p.startswith("image")]
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
              "additionalProperties": False, "required": required, "properties": props}
    command = command or name  # a new command named after the pack, unless told to join one
    outputs = [nid for nid, n in graph.items() if n["class_type"] in ("SaveImage", "PreviewImage")]
    lines = [f"# Scaffolded from {src.name} by `discomfy new-pack`; review descriptions and ranges.",
             f"name = {_toml_value(name)}", f"command = {_toml_value(command)}",
             f"description = {_toml_value('Create an image with ' + name)}",
             f"model = {_toml_value(name)}", 'template = "workflow.json"', 'schema = "params.schema.json"',
             f"strategies = {_toml_value(strategies)}", f"outputs = {_toml_value(outputs)}", "", "[bindings]"]
    lines += [f"{param} = {_toml_value(targets)}" for param, targets in bindings.items()]
    for strategy, opts in options.items():
        lines += ["", f"[options.{strategy}]"] + [f"{k} = {_toml_value(v)}" for k, v in opts.items()]
    (pack / "manifest.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (pack / "workflow.json").write_text(json.dumps(graph, indent=2) + "\n", encoding="utf-8")
    (pack / "params.schema.json").write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")
    return pack
