"""Everything that speaks Discord: the bot, the shared generation flow, views and messages."""
