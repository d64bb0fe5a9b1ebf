"""100 users at once: every job ends (delivered or refused with a reason), caps hold, the
queue position is shown and kept current, and Discord sees no 429 and no violation."""

from __future__ import annotations

import asyncio
import re

import pytest

from tests.bot.support import assert_settled, embed_text, is_result, wait_outcome

POSITION = re.compile(r"Position in queue: \*\*(\d+)\*\*")


def positions_shown(emu, message_id: str) -> list[int]:
    """Every queue position the bot ever wrote into one message (initial answer and edits)."""
    shown = []
    for rec in emu.requests:
        body = rec.json or {}
        if rec.path.endswith("/callback"):
            body = body.get("data") or {}
            if not rec.response or (rec.response.get("resource") or {}).get("message", {}).get("id") != message_id:
                continue
        elif not rec.path.endswith(f"/messages/{message_id}"):
            continue
        for embed in body.get("embeds") or []:
            shown += [int(n) for n in POSITION.findall(embed.get("description", ""))]
    return shown


@pytest.mark.timeout(300)  # 103 placeholder images drawn and delivered: minutes on a loaded machine
async def test_a_burst_of_100_users_is_served_fairly_without_rate_limit_trouble(discord_emulator, fake_comfyui, start_bot):
    emu = discord_emulator
    # Answering 101 interactions in one instant within Discord's 3 s is machine speed (on a
    # 2-core machine shared with other tests, some missed it): bench/shards.py measures it.
    # Here the window only has to catch an interaction never answered.
    emu.response_window = 60.0
    # the last of 103 jobs may wait minutes on a loaded machine: longer than the tests' 60 s queue deadline
    async with start_bot(**{"limits.global_limit": 1000, "limits.max_queued_per_user": 3,
                            "progress.edit_interval": 0.5, "comfyui.job_deadline": 600.0}) as bot:
        users = [emu.make_user(f"user{n}") for n in range(100)]
        greedy = emu.make_user("greedy")
        inters = [await emu.invoke("generate", {"prompt": f"picture {n}"}, user=u, wait=False) for n, u in enumerate(users)]
        mine = [await emu.invoke("generate", {"prompt": f"mine {n}"}, user=greedy, wait=False) for n in range(5)]
        await asyncio.gather(*(i.wait_response(5) for i in inters + mine))

        refused = [i for i in mine if i.original_message.ephemeral]
        assert len(refused) == 2, "the per-user cap is 3"
        for inter in refused:
            assert "already have 3 jobs" in embed_text(inter.original_message)
        assert not any(i.original_message.ephemeral for i in inters), "everyone else got a job"

        accepted = inters + [i for i in mine if not i.original_message.ephemeral]
        outcomes = await asyncio.gather(*(wait_outcome(emu, i, timeout=240) for i in accepted))
        assert all(is_result(m) for m in outcomes), [embed_text(m) for m in outcomes if not is_result(m)][:3]
        assert len(fake_comfyui.worker.history) == 103

        last = inters[-1].original_message.id
        shown = positions_shown(emu, last)
        assert shown and shown[0] >= 90, f"user99's first answer shows its place in the queue: {shown[:3]}"
        assert len(shown) > 1 and shown[-1] < shown[0], "the position is kept current while waiting"
        assert shown == sorted(shown, reverse=True), "a waiting job never moves back"
        await assert_settled(emu, bot)


async def test_the_queue_takes_turns_between_users(discord_emulator, fake_comfyui, start_bot):
    """Strict turns are ``least_busy``'s promise; ``model_affinity`` (opt-in) may bend
    them within the aging bound (tests/core/test_scheduling_policy.py)."""
    emu = discord_emulator
    async with start_bot(**{"comfyui.scheduling": "least_busy"}) as bot:
        alice, bob = emu.make_user("alice"), emu.make_user("bob")
        fake_comfyui.simulate("SamplerCustomAdvanced", steps=20, step_delay=0.01)
        mine = [await emu.invoke("generate", {"prompt": f"alice {n}"}, user=alice) for n in range(3)]
        theirs = await emu.invoke("generate", {"prompt": "bob 0"}, user=bob)
        assert "Position in queue: **2**" in embed_text(theirs.original_message), "bob waits behind one alice job, not two"
        await asyncio.gather(*(wait_outcome(emu, i) for i in [*mine, theirs]))
        order = [entry["prompt"][2]["4"]["inputs"]["text"] for entry in fake_comfyui.worker.history.values()]
        assert order == ["alice 0", "alice 1", "bob 0", "alice 2"] or order == ["alice 0", "bob 0", "alice 1", "alice 2"]
        assert order.index("bob 0") < order.index("alice 2")
        await assert_settled(emu, bot)
