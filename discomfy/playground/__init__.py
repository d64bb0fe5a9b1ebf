"""``discomfy play``: the real bot, a loopback Discord and a browser page that looks like a channel.

Nothing here changes how the bot runs: it is started by ``discomfy run``'s own start-up path,
with its Discord endpoints pointed at :mod:`discomfy.testing.discord_emulator`. The page is a
client of that emulator (it sends interactions as a Discord client would and shows the
messages the emulator stores), so what it shows is what a Discord user would see.

Modules: :mod:`.stage` wires the pieces, :mod:`.comfyui_choice` picks the image server,
:mod:`.app` serves the page, :mod:`.actions` turns page input into interactions,
:mod:`.feed` pushes every message change to open pages, :mod:`.messages` shapes them as JSON.
"""
