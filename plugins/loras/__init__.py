"""/loras — the LoRAs installed on the ComfyUI server, filtered and paged past Discord's 25.

It also offers autocomplete for the ``lora`` option of *every* command through the
``discomfy_register_autocomplete`` hook, so a new plugin with a ``lora`` parameter gets
completion without knowing this plugin exists.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from discomfy import hookimpl, load_command_manifest, report_error

PAGE_SIZE = 25
MANIFEST = load_command_manifest(Path(__file__).with_name("manifest.toml"), plugin="loras")
OPTIONS = MANIFEST.schema["properties"]


def matching(loras: list[str], text: str | None) -> list[str]:
    """LoRAs whose name contains every word of ``text`` (case-insensitive), sorted."""
    words = (text or "").lower().split()
    return sorted(name for name in loras if all(word in name.lower() for word in words))


def page_embed(names: list[str], page: int, text: str | None, total: int) -> discord.Embed:
    pages = max(1, math.ceil(len(names) / PAGE_SIZE))
    page = min(max(1, page), pages)
    shown = names[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    title = f"LoRAs matching “{text}”" if text else "Installed LoRAs"
    body = "\n".join(f"`{name}`" for name in shown) or "No LoRA matches; try a shorter filter."
    embed = discord.Embed(title=title, description=body[:4096], colour=discord.Colour.blurple())
    embed.set_footer(text=f"Page {page}/{pages} · {len(names)} of {total} LoRAs · use them with the lora option")
    return embed


class PageButton(discord.ui.DynamicItem[discord.ui.Button], template=r"loras:page:(?P<page>\d+)(?::(?P<text>.{0,80}))?"):
    """Previous/next page; the page and filter live in the custom_id, so it survives restarts."""

    def __init__(self, page: int, text: str | None, label: str, disabled: bool = False) -> None:
        custom_id = f"loras:page:{page}" + (f":{text}" if text else "")
        super().__init__(discord.ui.Button(label=label, custom_id=custom_id[:100], disabled=disabled))
        self.page, self.text = page, text

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button, match: Any) -> PageButton:
        return cls(int(match["page"]), match["text"], item.label or "")

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            cog = interaction.client.get_cog("loras")
            embed, view = await cog.render_page(self.page, self.text)
            await interaction.response.edit_message(embed=embed, view=view)
        except Exception as exc:  # e.g. ComfyUI down: say so, or Discord shows "interaction failed"
            await report_error(interaction, exc)


class LorasCog(commands.Cog, name="loras"):
    def __init__(self, bot: Any) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(PageButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(PageButton)

    async def installed(self) -> list[str]:
        return await self.bot.jobs.servers.primary.client.list_loras()

    async def render_page(self, page: int, text: str | None) -> tuple[discord.Embed, discord.ui.View]:
        loras = await self.installed()
        names = matching(loras, text)
        pages = max(1, math.ceil(len(names) / PAGE_SIZE))
        page = min(max(1, page), pages)
        view = discord.ui.View(timeout=None)
        view.add_item(PageButton(page - 1, text, "◀ Previous", disabled=page <= 1))
        view.add_item(PageButton(page + 1, text, "Next ▶", disabled=page >= pages))
        return page_embed(names, page, text, len(loras)), view

    @app_commands.command(name=MANIFEST.command, description=MANIFEST.description)
    @app_commands.describe(filter=OPTIONS["filter"]["description"], page=OPTIONS["page"]["description"])
    async def loras_command_handler(
        self, interaction: discord.Interaction, filter: app_commands.Range[str, 1, 100] | None = None,
        page: app_commands.Range[int, 1, None] = 1,
    ) -> None:
        """Handle /loras (API.md)."""
        embed, view = await self.render_page(page, filter)
        await interaction.response.send_message(embed=embed, view=view, ephemeral=True)

    @hookimpl
    def discomfy_register_autocomplete(self) -> dict[str, Any]:
        async def complete_lora(bot: Any, current: str) -> list[tuple[str, str]]:
            return [(name, name) for name in matching(await self.installed(), current)[:25]]

        return {"lora": complete_lora}


async def setup(bot: Any) -> None:
    await bot.add_cog(LorasCog(bot))
