"""Helpers for the end-to-end bot tests: images to attach, waiting for outcomes, final checks.

Everything here looks at what a Discord user would see (emulator messages) or at what the
bot left behind (job store), never at handler internals.
"""

from __future__ import annotations

import asyncio
import io
import re
from typing import Any

from PIL import Image

JOB_FOOTER = re.compile(r"Job (?P<id>[0-9a-f]{12})")


def png_bytes(width: int = 64, height: int = 48, colour: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, "PNG")
    return buffer.getvalue()


def image_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as decoded:
        decoded.load()  # a truncated file fails here, not later
        return decoded.size


def job_id_of(message: Any) -> str:
    footer = (message.embeds[0].get("footer") or {}).get("text", "") if message.embeds else ""
    match = JOB_FOOTER.search(footer)
    assert match, f"message {message!r} names no job in its footer ({footer!r})"
    return match["id"]


def embed_text(message: Any) -> str:
    """Title, description and fields of every embed, as one string to search in."""
    parts = [message.content]
    for embed in message.embeds:
        parts += [embed.get("title", ""), embed.get("description", "")]
        parts += [f"{f['name']}: {f['value']}" for f in embed.get("fields", [])]
        parts.append((embed.get("footer") or {}).get("text", ""))
    return "\n".join(p for p in parts if p)


def is_result(message: Any) -> bool:
    return bool(message.attachments) and any(c.startswith("discomfy:info:") for c in message.custom_ids)


def is_failure(message: Any) -> bool:
    return bool(message.embeds) and message.embeds[0].get("title", "").endswith(("failed", "cancelled", "withheld"))


#: How long a test waits for a job's outcome by default. Only a failing test waits this long (the
#: wait ends at the outcome), so it is set for a machine under heavy load, not for an idle one;
#: pytest-timeout still ends a hung test.
OUTCOME_TIMEOUT = 60.0


async def wait_outcome(emu: Any, inter: Any, timeout: float = OUTCOME_TIMEOUT) -> Any:
    """The job's message once it shows a result or a failure (same message as the progress)."""
    message_id = inter.original_message.id
    return await emu.wait_for_message(lambda m: m.id == message_id and (is_result(m) or is_failure(m)), timeout=timeout)


async def wait_result(emu: Any, inter: Any, timeout: float = OUTCOME_TIMEOUT) -> Any:
    message = await wait_outcome(emu, inter, timeout)
    assert is_result(message), f"the job failed instead of delivering: {embed_text(message)}"
    return message


def saved_outputs(fake: Any) -> list[bytes]:
    """Every image the fake ComfyUI saved, in save order."""
    return list(fake.files.files["output"].values())


async def answer_text(emu: Any, inter: Any, timeout: float = 5.0) -> str:
    """The text of an interaction's ephemeral answer, once a deferred "thinking" became it."""
    original = inter.original_message
    assert original is not None, f"the bot answered {inter.describe()} without a message: {inter.response}"
    if original.loading:
        await emu.wait_for_message(lambda m: m.id == original.id and not m.loading, timeout=timeout)
    assert original.ephemeral, f"the answer to {inter.describe()} is public: {embed_text(original)!r}"
    return embed_text(original)


async def wait_idle(bot: Any, timeout: float = 10.0) -> None:
    """Until no job task runs any more (every accepted job reached its end)."""
    async def idle() -> None:
        while bot.jobs.generation.runs.tasks() or len(bot.jobs.job_queue):
            await asyncio.sleep(0.01)

    await asyncio.wait_for(idle(), timeout)


async def final_state(bot: Any, job_id: str, timeout: float = 5.0) -> Any:
    """The job's state once it ended: the store records the end right after the user's
    message is sent (the delivery protocol writes it last)."""
    async def ended() -> Any:
        while True:
            job = await bot.jobs.store.get(job_id)
            if job is not None and job.is_final:
                return job.state
            await asyncio.sleep(0.01)

    return await asyncio.wait_for(ended(), timeout)


async def no_open_jobs(bot: Any, timeout: float = 5.0) -> bool:
    """True once the store holds no unfinished job (its end is recorded after the message)."""
    async def closed() -> bool:
        while await bot.jobs.store.unfinished():
            await asyncio.sleep(0.01)
        return True

    return await asyncio.wait_for(closed(), timeout)


async def assert_settled(emu: Any, bot: Any) -> None:
    """The closing check of every test: no job left open, nothing Discord would have refused."""
    await wait_idle(bot)
    open_jobs = await bot.jobs.store.unfinished()
    assert not open_jobs, f"jobs left open: {[(j.id, j.state) for j in open_jobs]}"
    assert not emu.violations, [str(v) for v in emu.violations]
    assert not emu.unhandled, emu.unhandled
    assert not any(r.status == 429 for r in emu.requests), "the bot hit a 429"
