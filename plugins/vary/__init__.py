"""🔀 Vary (subtle), 🔀 Vary (strong) and V1…V4 under results.

A variation is image-to-image of the chosen result image with the job's own model, prompt and
options, at a new seed: ``denoise`` 0.35 keeps the composition (subtle), 0.65 lets it move
(strong). Which models can vary is their own choice: a workflow opts in by listing the
``img2img`` strategy in its manifest (with the hidden ``init_image`` and ``denoise``
parameters, see docs/plugins.md); a model without it shows no Vary button.
"""

from __future__ import annotations

from typing import Any

from discord.ext import commands

from discomfy import ActionContext, ResultAction, ValidationError, hookimpl, image_result

SUBTLE, STRONG = 0.35, 0.65
INIT_IMAGE = "init_image"  # the img2img strategy's parameter


def can_vary(job: Any, spec: Any) -> bool:
    """The job's workflow is an image workflow that opted into img2img."""
    return image_result(job, spec) and "img2img" in spec.strategies and INIT_IMAGE in spec.parameters


def variation_options(job: Any, spec: Any, denoise: float) -> dict[str, Any]:
    """The job's own options (its model, prompt, size, LoRA, batch...) with a new seed."""
    images = set(spec.image_parameters)
    options = {k: v for k, v in job.parameters.items() if k in spec.parameters and k not in images}
    options.update(seed=-1, denoise=denoise)
    return options


class VaryCog(commands.Cog, name="vary"):
    def __init__(self, bot: Any) -> None:
        self.bot = bot

    @hookimpl
    def discomfy_register_result_actions(self) -> list[ResultAction]:
        return [
            ResultAction("vary", "Vary (subtle)", self.subtle, emoji="🔀", per_image=True, short_label="V",
                         order=50, applies_to=can_vary),
            # no short label: on a batch, V1…V4 are the subtle variations only
            ResultAction("vary_strong", "Vary (strong)", self.strong, emoji="🔀", per_image=True,
                         order=51, applies_to=can_vary),
        ]

    async def subtle(self, context: ActionContext) -> None:
        await self.vary(context, SUBTLE)

    async def strong(self, context: ActionContext) -> None:
        await self.vary(context, STRONG)

    async def vary(self, context: ActionContext, denoise: float) -> None:
        spec = context.spec
        if spec is None or not can_vary(context.job, spec):
            raise ValidationError(f"The model of this result (`{context.job.workflow}`) cannot make variations "
                                  "any more; run the command again.")
        filename, data = await context.image()
        await context.start_job(spec.name, variation_options(context.job, spec, denoise),
                                images={INIT_IMAGE: (filename, data)})


async def setup(bot: Any) -> None:
    await bot.add_cog(VaryCog(bot))
