"""A minimal cog for the emulator's own tests: real commands, a button, a modal, autocomplete,
plus ``/probe`` which runs whatever coroutine the test registered, so each Discord limit can be
hit through discord.py's public API and the resulting exception captured."""

from __future__ import annotations

import asyncio
import io
from typing import Any, Awaitable, Callable

import discord
from discord import app_commands
from discord.ext import commands

LORAS = ["detail-tweaker", "detailed-eyes", "film-grain", "pixel-art"]


class AgainView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Again", custom_id="again")
    async def again(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.send_message(f"again for {interaction.user.name}")

    @discord.ui.button(label="Edit", custom_id="edit")
    async def edit(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.send_modal(PromptModal())


class CounterView(discord.ui.View):
    """Edits its own message on each click (callback type 7), so the view must stay reachable."""

    def __init__(self) -> None:
        super().__init__(timeout=60)
        self.count = 0

    @discord.ui.button(label="+1", custom_id="count")
    async def increment(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        self.count += 1
        await interaction.response.edit_message(content=f"count {self.count}", view=self)


class PromptModal(discord.ui.Modal, title="Edit prompt"):
    prompt = discord.ui.TextInput(label="Prompt")
    negative = discord.ui.TextInput(label="Negative", required=False, default="blurry")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"new prompt: {self.prompt.value} / {self.negative.value}")


class ProbeCog(commands.Cog):
    def __init__(self) -> None:
        self.scenarios: dict[str, Callable[[discord.Interaction], Awaitable[Any]]] = {}
        self.outcomes: dict[str, asyncio.Future] = {}
        self.lora_choice_count: int | None = None

    def scenario(self, name: str, func: Callable[[discord.Interaction], Awaitable[Any]]) -> asyncio.Future:
        """Register what ``/probe name`` runs; the future gets its result or exception."""
        self.scenarios[name] = func
        self.outcomes[name] = asyncio.get_running_loop().create_future()
        return self.outcomes[name]

    @app_commands.command(description="Generate an image")
    @app_commands.describe(prompt="What to draw", steps="Sampling steps", image="Init image")
    async def generate(self, interaction: discord.Interaction, prompt: str,
                       steps: app_commands.Range[int, 1, 150] = 20, image: discord.Attachment | None = None,
                       lora: str | None = None) -> None:
        await interaction.response.defer()
        size = len(await image.read()) if image else 0
        await interaction.followup.send(f"done: {prompt} ({steps} steps, init {size} bytes, lora {lora})",
                                        file=discord.File(io.BytesIO(b"\x89PNG result"), "result.png"),
                                        view=AgainView())

    @generate.autocomplete("lora")
    async def lora_autocomplete(self, interaction: discord.Interaction, current: str):
        names = [n for n in LORAS if current in n]
        if self.lora_choice_count is not None:
            names = [f"lora-{i}" for i in range(self.lora_choice_count)]
        return [app_commands.Choice(name=n, value=n) for n in names]

    @app_commands.command(description="Edit a prompt in a modal")
    async def edit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(PromptModal())

    @app_commands.command(description="A counter button")
    async def counter(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("count 0", view=CounterView())

    model = app_commands.Group(name="model", description="Model commands")

    @model.command(name="info", description="Describe a model")
    async def model_info(self, interaction: discord.Interaction, name: str, verbose: bool = False) -> None:
        await interaction.response.send_message(f"model {name} verbose={verbose}", ephemeral=True)

    @app_commands.command(description="Name a member")
    async def whois(self, interaction: discord.Interaction, member: discord.Member) -> None:
        await interaction.response.defer(ephemeral=True)
        await interaction.followup.send(f"{member.name} ({member.id})", ephemeral=True)
        await interaction.followup.send("second, also private", ephemeral=True)

    @app_commands.command(description="Run a test scenario")
    async def probe(self, interaction: discord.Interaction, name: str) -> None:
        outcome = self.outcomes[name]
        try:
            result = await self.scenarios[name](interaction)
        except Exception as exc:  # the test asserts on it
            outcome.set_exception(exc)
        else:
            outcome.set_result(result)


class ProbeBot(commands.Bot):
    def __init__(self) -> None:
        super().__init__(command_prefix="!", intents=discord.Intents.default(), guild_ready_timeout=0.05)
        self.probe = ProbeCog()

    async def setup_hook(self) -> None:
        await self.add_cog(self.probe)
        self.add_view(AgainView())  # persistent: clicks work by custom_id after a restart too
        await self.tree.sync()
