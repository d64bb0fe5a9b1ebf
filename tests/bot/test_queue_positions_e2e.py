"""Every waiting job's message shows its place in the one serving order: with n jobs waiting,
the positions users see are exactly 1..n, after each start and cancel (issue 20, point 10)."""

from __future__ import annotations

import asyncio
import re

from tests.bot.support import assert_settled, embed_text, wait_result

POSITION = re.compile(r"Position in queue: \*\*(\d+)\*\*")


def shown_position(message) -> int | None:
    match = POSITION.search(embed_text(message))
    return int(match[1]) if match else None


async def positions_settle(emu, inters, expected: list[int | None] | set[int], timeout: float = 10.0) -> None:
    """Until the messages of ``inters`` show ``expected`` (in any order when it is a set)."""
    async def settled() -> None:
        while True:
            shown = [shown_position(i.original_message) for i in inters]
            if (set(shown) if isinstance(expected, set) else shown) == expected:
                return
            await asyncio.sleep(0.02)

    try:
        await asyncio.wait_for(settled(), timeout)
    except asyncio.TimeoutError:
        raise AssertionError(f"positions shown {[shown_position(i.original_message) for i in inters]}, "
                             f"expected {expected}") from None


async def test_positions_seen_by_several_users_are_one_consistent_order(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    gate = fake_comfyui.hold_at("SamplerCustomAdvanced")
    alice, bob = emu.make_user("alice"), emu.make_user("bob")
    running = await emu.invoke("generate", {"prompt": "first"})
    await emu.wait_for_message(lambda m: m.id == running.original_message.id and "Position" not in embed_text(m))
    a1 = await emu.invoke("generate", {"prompt": "a1"}, user=alice)
    a2 = await emu.invoke("generate", {"prompt": "a2"}, user=alice)
    b1 = await emu.invoke("generate", {"prompt": "b1"}, user=bob)
    await positions_settle(emu, [a1, b1, a2], [1, 2, 3])  # round-robin: alice, bob, alice
    cancel = next(c for c in a1.original_message.custom_ids if c.startswith("discomfy:cancel:"))
    await emu.click(a1.original_message, cancel, user=alice)
    # alice's next job takes her turn, ahead of bob's: a reorder, never a gap or a stale number
    await positions_settle(emu, [b1, a2], {1, 2})
    gate.set()
    for inter in (running, b1, a2):
        await wait_result(emu, inter, timeout=30)
    await assert_settled(emu, bot)
