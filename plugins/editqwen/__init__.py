"""/editqwen — Qwen-Image-Edit-2509: edit or combine up to three images.

All of the command (options, validation, queueing, progress, results) comes from the manifest
and the shared generation flow; this file only names them.
"""

from discomfy import WorkflowCog


class EditQwenCog(WorkflowCog, name="editqwen"):
    command_name = "editqwen"
    manifest_files = ("manifest.toml",)

    async def editqwen_command_handler(self, interaction, options):
        """Handle /editqwen (API.md): run the shared generation flow."""
        await self.run(interaction, options)


async def setup(bot):
    await bot.add_cog(EditQwenCog(bot))
