"""🎛️ Remix: change the prompt (and negative prompt) before a reroll or a variation runs.

Midjourney users turn Remix mode on once and then steer every reroll and variation; here the
mode is a personal setting (``/settings set remix:on``, kept by ``plugins/settings``). With it
on, the user's results carry 🎛️ Remix (the job again, new seed) and 🎛️ Remix (vary) / R1…R4 (a
variation of that image); either opens a form pre-filled with the job's prompt — and its
negative prompt, when the model takes one — and the edited job runs when the form is sent.
The mode is read when a result is delivered, so switching it changes the next results' buttons.

Both buttons are ``ResultForm``s: the host names the form after the job and answers its
submission (also of a form opened before a restart) with ``rerun`` / ``rerun_vary`` here.
The result says what the user changed: the values they edited are attributed to "your remix"
(shown under the result and in ℹ️ Info like a default from /settings) through
``discomfy_prepare_parameters``, which sees the names of this submission through a context
variable set only around the one ``start_job`` call (pluggy cannot be handed extra arguments).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

import discord
from discord.ext import commands

from discomfy import ActionContext, ResultForm, ValidationError, hookimpl, image_result

SETTINGS = "settings"  # plugins/settings keeps the mode with the user's other defaults
SOURCE = "your remix"
DENOISE = 0.65  # a remixed variation must have room to follow a new prompt: Vary (strong)'s
INIT_IMAGE = "init_image"
FIELDS = {"prompt": "Prompt", "negative_prompt": "Negative prompt"}
TEXT_LIMIT = 2000
#: the names a remix submission changed, while its ``start_job`` runs
REMIXED: ContextVar[frozenset[str]] = ContextVar("remixed", default=frozenset())


def remix_on(bot: Any, user_id: int) -> bool:
    return bot.jobs.preferences.get(user_id, SETTINGS).get("remix") == "on"


def editable(spec: Any) -> list[str]:
    """The prompt fields of ``spec`` a user can set (a Kontext edit has no negative prompt)."""
    return [name for name in FIELDS if name in spec.parameters]


def rerollable(spec: Any) -> bool:
    """A new seed with a prompt, and no input image a click could not supply again (an edit's)."""
    hidden = {p for p in spec.image_parameters if (spec.parameters[p].get("x-discord") or {}).get("hidden")}
    return "prompt" in spec.parameters and "seed" in spec.parameters and set(spec.image_parameters) <= hidden


def variable(job: Any, spec: Any) -> bool:
    """The job's model opted into img2img (the Vary buttons' condition)."""
    return image_result(job, spec) and "img2img" in spec.strategies and INIT_IMAGE in spec.parameters


def remix_options(job: Any, spec: Any, edited: dict[str, str]) -> dict[str, Any]:
    """The job's own options with a new seed and the edited prompts (an emptied optional one
    is left out, so the model's default applies)."""
    images = set(spec.image_parameters)
    options = {k: v for k, v in job.parameters.items() if k in spec.parameters and k not in images}
    for name, value in edited.items():
        options.pop(name, None)
        if value.strip():
            options[name] = value
    options["seed"] = -1
    return options


class RemixModal(discord.ui.Modal):
    """The job's prompts, pre-filled; answered by ``RemixCog.run``."""

    def __init__(self, job: Any, spec: Any, kind: str, image: int | None) -> None:
        title = "Remix: reroll" if kind == "reroll" else f"Remix: vary image {image or 1}"
        super().__init__(title=title, timeout=None)
        for name in editable(spec):
            value = str(job.parameters.get(name) or "")[:TEXT_LIMIT]
            self.add_item(discord.ui.TextInput(label=FIELDS[name], custom_id=name, default=value or None,
                                               style=discord.TextStyle.paragraph, max_length=TEXT_LIMIT,
                                               required=name == "prompt"))


class RemixCog(commands.Cog, name="remix"):
    def __init__(self, bot: Any) -> None:
        self.bot = bot

    def shows(self, check: Any) -> Any:
        return lambda job, spec: spec is not None and remix_on(self.bot, job.user_id) and check(job, spec)

    @hookimpl
    def discomfy_register_result_forms(self) -> list[ResultForm]:
        return [
            ResultForm("remix", "Remix", emoji="🎛️", order=12, applies_to=self.shows(lambda j, s: rerollable(s)),
                       form=self.reroll_form, on_submit=self.rerun),
            ResultForm("remix_vary", "Remix (vary)", emoji="🎛️", per_image=True, short_label="R", order=52,
                       applies_to=self.shows(variable), form=self.vary_form, on_submit=self.rerun_vary),
        ]

    @hookimpl
    def discomfy_prepare_parameters(self, parameters: dict[str, Any], sources: dict[str, str]) -> None:
        for name in REMIXED.get():
            if name in parameters:
                sources[name] = SOURCE

    # --- the buttons open the form ------------------------------------------------------------

    def reroll_form(self, context: ActionContext) -> RemixModal:
        return self.form(context, "reroll")

    def vary_form(self, context: ActionContext) -> RemixModal:
        return self.form(context, "vary")

    def form(self, context: ActionContext, kind: str) -> RemixModal:
        if context.spec is None:
            raise ValidationError(f"The model of this result (`{context.job.workflow}`) is not installed any more.")
        return RemixModal(context.job, context.spec, kind, context.image_number)

    # --- the form's submission starts the job --------------------------------------------------

    async def rerun(self, context: ActionContext, answers: dict[str, Any]) -> None:
        await self.run(context, answers, vary=False)

    async def rerun_vary(self, context: ActionContext, answers: dict[str, Any]) -> None:
        await self.run(context, answers, vary=True)

    async def run(self, context: ActionContext, answers: dict[str, Any], *, vary: bool) -> None:
        """The job again with the edited prompts; ``vary``: as a variation of the chosen image."""
        job, spec = context.job, context.spec
        if spec is None:
            raise ValidationError(f"The model of this result (`{job.workflow}`) is not installed any more.")
        edited = {name: str(answers[name]) for name in editable(spec) if name in answers}
        changed = frozenset(n for n, v in edited.items() if v.strip() != str(job.parameters.get(n) or "").strip())
        options = remix_options(job, spec, edited)
        images = None
        if vary:
            options["denoise"] = DENOISE
            images = {INIT_IMAGE: await context.image()}
        token = REMIXED.set(changed)
        try:
            await context.start_job(spec.name, options, images=images)
        finally:
            REMIXED.reset(token)


async def setup(bot: Any) -> None:
    await bot.add_cog(RemixCog(bot))
