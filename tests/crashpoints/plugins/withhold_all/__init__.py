"""A review plugin that withholds every result: the crash-point suite's withheld ending."""

from discord.ext import commands

from discomfy import hookimpl

MESSAGE = "Not posted: this server withholds every result."


class WithholdAll(commands.Cog, name="withhold-all"):
    @hookimpl
    def discomfy_review_result(self, review):
        review.withhold(MESSAGE, "the crash-point suite's withholding plugin")


async def setup(bot):
    await bot.add_cog(WithholdAll())
