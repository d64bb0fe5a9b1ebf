"""What the fake's simulated models draw: placeholders that show what the job was.

A flat grey square for every job made reroll, vary and edit look as if nothing happened (and a
newcomer took them for images that failed to load). So the simulated model nodes carry a
*scene* along the graph, the way conditioning and latents carry meaning on a real server:

* text encoders put the **prompt** in it (its colour words pick the palette: "a red fox" is
  red), ``seed`` / ``noise_seed`` the **seed** (it places the shapes: a reroll differs);
* ``VAEEncode`` puts the **pixels** an img2img starts from, the sampler's ``denoise`` (or the
  scheduler's) says how much of them is redrawn: a subtle variation stays close, a strong one
  moves;
* ``ReferenceLatent`` and the Qwen edit encoders put a **reference** image: an edit keeps that
  picture and recolours it as its prompt asks;
* a sampler marks the latent as holding a picture, and ``VAEDecode`` draws it at the latent's
  size, one picture per batch item (frames of a video latent drift instead).

Model-free nodes stay real, so an upscale is the same picture larger. Every drawn picture has a
"FAKE COMFYUI" stripe (hazard tape, the seed and the prompt) so it is never taken for a real
model's output, besides the PNG marker of :mod:`.semantics`. Cheap (shapes drawn at thumbnail
size with Pillow, then resized) and deterministic: the same graph gives the same bytes.

The semantics and summaries registered by :mod:`.model_nodes` and the others are kept; each
simulated node's function is wrapped so its outputs also carry the scene. This module is
imported by :mod:`.image_nodes`, after the modules whose registrations it wraps.
"""

from __future__ import annotations

import colorsys
import functools
import hashlib
import random
import re
from dataclasses import dataclass, replace
from typing import Any

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont, ImageOps

# The registrations wrapped below must exist first.
from discomfy.testing.fake_comfyui import model_nodes, upscale_nodes, video_nodes  # noqa: F401
from discomfy.testing.fake_comfyui.semantics import (BUILTIN, NodeContext, NodeRegistry, NodeResult, NodeSemantics,
                                                     Simulated, is_batch)

#: The caption every drawn picture carries.
MARK_TEXT = "FAKE COMFYUI"
MARK_BACKGROUND = (20, 20, 20)
MARK_YELLOW = (250, 204, 21)
#: Longer side of the sketch the shapes are drawn on before it is resized to the output size.
SKETCH_SIDE = 160
#: How strongly an edit recolours its reference image towards the prompt's palette.
EDIT_STRENGTH = 0.55

TEXT_INPUTS = ("text", "prompt", "text_g", "text_l", "t5xxl", "clip_l")
SEED_INPUTS = ("seed", "noise_seed")
SAMPLERS = frozenset({"KSampler", "KSamplerAdvanced", "SamplerCustom", "SamplerCustomAdvanced"})
LATENT_INPUTS = ("latent_image", "samples", "latent")

#: Colour words (and a few things whose colour everybody knows) -> RGB.
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (214, 40, 40), "crimson": (170, 20, 50), "scarlet": (230, 40, 30), "orange": (247, 127, 0),
    "amber": (255, 176, 0), "yellow": (252, 211, 45), "gold": (212, 175, 55), "golden": (212, 175, 55),
    "green": (56, 176, 72), "emerald": (30, 140, 90), "lime": (150, 220, 60), "teal": (0, 128, 128),
    "cyan": (40, 200, 220), "turquoise": (64, 224, 208), "blue": (40, 90, 220), "navy": (20, 30, 90),
    "azure": (60, 150, 240), "indigo": (75, 40, 160), "purple": (128, 60, 170), "violet": (150, 90, 220),
    "magenta": (220, 40, 160), "pink": (245, 140, 180), "brown": (120, 72, 40), "beige": (225, 205, 170),
    "black": (18, 18, 22), "white": (240, 240, 240), "grey": (128, 128, 128), "gray": (128, 128, 128),
    "silver": (190, 195, 200),
    "sky": (110, 170, 240), "ocean": (20, 90, 160), "sea": (30, 110, 170), "forest": (30, 100, 50),
    "grass": (80, 170, 60), "snow": (235, 240, 250), "fire": (240, 90, 20), "sunset": (250, 120, 60),
    "dusk": (110, 70, 140), "night": (15, 20, 50), "fox": (220, 110, 30), "lava": (230, 60, 10),
    "desert": (220, 180, 120), "bread": (200, 150, 80), "rose": (220, 60, 90),
}
_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True, eq=False)
class Scene:
    """What the picture a simulated value stands for is made of."""

    prompt: str = ""
    seed: int | None = None
    denoise: float | None = None
    start: tuple[Image.Image, ...] = ()        # pixels an img2img starts from (VAEEncode)
    reference: tuple[Image.Image, ...] = ()    # an image the conditioning shows (edit models)
    before: "Scene | None" = None              # a sampled picture a second sampler starts from
    sampled: bool = False                      # a sampler ran: the latent holds a picture
    motion: bool = False                       # a video latent: its batch is frames of one picture


@dataclass(frozen=True, eq=False)
class Drawn(Simulated):
    """A simulated value (conditioning, latent, noise...) that knows the scene it carries."""

    scene: Scene = Scene()


def merge(scenes: list[Scene]) -> Scene:
    """The first value each scene gives, as conditioning and latents combine on a sampler."""
    def first(name: str, empty: Any = None) -> Any:
        return next((getattr(s, name) for s in scenes if getattr(s, name) not in (None, "", ())), empty)
    return Scene(prompt=first("prompt", ""), seed=first("seed"), denoise=first("denoise"), start=first("start", ()),
                 reference=first("reference", ()), before=first("before"),
                 sampled=any(s.sampled for s in scenes), motion=any(s.motion for s in scenes))


def scene_for(class_type: str, inputs: dict[str, Any]) -> Scene:
    """The scene a node's outputs carry: its inputs' scenes, then its own prompt, seed, denoise, pixels."""
    def scene_of(value: Any) -> Scene | None:
        return value.scene if isinstance(value, Drawn) else None

    # the negative prompt says what a picture is not: it does not colour it
    carried = [s for name, v in inputs.items() if not name.startswith("negative") and (s := scene_of(v))]
    scene = merge(carried)
    own: dict[str, Any] = {}
    text = next((inputs[n] for n in TEXT_INPUTS if isinstance(inputs.get(n), str) and inputs[n].strip()), None)
    if text is not None:
        own["prompt"] = text
    seed = next((inputs[n] for n in SEED_INPUTS if isinstance(inputs.get(n), int)), None)
    if seed is not None:
        own["seed"] = seed
    if isinstance(inputs.get("denoise"), (int, float)) and not isinstance(inputs.get("denoise"), bool):
        own["denoise"] = float(inputs["denoise"])
    images = [tuple(v) for v in inputs.values() if is_batch(v)]
    if images and class_type.startswith(("VAEEncode", "InpaintModelConditioning")):
        own["start"] = images[0]
    elif images and ("TextEncode" in class_type or "Video" in class_type):
        own["reference"] = images[0]  # an edit encoder's image, a video's start image
    if class_type == "ReferenceLatent":
        own.update(reference=scene.start, start=())
    if "Video" in class_type:
        own["motion"] = True
    if class_type in SAMPLERS:
        latent = next((s for n in LATENT_INPUTS if (s := scene_of(inputs.get(n))) is not None), None)
        own.update(sampled=True, before=latent if latent is not None and latent.sampled else None)
    return replace(scene, **own)


# -- drawing ---------------------------------------------------------------------------------------
def palette(prompt: str) -> list[tuple[int, int, int]]:
    """The colours the prompt names, in order; three hues from its text when it names none."""
    named = [COLOURS[w] for w in _WORD.findall(prompt.lower()) if w in COLOURS]
    unique = list(dict.fromkeys(named))
    if unique:
        return unique if len(unique) > 1 else [unique[0], _shade(unique[0], 0.45), _shade(unique[0], 1.5)]
    digest = hashlib.sha256(prompt.encode()).digest()
    hues = [digest[i] / 255 for i in range(3)]
    return [tuple(round(255 * c) for c in colorsys.hsv_to_rgb(h, 0.55, 0.85)) for h in hues]  # type: ignore[misc]


def _shade(colour: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    return tuple(max(0, min(255, round(c * factor))) for c in colour)  # type: ignore[return-value]


def _sketch_size(size: tuple[int, int]) -> tuple[int, int]:
    w, h = size
    scale = SKETCH_SIDE / max(w, h)
    return max(4, round(w * scale)), max(4, round(h * scale))


def compose(prompt: str, seed: int, size: tuple[int, int]) -> Image.Image:
    """A fresh picture: the prompt's palette, laid out by the seed (a gradient sky, soft shapes)."""
    colours = palette(prompt)
    rng = random.Random(f"discomfy-fake:{seed}")
    w, h = _sketch_size(size)
    top, bottom = rng.sample(colours, 2) if len(colours) > 1 else (colours[0], colours[0])
    sketch = Image.composite(Image.new("RGB", (w, h), _shade(bottom, 0.6)), Image.new("RGB", (w, h), top),
                             Image.linear_gradient("L").resize((w, h)))
    draw = ImageDraw.Draw(sketch)
    horizon = round(h * rng.uniform(0.45, 0.8))
    draw.rectangle((0, horizon, w, h), fill=_shade(rng.choice(colours), 0.7))
    for _ in range(rng.randint(4, 7)):
        colour = _shade(rng.choice(colours), rng.uniform(0.7, 1.25))
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        r = rng.uniform(0.08, 0.3) * min(w, h)
        kind = rng.randrange(3)
        if kind == 0:
            draw.ellipse((cx - r, cy - r, cx + r, cy + r * rng.uniform(0.6, 1.2)), fill=colour)
        elif kind == 1:
            draw.rectangle((cx - r, cy - r * 0.6, cx + r * rng.uniform(0.5, 1.5), cy + r), fill=colour)
        else:
            draw.polygon([(cx, cy - r * 1.3), (cx - r, cy + r), (cx + r, cy + r)], fill=colour)
    return sketch.filter(ImageFilter.GaussianBlur(0.7)).resize(size, Image.Resampling.BILINEAR)


def _fit(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    image = image.convert("RGB")
    return image if image.size == size else image.resize(size, Image.Resampling.BILINEAR)


def recolour(base: Image.Image, prompt: str) -> Image.Image:
    """An edit: the same picture, its light and shade mapped onto the prompt's colours."""
    colours = palette(prompt)
    dark, light = _shade(colours[0], 0.35), _shade(colours[-1] if len(colours) > 1 else colours[0], 1.3)
    tinted = ImageOps.colorize(ImageOps.grayscale(base), dark, light, mid=colours[0])
    return Image.blend(base, tinted, EDIT_STRENGTH)


def picture(scene: Scene, size: tuple[int, int], index: int = 0) -> Image.Image:
    """What the scene's sampler drew for batch item ``index``, unmarked."""
    seed = (scene.seed or 0) + (0 if scene.motion else index)
    fresh = compose(scene.prompt, seed, size)
    if scene.reference:
        edited = recolour(_fit(scene.reference[index % len(scene.reference)], size), scene.prompt)
        return Image.blend(edited, fresh, 0.15)  # the seed still shows: a rerolled edit differs
    if scene.before is not None:
        base = picture(scene.before, size, index)
    elif scene.start:
        base = _fit(scene.start[index % len(scene.start)], size)
    else:
        return fresh
    denoise = 1.0 if scene.denoise is None else min(1.0, max(0.0, scene.denoise))
    return Image.blend(base, fresh, denoise)


@functools.lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def mark_height(size: tuple[int, int]) -> int:
    """Height of the FAKE COMFYUI stripe along the bottom of a picture of ``size``."""
    return max(12, round(min(size) * 0.07))


def mark(image: Image.Image, scene: Scene) -> Image.Image:
    """The FAKE COMFYUI stripe: hazard tape, then the caption with the seed and the prompt."""
    w, h = image.size
    stripe_h = mark_height(image.size)
    stripe = Image.new("RGB", (w, stripe_h), MARK_BACKGROUND)
    draw = ImageDraw.Draw(stripe)
    tape = min(w // 4, stripe_h * 3)
    for x in range(-stripe_h, tape, stripe_h):
        draw.polygon([(x, stripe_h), (x + stripe_h // 2, 0), (x + stripe_h, 0), (x + stripe_h // 2, stripe_h)],
                     fill=MARK_YELLOW)
    draw.rectangle((tape, 0, tape + 1, stripe_h), fill=MARK_BACKGROUND)
    caption = MARK_TEXT
    if scene.prompt:  # what the job asked for first: a long seed would push it off the picture
        caption += f" · {' '.join(scene.prompt.split())}"
    caption += f" · seed {scene.seed if scene.seed is not None else '-'}"
    draw.text((tape + stripe_h // 2, stripe_h // 2), caption, fill=(235, 235, 235), anchor="lm",
              font=_font(max(8, round(stripe_h * 0.55))))
    out = image.copy()
    out.paste(stripe, (0, h - stripe_h))
    return out


def draw_batch(scene: Scene, size: tuple[int, int], count: int) -> list[Image.Image]:
    """A decoded batch: one picture per item, or the frames of one drifting picture (video)."""
    if not scene.motion:
        return [mark(picture(scene, size, i), scene) for i in range(count)]
    base = picture(scene, size)
    stripe_h = mark_height(size)
    stripe = mark(base, scene).crop((0, size[1] - stripe_h, size[0], size[1]))
    frames = []
    for i in range(count):
        frame = ImageChops.offset(base, round(i * size[0] / max(count * 4, 1)), 0)
        frame.paste(stripe, (0, size[1] - stripe_h))
        frames.append(frame)
    return frames


# -- wrapping the simulated nodes ------------------------------------------------------------------
def with_scene(run: Any) -> Any:
    """``run`` (a simulated node's semantics), whose outputs also carry the scene; images are drawn."""
    @functools.wraps(run)
    def scene_run(ctx: NodeContext, **inputs: Any) -> NodeResult:
        result = run(ctx, **inputs)
        scene = scene_for(ctx.class_type, inputs)
        kinds = list(ctx.info.get("output") or [])
        outputs = []
        for i, value in enumerate(result.outputs):
            kind = kinds[i] if i < len(kinds) else None
            if kind == "IMAGE" and is_batch(value) and scene.sampled:
                value = draw_batch(scene, value[0].size, len(value))
            elif type(value) is Simulated:  # noqa: E721 - subclasses (upscale models) carry their own data
                value = Drawn(value.type, value.size, value.batch, scene)
            outputs.append(value)
        return replace(result, outputs=tuple(outputs))
    return scene_run


def carry_scenes(registry: NodeRegistry) -> None:
    """Wrap every simulated node of ``registry`` (summaries, and so the docs' table, unchanged)."""
    for name, entry in list(registry.entries.items()):
        if entry.simulated and not getattr(entry.run, "__wrapped__", None):
            registry.entries[name] = NodeSemantics(name, with_scene(entry.run), True, entry.summary)


carry_scenes(BUILTIN)
