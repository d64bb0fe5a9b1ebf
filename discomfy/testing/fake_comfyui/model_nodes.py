"""Nodes that need model weights (or produce latents and conditioning): simulated.

The fake has no weights, so these run the generic simulation of :mod:`.semantics`: every
output stands for the size the graph asked for (EmptyLatentImage's width and height flow
through KSampler and VAEDecode), and images saved downstream carry the simulation marker.
"""

from __future__ import annotations

from typing import Any

from discomfy.testing.fake_comfyui.semantics import NodeContext, NodeResult, Simulated, fake_node, simulate_nodes, size_of

simulate_nodes(
    "CheckpointLoaderSimple", "UNETLoader", "VAELoader", "CLIPLoader", "DualCLIPLoader", "TripleCLIPLoader",
    "CLIPVisionLoader", "ControlNetLoader", "DiffControlNetLoader", "StyleModelLoader",
    "LoraLoader", "LoraLoaderModelOnly", "HypernetworkLoader", "ModelPatchLoader",
    summary="loads model weights: simulated",
)
simulate_nodes(
    "CLIPTextEncode", "CLIPTextEncodeSDXL", "CLIPTextEncodeFlux", "TextEncodeQwenImageEdit",
    "TextEncodeQwenImageEditPlus", "CLIPVisionEncode", "ConditioningCombine", "ConditioningConcat",
    "ConditioningSetArea", "ConditioningSetMask", "ConditioningZeroOut", "ConditioningSetTimestepRange",
    "FluxGuidance", "ReferenceLatent", "ControlNetApply", "ControlNetApplyAdvanced", "StyleModelApply",
    "unCLIPConditioning",
    summary="encodes with a model (conditioning): simulated",
)
simulate_nodes(
    "KSampler", "KSamplerAdvanced", "SamplerCustom", "SamplerCustomAdvanced", "RandomNoise", "DisableNoise",
    "KSamplerSelect", "BasicScheduler", "KarrasScheduler", "SDTurboScheduler", "BasicGuider", "CFGGuider",
    "DualCFGGuider", "CFGNorm", "ModelSamplingAuraFlow", "ModelSamplingFlux", "ModelSamplingSD3",
    "ModelSamplingDiscrete", "DifferentialDiffusion",
    summary="samples with a model: simulated (reports `steps` progress steps)",
)
simulate_nodes(
    "EmptyLatentImage", "EmptySD3LatentImage", "EmptyHunyuanLatentVideo", "LatentUpscale", "LatentUpscaleBy",
    "SetLatentNoiseMask", "InpaintModelConditioning",
    "VAEEncode", "VAEEncodeForInpaint", "VAEDecode", "VAEDecodeTiled", "VAEEncodeTiled",
    summary="latent (or VAE) stand-in carrying the pixel size: simulated",
)


@fake_node("RepeatLatentBatch", simulated=True, summary="repeats a latent `amount` times: a batch of that many")
def repeat_latent_batch(ctx: NodeContext, samples: Any, amount: int = 1, **_: Any) -> NodeResult:
    size, batch = size_of(samples)
    return NodeResult((Simulated("LATENT", size, batch * max(1, int(amount))),))
