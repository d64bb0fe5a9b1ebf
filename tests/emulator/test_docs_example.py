"""The end-to-end example from docs/testing-plugins.md, kept runnable (keep the two in sync)."""

import discord
from discord import app_commands
from discord.ext import commands


class EchoCog(commands.Cog):  # stands in for your plugin's cog
    @app_commands.command(description="Repeat a text")
    async def echo(self, interaction: discord.Interaction, text: str) -> None:
        await interaction.response.defer()
        await interaction.followup.send(f"you said: {text}")


class EchoBot(commands.Bot):
    async def setup_hook(self) -> None:
        await self.add_cog(EchoCog())
        await self.tree.sync()


async def test_echo_end_to_end(discord_emulator):
    bot = EchoBot(command_prefix="!", intents=discord.Intents.default(), guild_ready_timeout=0.05)
    async with discord_emulator.run_bot(bot):
        alice = discord_emulator.make_user("alice")
        interaction = await discord_emulator.invoke("echo", {"text": "hello"}, user=alice)
        assert interaction.response == {"type": 5}  # deferred within 3 s
        message = await discord_emulator.wait_for_message(lambda m: m.content.startswith("you said"))
        assert message.content == "you said: hello"
    assert not discord_emulator.violations and not discord_emulator.unhandled
