"""/editflux — FLUX.1 Kontext image edit: the output keeps the input's aspect ratio.

All of the command (options, validation, queueing, progress, results) comes from the manifest
and the shared generation flow; this file only names them.
"""

from discomfy import WorkflowCog


class EditFluxCog(WorkflowCog, name="editflux"):
    command_name = "editflux"
    manifest_files = ("manifest.toml",)

    async def editflux_command_handler(self, interaction, options):
        """Handle /editflux (API.md): run the shared generation flow."""
        await self.run(interaction, options)


async def setup(bot):
    await bot.add_cog(EditFluxCog(bot))
