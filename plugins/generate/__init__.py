"""/generate — FLUX.1-dev text-to-image; other models (data packs with command = "generate") join as choices of its `model` option.

All of the command (options, validation, queueing, progress, results) comes from the manifest
and the shared generation flow; this file only names them.
"""

from discomfy import WorkflowCog


class GenerateCog(WorkflowCog, name="generate"):
    command_name = "generate"
    manifest_files = ("manifest.toml",)

    async def generate_command_handler(self, interaction, options):
        """Handle /generate (API.md): run the shared generation flow."""
        await self.run(interaction, options)


async def setup(bot):
    await bot.add_cog(GenerateCog(bot))
