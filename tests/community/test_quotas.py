"""The moderation plugin's quotas (issue 22, point 5): every member's use counted exactly, per
server, with the last unit taken once however many submissions race for it, units given back
for jobs that gave the member nothing, and the same counts after a restart.

Time is a parameter (``now``) everywhere: no test sleeps."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from discomfy.core.jobs.job import Job, JobState, new_job_id
from discomfy.core.jobs.store import JobStore
from discomfy.core.review import Requester, SubmissionReview
from plugins.community.quotas import QuotaLedger
from plugins.community.rules import DAY, GuildRules, QuotaRules
from plugins.community.usage import UsageCog

HOUR = 3600.0
MIDNIGHT = 1_714_521_600.0  # 2024-05-01 00:00 UTC
NOW = MIDNIGHT + 10 * HOUR
GUILD, OTHER_GUILD = 1_100_000_000_000_000_001, 1_100_000_000_000_000_002
ALICE, BOB = 1_200_000_000_000_000_001, 1_200_000_000_000_000_002
VIP, MOD, ADMIN = 1_300_000_000_000_000_001, 1_300_000_000_000_000_002, 1_300_000_000_000_000_003


def review(user_id: int = ALICE, guild_id: int | None = GUILD, roles: frozenset[int] = frozenset()) -> SubmissionReview:
    return SubmissionReview(Requester(user_id, guild_id, role_ids=roles), new_job_id(), "generate", None, {})


def submit(ledger: QuotaLedger, rules: QuotaRules, now: float, **who) -> tuple[SubmissionReview, str | None]:
    """What the host does with one submission: ask the ledger, and drop it when refused."""
    submission = review(**who)
    refusal = ledger.reserve(submission, rules, now)
    if refusal is not None:
        submission.refuse(refusal)
        submission.drop()
    return submission, refusal


def accepted(ledger: QuotaLedger, rules: QuotaRules, now: float, tries: int, **who) -> int:
    return sum(submit(ledger, rules, now, **who)[1] is None for _ in range(tries))


def ended(submission: SubmissionReview, state: JobState, started_at: float | None = None,
          ended_at: float = NOW) -> Job:
    """The job a submission became, as ``discomfy_job_finished`` hands it over."""
    who = submission.requester
    job = Job(user_id=who.user_id, plugin="generate", id=submission.job_id, guild_id=who.guild_id, state=state,
              started_at=started_at)
    job.updated_at = ended_at
    return job


# --- the last unit is taken once ---------------------------------------------------------

@pytest.mark.parametrize("unit, limit, used_before", [("jobs", 3, 2), ("gpu_seconds", 600, 599)])
async def test_twenty_concurrent_submissions_for_the_last_unit_accept_exactly_one(unit, limit, used_before):
    rules = QuotaRules(unit=unit, default=limit)
    ledger = QuotaLedger()
    if unit == "jobs":
        assert accepted(ledger, rules, NOW, used_before) == used_before
    else:
        first, _ = submit(ledger, rules, NOW)
        ledger.finished(ended(first, JobState.DELIVERED, started_at=NOW, ended_at=NOW + used_before))
    go = asyncio.Event()

    async def member_clicks() -> str | None:
        await go.wait()
        return submit(ledger, rules, NOW + HOUR)[1]

    tasks = [asyncio.create_task(member_clicks()) for _ in range(20)]
    go.set()
    refusals = await asyncio.gather(*tasks)

    assert refusals.count(None) == 1
    assert all("You have used your" in r for r in refusals if r is not None)
    assert ledger.usage(GUILD, ALICE, frozenset(), rules, NOW + HOUR).left == 0


# --- units come back for jobs that gave the member nothing --------------------------------

@pytest.mark.parametrize("state", [JobState.FAILED, JobState.CANCELLED, JobState.WITHHELD])
def test_a_job_that_gave_nothing_gives_its_unit_back(state):
    rules, ledger = QuotaRules(default=1), QuotaLedger()
    first, _ = submit(ledger, rules, NOW)
    assert submit(ledger, rules, NOW)[1] is not None

    ledger.finished(ended(first, state))

    assert accepted(ledger, rules, NOW, 3) == 1


def test_a_delivered_job_keeps_its_unit():
    rules, ledger = QuotaRules(default=1), QuotaLedger()
    first, _ = submit(ledger, rules, NOW)
    ledger.finished(ended(first, JobState.DELIVERED, started_at=NOW))
    assert accepted(ledger, rules, NOW, 3) == 0


def test_hearing_twice_that_a_job_ended_changes_nothing():
    rules, ledger = QuotaRules(default=2), QuotaLedger()
    failed, _ = submit(ledger, rules, NOW)
    submit(ledger, rules, NOW)

    for _ in range(3):
        ledger.finished(ended(failed, JobState.FAILED))

    assert accepted(ledger, rules, NOW, 5) == 1  # one unit back, not three


def test_a_submission_that_never_became_a_job_gives_its_unit_back():
    rules, ledger = QuotaRules(default=1), QuotaLedger()
    submission, refusal = submit(ledger, rules, NOW)
    assert refusal is None
    submission.refuse("Another plugin refused the prompt.")  # e.g. the word list, after the quota
    submission.drop()

    assert accepted(ledger, rules, NOW, 3) == 1


def test_one_server_never_spends_another_servers_quota():
    rules, ledger = QuotaRules(default=1), QuotaLedger()
    assert accepted(ledger, rules, NOW, 3, guild_id=GUILD) == 1
    assert accepted(ledger, rules, NOW, 3, guild_id=OTHER_GUILD) == 1
    assert accepted(ledger, rules, NOW, 3, user_id=BOB) == 1


# --- whose limit applies ------------------------------------------------------------------

def test_the_most_generous_role_wins():
    rules, ledger = QuotaRules(default=2, roles={VIP: 5, MOD: 3}), QuotaLedger()
    assert accepted(ledger, rules, NOW, 10, roles=frozenset({MOD, VIP})) == 5
    assert accepted(ledger, rules, NOW, 10, user_id=BOB) == 2


def test_a_members_own_limit_wins_over_their_roles():
    rules, ledger = QuotaRules(default=2, roles={VIP: 5}, users={ALICE: 1}), QuotaLedger()
    assert accepted(ledger, rules, NOW, 10, roles=frozenset({VIP})) == 1


def test_a_role_without_limit_is_unlimited():
    rules, ledger = QuotaRules(default=2, roles={ADMIN: None, VIP: 5}), QuotaLedger()
    assert accepted(ledger, rules, NOW, 50, roles=frozenset({ADMIN, VIP})) == 50
    usage = ledger.usage(GUILD, ALICE, frozenset({ADMIN, VIP}), rules, NOW)
    assert (usage.used, usage.limit, usage.left) == (50, None, None)


def test_a_server_without_quota_still_counts_so_a_new_quota_applies_at_once():
    ledger = QuotaLedger()
    assert accepted(ledger, QuotaRules(), NOW, 4) == 4
    assert accepted(ledger, QuotaRules(default=5), NOW, 4) == 1


def test_a_limit_of_zero_refuses_and_says_so():
    rules, ledger = QuotaRules(default=2, users={ALICE: 0}), QuotaLedger()
    assert "zero" in submit(ledger, rules, NOW)[1]


# --- when it resets -----------------------------------------------------------------------

def test_a_daily_quota_resets_at_midnight_utc():
    rules, ledger = QuotaRules(default=2), QuotaLedger()
    late = MIDNIGHT + 23 * HOUR
    assert accepted(ledger, rules, late, 2) == 2

    refusal = submit(ledger, rules, late)[1]
    tomorrow = int(MIDNIGHT + DAY)
    assert refusal == ("You have used your 2 jobs per day (UTC) on this server. "
                       f"It resets at midnight UTC, <t:{tomorrow}:R> (<t:{tomorrow}:f>).")
    assert submit(ledger, rules, MIDNIGHT + DAY - 1)[1] is not None
    assert accepted(ledger, rules, MIDNIGHT + DAY, 3) == 2


def test_a_rolling_window_gives_each_unit_back_one_period_after_it_was_used():
    rules, ledger = QuotaRules(period_seconds=6 * HOUR, default=2), QuotaLedger()
    submit(ledger, rules, NOW)
    submit(ledger, rules, NOW + HOUR)

    back = int(NOW + 6 * HOUR)
    assert submit(ledger, rules, NOW + 2 * HOUR)[1] == (
        f"You have used your 2 jobs in any 6 h on this server. You can submit again <t:{back}:R> (<t:{back}:f>).")
    assert submit(ledger, rules, NOW + 6 * HOUR - 1)[1] is not None
    assert submit(ledger, rules, NOW + 6 * HOUR)[1] is None
    assert f"<t:{int(NOW + 7 * HOUR)}:R>" in submit(ledger, rules, NOW + 6 * HOUR)[1]


def test_usage_shows_what_is_left_and_when_the_oldest_use_comes_back():
    rules, ledger = QuotaRules(period_seconds=6 * HOUR, default=5), QuotaLedger()
    submit(ledger, rules, NOW)
    submit(ledger, rules, NOW + HOUR)

    usage = ledger.usage(GUILD, ALICE, frozenset(), rules, NOW + 2 * HOUR)
    assert (usage.used, usage.limit, usage.left, usage.resets_at) == (2, 5, 3, NOW + 6 * HOUR)
    assert ledger.usage(GUILD, BOB, frozenset(), rules, NOW).resets_at is None


# --- GPU seconds ----------------------------------------------------------------------------

def test_gpu_seconds_are_charged_what_the_job_really_took():
    rules, ledger = QuotaRules(unit="gpu_seconds", default=600), QuotaLedger()
    job, _ = submit(ledger, rules, NOW)
    running = ledger.usage(GUILD, ALICE, frozenset(), rules, NOW)
    assert (running.used, running.running) == (1, 1)  # a second held until its real time is known

    ledger.finished(ended(job, JobState.DELIVERED, started_at=NOW + 30, ended_at=NOW + 280))
    ledger.finished(ended(job, JobState.DELIVERED, started_at=NOW + 30, ended_at=NOW + 280))

    usage = ledger.usage(GUILD, ALICE, frozenset(), rules, NOW + 300)
    assert (usage.used, usage.left, usage.running) == (250, 350, 0)


def test_a_gpu_job_may_start_with_any_second_left_and_the_overdraft_delays_the_reset():
    rules, ledger = QuotaRules(unit="gpu_seconds", period_seconds=HOUR, default=600), QuotaLedger()
    short, _ = submit(ledger, rules, NOW)
    ledger.finished(ended(short, JobState.DELIVERED, started_at=NOW, ended_at=NOW + 100))
    long, _ = submit(ledger, rules, NOW + 600)
    ledger.finished(ended(long, JobState.DELIVERED, started_at=NOW + 600, ended_at=NOW + 1200))

    refusal = submit(ledger, rules, NOW + 1300)[1]
    # 700 s used of 600: the 100 s job coming back at 11:00 leaves all 600 used; the 600 s one frees them
    assert refusal.startswith("You have used your 10 min of GPU time in any 1 h on this server.")
    assert f"<t:{int(NOW + 600 + HOUR)}:R>" in refusal
    assert submit(ledger, rules, NOW + HOUR + 1)[1] is not None
    assert submit(ledger, rules, NOW + 600 + HOUR)[1] is None


def test_switching_the_unit_applies_to_what_was_already_used():
    jobs, gpu = QuotaRules(default=10), QuotaRules(unit="gpu_seconds", default=60)
    ledger = QuotaLedger()
    job, _ = submit(ledger, jobs, NOW)
    ledger.finished(ended(job, JobState.DELIVERED, started_at=NOW, ended_at=NOW + 90))
    assert submit(ledger, gpu, NOW + 100)[1] is not None


# --- a restart forgets nothing ------------------------------------------------------------

async def test_a_restart_counts_the_same_from_the_job_store(tmp_path):
    """A live ledger and one rebuilt from the job store agree, in jobs and in GPU seconds."""
    live = QuotaLedger()
    jobs, gpu = QuotaRules(default=10), QuotaRules(unit="gpu_seconds", default=1000)
    plan = [  # (who, submitted at, how it ended, started, ended)
        (dict(), NOW - HOUR, JobState.DELIVERED, NOW - HOUR + 10, NOW - HOUR + 130),
        (dict(), NOW - 2 * HOUR, JobState.DELIVERED, NOW - 2 * HOUR, NOW - 2 * HOUR + 45),
        (dict(), NOW - 30 * 60, JobState.FAILED, NOW - 29 * 60, NOW - 28 * 60),
        (dict(), NOW - 20 * 60, JobState.CANCELLED, None, NOW - 19 * 60),
        (dict(), NOW - 10 * 60, JobState.WITHHELD, NOW - 10 * 60, NOW - 9 * 60),
        (dict(), NOW - 5 * 60, JobState.RUNNING, NOW - 4 * 60, None),
        (dict(), NOW - 40 * DAY, JobState.DELIVERED, NOW - 40 * DAY, NOW - 40 * DAY + 60),
        (dict(guild_id=OTHER_GUILD), NOW - HOUR, JobState.DELIVERED, NOW - HOUR, NOW - HOUR + 500),
        (dict(user_id=BOB), NOW - HOUR, JobState.QUEUED, None, None),
    ]
    async with JobStore(tmp_path / "jobs.sqlite3") as store:
        for who, at, state, started, end in plan:
            submission, _ = submit(live, jobs, at, **who)
            job = ended(submission, state, started, end or at)
            job.created_at = at
            await store.add(job)
            if state.is_final:
                live.finished(job)
        restarted = QuotaLedger()
        await restarted.load(store, NOW)

    for rules in (jobs, gpu):
        for guild, user in ((GUILD, ALICE), (OTHER_GUILD, ALICE), (GUILD, BOB)):
            assert restarted.usage(guild, user, frozenset(), rules, NOW) == live.usage(guild, user, frozenset(), rules,
                                                                                        NOW)
    today = restarted.usage(GUILD, ALICE, frozenset(), jobs, NOW)
    assert (today.used, today.running) == (3, 1)  # two delivered and one running
    assert restarted.usage(GUILD, ALICE, frozenset(), gpu, NOW).used == 120 + 45 + 1
    assert restarted.usage(OTHER_GUILD, ALICE, frozenset(), gpu, NOW).used == 500


async def test_a_job_running_across_a_restart_is_charged_when_it_ends(tmp_path):
    rules = QuotaRules(unit="gpu_seconds", default=600)
    async with JobStore(tmp_path / "jobs.sqlite3") as store:
        job = Job(user_id=ALICE, plugin="generate", guild_id=GUILD, state=JobState.RUNNING, started_at=NOW - 60)
        job.created_at = NOW - 90
        await store.add(job)
        ledger = QuotaLedger()
        await ledger.load(store, NOW)

    job.state, job.updated_at = JobState.DELIVERED, NOW + 240
    ledger.finished(job)

    assert ledger.usage(GUILD, ALICE, frozenset(), rules, NOW + 300).used == 300


# --- /usage ---------------------------------------------------------------------------------

async def run_usage(ledger: QuotaLedger, rules: QuotaRules, role_ids: list[int], now: float) -> dict:
    """Invoke /usage as a member of GUILD holding ``role_ids`` (and @everyone, whose id is the
    server's); returns what was sent."""
    sent: dict = {}

    async def send_message(**kwargs) -> None:
        sent.update(kwargs)

    member = SimpleNamespace(id=ALICE, roles=[SimpleNamespace(id=r) for r in [GUILD, *role_ids]])
    interaction = SimpleNamespace(guild_id=GUILD, guild=SimpleNamespace(name="Pixel Pals"), user=member,
                                  response=SimpleNamespace(send_message=send_message))
    rulebook = SimpleNamespace(for_guild=lambda guild_id: GuildRules(guild_id, quotas=rules))
    cog = UsageCog(None, ledger, rulebook, clock=lambda: now)
    await cog.usage.callback(cog, interaction)
    return sent


async def test_usage_shows_the_member_what_is_left_and_when_it_resets_only_to_them():
    rules, ledger = QuotaRules(default=2, roles={VIP: 5, GUILD: 100}), QuotaLedger()
    accepted(ledger, rules, NOW, 2, roles=frozenset({VIP}))

    sent = await run_usage(ledger, rules, [VIP], NOW)

    embed, midnight = sent["embed"], int(MIDNIGHT + DAY)
    assert sent["ephemeral"] is True
    assert embed.title == "Your usage on Pixel Pals"
    assert embed.description == "Your quota: 5 jobs per day (UTC)."  # @everyone's 100 is not theirs
    assert [(f.name, f.value) for f in embed.fields] == [
        ("Used", "2 jobs"), ("Left", "3 jobs"), ("Resets", f"At midnight UTC, <t:{midnight}:R> (<t:{midnight}:f>)")]


async def test_usage_on_a_server_without_quota_says_so():
    sent = await run_usage(QuotaLedger(), QuotaRules(), [], NOW)
    assert sent["embed"].description == "No quota on Pixel Pals: use it as much as you like."
    assert not sent["embed"].fields


async def test_usage_in_gpu_seconds_explains_running_jobs():
    rules, ledger = QuotaRules(unit="gpu_seconds", period_seconds=6 * HOUR, default=3600), QuotaLedger()
    done, _ = submit(ledger, rules, NOW)
    ledger.finished(ended(done, JobState.DELIVERED, started_at=NOW, ended_at=NOW + 150))
    submit(ledger, rules, NOW + 200)

    embed = (await run_usage(ledger, rules, [], NOW + 300))["embed"]

    assert embed.description == "Your quota: 1 h of GPU time in any 6 h."
    assert [f.value for f in embed.fields][:2] == ["2 min 31 s of GPU time", "57 min 29 s of GPU time"]
    assert embed.footer.text.startswith("1 of your jobs is still running")
