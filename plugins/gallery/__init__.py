"""/jobs and /show: back to one's earlier results, with their buttons working again.

``/jobs`` lists the user's delivered jobs in this server, newest first, five a page (prompt,
model, date, a thumbnail of the result), each with a Show button. ``/show job:<id>`` (or Show)
posts a job's result again under the buttons it had: the images come from Discord's copy of the
result message while Discord serves it, else from ComfyUI's history (the job store keeps which
server made which files), else the user reads why neither has them. The buttons name the job,
so they act on it as the original ones do, also after restarts.

Who sees what: a job's owner may show any of their jobs; anyone else only a public job of this
server. A private job (``results: only me``), or one from another server, is shown only to its
owner, ephemerally; to anyone else it does not exist. Nothing here is kept in memory: paging and
Show buttons carry what they need in their ``custom_id`` and are answered by ``on_interaction``.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from discomfy import ValidationError, report_error, repost_result

log = logging.getLogger(__name__)

PAGE = 5
SCAN = 250  # the user's most recent jobs looked at (all servers): 50 pages of this one
JOB_ID = re.compile(r"[0-9a-f]{12}")
COMPONENT = re.compile(r"gallery:(?P<what>page|show):(?P<arg>[0-9a-f]+)")
NOT_FOUND = "There is no job `{}` of yours, or shared in this server; `/jobs` lists yours."


def visible_to(job: Any, user_id: int, guild_id: int | None) -> bool:
    return job.user_id == user_id or (not job.private and job.guild_id == guild_id)


def shown_privately(job: Any, user_id: int, guild_id: int | None) -> bool:
    """Only the owner may see it here: a private job, or one made in another server."""
    return bool(job.private) or job.guild_id != guild_id


def title_of(job: Any) -> str:
    prompt = str(job.parameters.get("prompt") or "").strip()
    return (prompt or f"/{job.command}")[:256]


class GalleryCog(commands.Cog, name="gallery"):
    def __init__(self, bot: Any) -> None:
        self.bot = bot

    # --- /jobs ------------------------------------------------------------------------------

    @app_commands.command(name="jobs", description="Your recent results here, with Show buttons")
    @app_commands.describe(page="Page (5 a page, newest first)")
    async def jobs(self, interaction: discord.Interaction, page: app_commands.Range[int, 1, 50] = 1) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        embeds, view = await self.page(interaction, page)
        await interaction.followup.send(embeds=embeds, view=view, ephemeral=True)

    async def delivered(self, user_id: int, guild_id: int | None) -> list[Any]:
        recent = await self.bot.jobs.store.jobs_for_user(user_id, active_only=False, limit=SCAN)
        return [job for job in recent if job.state == "delivered" and job.guild_id == guild_id]

    async def page(self, interaction: discord.Interaction, number: int) -> tuple[list[discord.Embed], discord.ui.View]:
        jobs = await self.delivered(interaction.user.id, interaction.guild_id)
        pages = max(1, -(-len(jobs) // PAGE))
        number = max(1, min(number, pages))  # a disabled end button names the page past the end
        shown = jobs[(number - 1) * PAGE:number * PAGE]
        if not shown:
            return [discord.Embed(title="Your jobs", description="No results of yours in this server yet: "
                                  "try `/generate`.")], discord.ui.View()
        thumbnails = await asyncio.gather(*(self.thumbnail(job) for job in shown))
        embeds = []
        for index, (job, thumbnail) in enumerate(zip(shown, thumbnails), start=(number - 1) * PAGE + 1):
            spec = self.bot.plugins.workflows.get(job.workflow or "")
            embed = discord.Embed(title=f"{index}. {title_of(job)}"[:256], colour=discord.Colour.blurple())
            embed.add_field(name="Model", value=f"/{job.command} · {spec.model if spec else job.workflow}")
            embed.add_field(name="Date", value=f"<t:{int(job.created_at)}:f>")
            embed.set_footer(text=f"Job {job.id}" + (" · only you see it" if job.private else ""))
            if thumbnail:
                embed.set_thumbnail(url=thumbnail)
            embeds.append(embed)
        embeds[-1].set_footer(text=f"{embeds[-1].footer.text} · page {number} of {pages}")
        view = discord.ui.View(timeout=None)
        for index, job in enumerate(shown, start=(number - 1) * PAGE + 1):
            view.add_item(discord.ui.Button(label=f"Show {index}", custom_id=f"gallery:show:{job.id}", row=0))
        view.add_item(discord.ui.Button(label="Newer", emoji="◀️", custom_id=f"gallery:page:{number - 1}",
                                        disabled=number == 1, row=1))
        view.add_item(discord.ui.Button(label="Older", emoji="▶️", custom_id=f"gallery:page:{number + 1}",
                                        disabled=number == pages, row=1))
        return embeds, view

    async def thumbnail(self, job: Any) -> str | None:
        message = await self.result_message(job)
        images = [a for a in (message.attachments if message else []) if (a.content_type or "").startswith("image/")]
        return images[0].url if images else None

    async def result_message(self, job: Any) -> discord.Message | None:
        """The job's result as Discord still holds it (None when deleted; a private job's is
        ephemeral, or a direct message, which no channel read reaches)."""
        if job.private or not job.result_message_id or not job.channel_id:
            return None
        try:
            channel = self.bot.get_channel(job.channel_id) or await self.bot.fetch_channel(job.channel_id)
            return await channel.fetch_message(job.result_message_id)
        except discord.HTTPException:
            return None

    # --- /show ------------------------------------------------------------------------------

    @app_commands.command(name="show", description="Post one of your results again, with its buttons")
    @app_commands.describe(job="The job id (under each result)")
    async def show(self, interaction: discord.Interaction, job: app_commands.Range[str, 1, 40]) -> None:
        await self.show_job(interaction, job.strip().removeprefix("Job ").strip().lower())

    async def show_job(self, interaction: discord.Interaction, job_id: str) -> None:
        try:
            job = await self.bot.jobs.store.get(job_id) if JOB_ID.fullmatch(job_id) else None
            user, guild = interaction.user.id, interaction.guild_id
            if job is None or not visible_to(job, user, guild):
                raise ValidationError(NOT_FOUND.format(job_id[:40]))
            private = shown_privately(job, user, guild)
            if job.state != "delivered":
                raise ValidationError(f"Job `{job.id}` has no result to show: it ended {job.state}"
                                      + (f" ({job.error_message})" if job.error_message else "") + ".")
            spec = self.bot.plugins.workflows.get(job.workflow or "")
            if spec is None:
                raise ValidationError(f"The model of job `{job.id}` (`{job.workflow}`) is not installed any more.")
        except Exception as exc:
            await report_error(interaction, exc)
            return
        await interaction.response.defer(ephemeral=private, thinking=True)
        try:
            await repost_result(interaction, job, spec, await self.files_of(job), ephemeral=private)
        except Exception as exc:
            await report_error(interaction, exc)

    async def files_of(self, job: Any) -> list[tuple[str, bytes]]:
        """The result's files: Discord's copy while it serves it, else ComfyUI's history."""
        message = await self.result_message(job)
        if message is not None and message.attachments:
            try:
                return [(a.filename.removeprefix("SPOILER_"), await a.read()) for a in message.attachments]
            except discord.HTTPException as exc:
                log.info("job %s: Discord no longer serves its result (%s); asking ComfyUI", job.id, exc)
        server = self.bot.jobs.servers.get(job.server or "")
        if server is None or not job.outputs:
            raise ValidationError(f"Discord no longer has the result of job `{job.id}` and the image server that "
                                  "made it is not configured any more; run the command again.")
        try:
            return [(o["filename"], await server.client.download_output(o["filename"], o.get("subfolder", ""),
                                                                        o.get("type", "output"))) for o in job.outputs]
        except Exception as exc:
            log.info("job %s: ComfyUI no longer has its outputs (%s)", job.id, exc)
            raise ValidationError(f"Discord no longer has the result of job `{job.id}`, and the image server "
                                  f"`{server.name}` no longer keeps its files (it was cleaned or reinstalled); "
                                  "run the command again.") from None

    # --- the buttons of /jobs -----------------------------------------------------------------

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        if interaction.type is not discord.InteractionType.component:
            return
        match = COMPONENT.fullmatch(str((interaction.data or {}).get("custom_id", "")))
        if match is None:
            return
        if match["what"] == "show":
            await self.show_job(interaction, match["arg"])
            return
        try:
            await interaction.response.defer()
            embeds, view = await self.page(interaction, int(match["arg"]))
            await interaction.edit_original_response(embeds=embeds, view=view)
        except Exception as exc:
            await report_error(interaction, exc)


async def setup(bot: Any) -> None:
    await bot.add_cog(GalleryCog(bot))
