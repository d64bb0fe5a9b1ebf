"""A loopback Discord for end-to-end tests of a real discord.py bot (REST + gateway).

See ``DiscordEmulator`` and docs/plugins.md "Testing a plugin end to end".
"""

from .clock import EmulatorClock, SnowflakeFactory, snowflake_time
from .guilds import EmulatedGuild
from .interactions import EmulatedInteraction
from .limits import DiscordAPIError
from .messages import StoredAttachment, StoredMessage
from .recording import RecordedRequest, RequestPart, Violation
from .roles import CommandNotAvailable
from .server import DiscordEmulator, EmulatedUser

__all__ = [
    "CommandNotAvailable", "DiscordAPIError", "DiscordEmulator", "EmulatedGuild", "EmulatedInteraction", "EmulatedUser",
    "EmulatorClock",
    "RecordedRequest", "RequestPart", "SnowflakeFactory", "StoredAttachment", "StoredMessage",
    "Violation", "snowflake_time",
]
