"""/settings — each user's personal defaults: a model per command, aspect ratio, negative
prompt, LoRA and its strength, whether results are shown to the channel or only to them, and
Remix mode (read by ``plugins/remix``: 🎛️ Remix buttons under the user's results).

Nothing here is special to the host. Values are kept in ``bot.jobs.preferences`` (the per-user
preference store every plugin may use, in the job store's file, so they survive restarts),
and reach jobs through three hooks: ``discomfy_default_model`` picks the model when the user
names none, ``discomfy_prepare_parameters`` fills options the user did not give (an explicit
option always wins; a default a workflow cannot take is skipped) and records them as coming
from "your defaults", and ``discomfy_private_results`` keeps results to their owner.
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands
from jsonschema import Draft202012Validator

from discomfy import ValidationError, hookimpl, report_error

NAMESPACE = "settings"
SOURCE = "your defaults"
#: options of other commands this plugin fills, in the order /settings shows them
APPLIED = ("aspect_ratio", "negative_prompt", "lora", "lora_strength")
RESULTS = "results"
ONLY_ME = "me"
REMIX = "remix"  # "on": plugins/remix offers a form to change the prompt before a reroll or variation
ASPECT_RATIOS = ("1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "21:9")
LABELS = {"aspect_ratio": "Aspect ratio", "negative_prompt": "Negative prompt", "lora": "LoRA",
          "lora_strength": "LoRA strength", RESULTS: "Results", REMIX: "Remix"}

def fits(prop: dict[str, Any], value: Any) -> bool:
    """Whether ``value`` is valid for one schema property (a 16:9 default is skipped by a
    command that offers only 1:1, instead of failing the user's job)."""
    return Draft202012Validator(prop).is_valid(value)

def apply_defaults(saved: dict[str, Any], workflow: Any, parameters: dict[str, Any],
                   explicit: frozenset[str], sources: dict[str, str]) -> None:
    """Fill ``parameters`` from ``saved`` where the user gave nothing and the workflow takes it."""
    props = workflow.parameters
    for name in APPLIED:
        if name in saved and name not in explicit and name in props and fits(props[name], saved[name]):
            if name == "lora_strength" and not parameters.get("lora"):
                continue  # a strength without a LoRA changes nothing: do not claim it
            parameters[name] = saved[name]
            sources[name] = SOURCE
    if "model" not in explicit and saved.get(f"model:{workflow.command}") == workflow.model:
        sources["model"] = SOURCE

def describe(saved: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) lines of what a user saved, models first."""
    lines = [(f"Model for /{name.split(':', 1)[1]}", f"`{value}`") for name, value in sorted(saved.items())
             if name.startswith("model:")]
    lines += [(LABELS[name], f"`{saved[name]}`") for name in APPLIED if name in saved]
    if RESULTS in saved:
        lines.append((LABELS[RESULTS], "only you see them" if saved[RESULTS] == ONLY_ME else "posted in the channel"))
    if REMIX in saved:
        lines.append((LABELS[REMIX], "on: 🎛️ Remix under your results lets you change the prompt first"
                      if saved[REMIX] == "on" else "off"))
    return lines

class SettingsCog(commands.GroupCog, group_name="settings", group_description="Your personal defaults for every command"):
    def __init__(self, bot: Any) -> None:
        self.bot = bot
        super().__init__()

    def saved(self, user_id: int) -> dict[str, Any]:
        return self.bot.jobs.preferences.get(user_id, NAMESPACE)

    def embed(self, user: discord.abc.User, title: str) -> discord.Embed:
        embed = discord.Embed(title=title, colour=discord.Colour.blurple())
        lines = describe(self.saved(user.id))
        for label, value in lines:
            embed.add_field(name=label, value=value[:1024], inline=False)
        embed.description = ("Used whenever you leave an option out; an option you give always wins."
                             if lines else "You have no defaults yet: every command uses its own. Set some with `/settings set`.")
        return embed

    # --- hooks ------------------------------------------------------------------------------

    @hookimpl
    def discomfy_default_model(self, command: str, user_id: int) -> str | None:
        return self.saved(user_id).get(f"model:{command}")

    @hookimpl
    def discomfy_prepare_parameters(self, workflow: Any, parameters: dict[str, Any], user_id: int,
                                    explicit: frozenset[str], sources: dict[str, str]) -> None:
        saved = self.saved(user_id)
        if saved:
            apply_defaults(saved, workflow, parameters, explicit, sources)

    @hookimpl
    def discomfy_private_results(self, user_id: int, command: str) -> bool | None:
        return True if self.saved(user_id).get(RESULTS) == ONLY_ME else None

    # --- the commands -----------------------------------------------------------------------

    def models(self) -> dict[str, list[str]]:
        """Commands with more than one model -> their models, from what is loaded now."""
        offered: dict[str, list[str]] = {}
        for spec in self.bot.plugins.workflows.all().values():
            offered.setdefault(spec.command, []).append(spec.model)
        return {command: names for command, names in offered.items() if len(names) > 1}

    async def model_choices(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        pairs = [(f"/{command} · {model}", f"{command}:{model}") for command, models in sorted(self.models().items())
                 for model in models]
        words = current.lower().split()
        return [app_commands.Choice(name=label, value=value) for label, value in pairs
                if all(w in label.lower() for w in words)][:25]

    async def lora_choices(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        provider = self.bot.plugins.autocompleters().get("lora")  # whichever plugin offers LoRA names
        try:
            pairs = await provider(self.bot, current) if provider else []
        except Exception:  # the image server is down: no suggestions beats an error popup
            return []
        return [app_commands.Choice(name=str(label)[:100], value=str(value)[:100]) for label, value in pairs[:25]]

    @app_commands.command(name="show", description="Show your personal defaults")
    async def show(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(embed=self.embed(interaction.user, "Your defaults"), ephemeral=True)

    @app_commands.command(name="set", description="Set defaults used when you leave an option out")
    @app_commands.describe(
        model="A command's model, e.g. /generate · sdxl",
        aspect_ratio="Shape of your images and videos (commands that offer it)",
        negative_prompt="What to avoid (commands that take a negative prompt)",
        lora="A LoRA applied to commands that take one (see /loras)",
        lora_strength="How strongly your default LoRA applies (-2 to 2)",
        results="Post results in the channel, or show them only to you",
        remix="On: a 🎛️ Remix button under your results lets you change the prompt before a reroll or variation",
    )
    @app_commands.choices(
        aspect_ratio=[app_commands.Choice(name=r, value=r) for r in ASPECT_RATIOS],
        results=[app_commands.Choice(name="in the channel", value="channel"),
                 app_commands.Choice(name="only me", value=ONLY_ME)],
        remix=[app_commands.Choice(name="on", value="on"), app_commands.Choice(name="off", value="off")],
    )
    @app_commands.autocomplete(model=model_choices, lora=lora_choices)
    async def set_(self, interaction: discord.Interaction, model: str | None = None,
                   aspect_ratio: str | None = None, negative_prompt: app_commands.Range[str, 1, 1000] | None = None,
                   lora: app_commands.Range[str, 1, 200] | None = None,
                   lora_strength: app_commands.Range[float, -2.0, 2.0] | None = None,
                   results: str | None = None, remix: str | None = None) -> None:
        try:
            changes = self.changes(model, aspect_ratio=aspect_ratio, negative_prompt=negative_prompt,
                                   lora=lora, lora_strength=lora_strength, results=results, remix=remix)
            for name, value in changes.items():
                await self.bot.jobs.preferences.set(interaction.user.id, NAMESPACE, name, value)
        except Exception as exc:
            await report_error(interaction, exc)
            return
        await interaction.response.send_message(embed=self.embed(interaction.user, "Saved: your defaults"), ephemeral=True)

    set_.name = "set"  # ``set`` is a Python builtin; the slash command is /settings set

    def changes(self, model: str | None, **values: Any) -> dict[str, Any]:
        """The preferences to write, checked; refuses an unknown model or an empty request."""
        changes = {name: value for name, value in values.items() if value is not None}
        if model is not None:
            command, _, name = model.partition(":")
            offered = self.models().get(command.lstrip("/"), [])
            if name not in offered:
                choices = ", ".join(f"`{c}:{m}`" for c, ms in sorted(self.models().items()) for m in ms) or "none"
                raise ValidationError(f"`model` must be a command and one of its models, like `generate:sdxl` "
                                      f"(you gave `{model}`; offered: {choices}).", field="model")
            changes[f"model:{command.lstrip('/')}"] = name
        if not changes:
            raise ValidationError("Give at least one option to save; `/settings show` lists what you have.")
        return changes

    @app_commands.command(name="reset", description="Forget your defaults (all of them, or one)")
    @app_commands.describe(setting="Only this one (leave empty to forget all)")
    @app_commands.choices(setting=[app_commands.Choice(name=label, value=name) for name, label in LABELS.items()]
                          + [app_commands.Choice(name="Models", value="model")])
    async def reset(self, interaction: discord.Interaction, setting: str | None = None) -> None:
        user_id = interaction.user.id
        try:
            if setting is None:
                await self.bot.jobs.preferences.delete(user_id, NAMESPACE)
            else:
                names = [n for n in self.saved(user_id) if n == setting or (setting == "model" and n.startswith("model:"))]
                for name in names:
                    await self.bot.jobs.preferences.delete(user_id, NAMESPACE, name)
        except Exception as exc:
            await report_error(interaction, exc)
            return
        title = "Your defaults were cleared" if setting is None else f"Forgot your {LABELS.get(setting, 'model').lower()} default"
        await interaction.response.send_message(embed=self.embed(interaction.user, title), ephemeral=True)

async def setup(bot: Any) -> None:
    await bot.add_cog(SettingsCog(bot))
