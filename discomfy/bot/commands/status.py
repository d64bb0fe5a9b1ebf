"""``/status``: is ComfyUI reachable, how long is the queue, what runs, what are my jobs.

Everything comes from the bot's own state plus one cheap request per server (with a short
timeout, so a dead server makes /status say so instead of hanging).
"""

from __future__ import annotations

import asyncio
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from discomfy.bot.review import access_notes

PROBE_TIMEOUT = 2.0


async def probe(server: Any) -> tuple[bool, int | None]:
    """(reachable, ComfyUI queue length) for one server."""
    try:
        async with asyncio.timeout(PROBE_TIMEOUT):
            snapshot = await server.client.get_queue()
    except Exception:
        return False, None
    return True, len(snapshot.running) + len(snapshot.pending)


class StatusCog(commands.Cog, name="status"):
    def __init__(self, bot: Any) -> None:
        self.bot = bot

    @app_commands.command(name="status", description="Image server health, the queue, and your jobs")
    async def status_command_handler(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        bot = self.bot
        servers = list(bot.jobs.servers)
        probes = await asyncio.gather(*(probe(s) for s in servers))  # live, not the last health check
        rows = {row["name"]: row for row in bot.jobs.servers.status()}
        embed = discord.Embed(title="DisComfy status", colour=discord.Colour.blurple())
        lines = []
        for server, (up, length) in zip(servers, probes):
            row = rows.get(server.name, {})
            state = f"🟢 reachable, {length} in its queue" if up else "🔴 not reachable"
            if up and row.get("models") is not None:
                state += f", {row['models']} models, {row.get('loras') or 0} LoRAs"
            if row.get("running"):
                state += f", running {row['running']} of ours"
            if row.get("waiting"):
                state += f", {row['waiting']} of ours may go there"
            if up and row.get("holds"):  # what it probably has loaded (comfyui.scheduling)
                state += "; holds " + ", ".join(f"`{m}`" for m in row["holds"][:6])
            lines.append(f"**{server.name}**: {state}")
        embed.add_field(name="Image servers", value="\n".join(lines)[:1024], inline=False)

        waiting, running_jobs = await bot.jobs.queue_view()  # the scheduling process's queue
        running = ", ".join(f"`{job_id}` (<@{user_id}>)" for job_id, user_id in running_jobs) or "nothing"
        embed.add_field(name="Queue", value=f"{waiting} waiting · running: {running}"[:1024], inline=False)

        mine = await bot.jobs.store.jobs_for_user(interaction.user.id, active_only=True)
        if mine:
            rows = []
            for job in mine[:10]:
                position = bot.jobs.job_queue.position(job.id)
                where = f"position {position}" if position else str(job.state)
                rows.append(f"`{job.id}` /{job.command} — {where}")
            embed.add_field(name="Your jobs", value="\n".join(rows)[:1024], inline=False)
        else:
            embed.add_field(name="Your jobs", value="none waiting or running", inline=False)

        unavailable = bot.jobs.availability.lines()
        if unavailable:
            embed.add_field(name="Unavailable right now", value="\n".join(unavailable)[:1024], inline=False)

        notes = access_notes(bot, interaction)
        if notes:
            embed.add_field(name="On this server", value="\n".join(notes)[:1024], inline=False)

        loaded = bot.plugins.report.names("loaded") + bot.plugins.report.names("stale")
        failed = bot.plugins.report.names("failed")
        plugins = ", ".join(loaded) + (f" · failed: {', '.join(failed)}" if failed else "")
        embed.add_field(name="Plugins", value=plugins[:1024] or "none", inline=False)
        await interaction.followup.send(embed=embed, ephemeral=True)


async def setup(bot: Any) -> None:
    await bot.add_cog(StatusCog(bot))
