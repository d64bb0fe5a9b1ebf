"""Reading choice lists out of ``/object_info`` node definitions.

ComfyUI has two encodings for a combo input: the legacy ``[[choice, ...], {opts}]`` (used by
LoraLoader and CheckpointLoaderSimple) and the V3 ``["COMBO", {"options": [...]}]``. Both
are accepted here so callers never branch on the server's age.
"""

from __future__ import annotations

from typing import Any

#: Which node input lists the files of which models folder; used when ``/models/<folder>``
#: is unavailable (older servers) so ``list_models`` can fall back to ``/object_info``.
FOLDER_INPUTS: dict[str, tuple[str, str]] = {
    "checkpoints": ("CheckpointLoaderSimple", "ckpt_name"),
    "loras": ("LoraLoader", "lora_name"),
    "vae": ("VAELoader", "vae_name"),
    "upscale_models": ("UpscaleModelLoader", "model_name"),
    "controlnet": ("ControlNetLoader", "control_net_name"),
    "diffusion_models": ("UNETLoader", "unet_name"),
    "text_encoders": ("CLIPLoader", "clip_name"),
}


def input_spec(node_info: dict[str, Any], input_name: str) -> Any:
    """The raw spec of ``input_name`` from any input section, or None."""
    sections = node_info.get("input") or {}
    for section in ("required", "optional", "hidden"):
        spec = (sections.get(section) or {}).get(input_name)
        if spec is not None:
            return spec
    return None


def combo_choices(spec: Any) -> list[str] | None:
    """The choices of a combo spec in either encoding; None when ``spec`` is not a combo."""
    if not isinstance(spec, (list, tuple)) or not spec:
        return None
    head = spec[0]
    if isinstance(head, (list, tuple)):
        return [str(c) for c in head]
    if head == "COMBO":
        opts = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
        return [str(c) for c in opts.get("options", [])]
    return None
