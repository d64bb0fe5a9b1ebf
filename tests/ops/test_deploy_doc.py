"""docs/deploy.md: every promise names the tests that back it, and every example runs.

The promise check works as the README's (tests/test_readme_promises.py): each sentence or
bullet of the page's steps 2 and 3 must contain one of the phrases below, each naming tests
that exist. The examples are run as an operator would use them: the environment variables
and the ``settings.toml`` snippet are loaded by the real config loader, the ``.env`` lines are
checked against compose.yaml's PostgreSQL profile, and the SQL query is run on a real
PostgreSQL server while a process leads."""

from __future__ import annotations

import asyncio
import re
import shlex
import tomllib
from urllib.parse import urlsplit

import pytest
import yaml

from discomfy.config import get_config
from discomfy.core.jobs.leadership import leadership_for
from discomfy.core.jobs.leadership_postgres import LEADER_SQL
from discomfy.core.jobs.store import JobStore
from discomfy.core.servers.pool import stable_client_id
from tests.conftest import REPO_ROOT
from tests.core.postgres_server import postgres_server  # noqa: F401 - the session's server
from tests.test_readme_promises import promises_in

DOC = REPO_ROOT / "docs" / "deploy.md"
MANY = "tests/bot/test_several_processes.py::"
HERE = "tests/ops/test_deploy_doc.py::"
TAKEOVER = "tests/faults/test_scheduler_takeover.py::test_sigkill_of_the_scheduler_mid_job_another_process_takes_over_and_delivers_once"

STEP_2: dict[str, list[str]] = {
    "point the bot at a database": [
        "tests/core/test_job_store.py::test_from_config_with_a_store_url_uses_postgresql",
        "tests/core/test_job_store.py::test_jobs_survive_close_and_reopen_with_schema_version",
        HERE + "test_the_environment_example_puts_the_jobs_on_postgresql",
    ],
    "or in `settings.toml`": [HERE + "test_the_settings_example_puts_the_jobs_on_postgresql"],
    "The same restart recovery runs on PostgreSQL": [
        "tests/bot/test_restart_recovery_postgres.py::test_job_running_on_comfyui_is_followed_after_restart_and_delivered_once",
    ],
    "Switch while no job is waiting or running": [
        "tests/core/test_job_store.py::test_from_config_with_a_store_url_uses_postgresql",
    ],
    "the `postgres` profile adds a PostgreSQL server": [HERE + "test_the_compose_profile_matches_the_env_example"],
    "docker compose --profile postgres": [HERE + "test_the_compose_profile_matches_the_env_example"],
    "compose runs the bot on its SQLite file as before": [HERE + "test_without_the_profile_compose_keeps_sqlite"],
}

STEP_3: dict[str, list[str]] = {
    "Run as many `discomfy run` processes": [
        MANY + "test_a_command_the_follower_takes_is_run_by_the_scheduler_and_delivered_once", TAKEOVER],
    "Give each its own Discord shards": [
        "tests/bot/test_shards_e2e.py::test_each_guilds_generate_reaches_the_process_of_its_shard_and_is_answered",
        HERE + "test_the_shard_example_gives_each_process_its_own_shard",
    ],
    "What each process does": [MANY + "test_a_command_the_follower_takes_is_run_by_the_scheduler_and_delivered_once"],
    "accepts the commands of its shards": [
        MANY + "test_a_command_the_follower_takes_is_run_by_the_scheduler_and_delivered_once"],
    "Exactly one process at a time schedules": [
        "tests/core/test_leadership.py::test_exactly_one_of_three_processes_leads",
        "tests/core/test_leadership.py::test_when_the_leaders_connection_dies_the_follower_leads_and_the_old_leader_knows",
        MANY + "test_a_command_the_follower_takes_is_run_by_the_scheduler_and_delivered_once",
    ],
    "woken by `LISTEN/NOTIFY`": [
        "tests/core/test_leadership.py::test_announcements_reach_the_leader_only",
        MANY + "test_a_lost_notification_is_made_up_for_by_the_schedulers_poll",
    ],
    "attached images are read again": [MANY + "test_an_image_sent_to_the_follower_is_read_again_by_the_scheduler"],
    "Fairness between users holds across all processes": [
        MANY + "test_fairness_holds_across_processes_one_queue_serves_users_in_turn"],
    "are counted in the store": [
        "tests/core/test_admission.py::test_two_processes_admitting_at_once_never_pass_the_cap_together",
        "tests/core/test_admission.py::test_the_rate_window_is_counted_from_stored_jobs_with_the_exact_wait",
        "tests/core/test_admission.py::test_everyones_window_refuses_with_the_busy_wording",
        MANY + "test_the_per_user_cap_holds_across_processes",
    ],
    "Any process may deliver": [
        MANY + "test_cancel_in_the_followers_guild_ends_a_waiting_job_and_interrupts_a_running_one", TAKEOVER],
    "Cancel works from any process": [
        MANY + "test_cancel_in_the_followers_guild_ends_a_waiting_job_and_interrupts_a_running_one"],
    "another process is elected within seconds": [
        TAKEOVER, MANY + "test_when_the_scheduler_stops_the_follower_takes_over_and_delivers_the_running_job_once"],
    "loses its connection to PostgreSQL while alive stops": [
        MANY + "test_a_scheduler_that_loses_its_lock_connection_stops_and_another_leads", TAKEOVER],
    "a rolling restart": [MANY + "test_a_rolling_restart_of_both_processes_loses_nothing",
                          "tests/ops/test_sigterm.py::test_sigterm_mid_job_answers_restarting_finishes_the_delivery_and_exits_0"],
    "Which process schedules right now": [HERE + "test_the_query_names_the_scheduling_process"],
    "derives the same client id": [HERE + "test_every_process_derives_the_same_client_id_from_the_store_url", TAKEOVER],
    "shows \"Queued\" without its place in the queue": [
        MANY + "test_fairness_holds_across_processes_one_queue_serves_users_in_turn"],
    "Not shared yet between processes": [
        "tests/core/test_preferences.py::test_values_survive_a_reopen_per_user_and_namespace"],
    "read from the store when a process starts": [
        "tests/core/test_preferences.py::test_values_survive_a_reopen_per_user_and_namespace",
        "tests/community/test_community_e2e.py::test_roles_channels_and_quotas_are_enforced_and_named",
    ],
}

STEPS = {"## 2. ": STEP_2, "## 3. ": STEP_3}


def step_text(heading: str) -> str:
    text = DOC.read_text()
    start = text.index(heading)
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else len(text)].split("\n", 1)[1]


def prose(text: str) -> str:
    return re.sub(r"```.*?```", "", text, flags=re.S)


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), flags=re.S)


@pytest.mark.parametrize("heading", list(STEPS))
def test_every_sentence_names_a_promise_with_tests(heading):
    promises, text = STEPS[heading], prose(step_text(heading))
    sentences = promises_in(text)
    assert len(sentences) >= 5, sentences
    unbacked = [s for s in sentences if not any(phrase in s for phrase in promises)]
    assert not unbacked, f"docs/deploy.md promises no test is named for: {unbacked}"
    unused = [phrase for phrase in promises if phrase not in text.replace("\n", " ")]
    assert not unused, f"phrases no longer in docs/deploy.md: {unused}"


def test_every_named_test_exists():
    import importlib

    for node in sorted({n for promises in STEPS.values() for nodes in promises.values() for n in nodes}):
        path, name = node.split("::")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        assert callable(getattr(module, name, None)), f"{node} is named by docs/deploy.md but does not exist"


def environment_of(line: str) -> dict[str, str]:
    """``A=1 B='x y' discomfy run`` or ``export A=1`` -> the variables it sets."""
    words = [w for w in shlex.split(line) if w != "export"]
    return dict(w.split("=", 1) for w in words if "=" in w and not w.startswith("-"))


def test_the_environment_example_puts_the_jobs_on_postgresql(tmp_path, monkeypatch):
    (first,) = [b for b in blocks("sh") if "pip install" in b]
    lines = first.strip().splitlines()
    assert lines[0] == "pip install 'discomfy[postgres]'" and lines[-1] == "discomfy run"
    for name, value in environment_of(lines[1]).items():
        monkeypatch.setenv(name, value)
    store = JobStore.from_config(get_config(tmp_path, purpose="offline"))
    assert store.engine == "postgresql" and store.path == "postgresql://discomfy:***@db.example:5432/discomfy"


def test_the_settings_example_puts_the_jobs_on_postgresql(tmp_path):
    (snippet,) = blocks("toml")
    (tmp_path / "settings.toml").write_text(snippet)
    config = get_config(tmp_path, purpose="offline")
    assert JobStore.from_config(config).engine == "postgresql"
    assert tomllib.loads(snippet)["jobs"]["store_url"] == config.jobs.store_url


def compose() -> dict:
    return yaml.safe_load((REPO_ROOT / "compose.yaml").read_text())


def test_the_compose_profile_matches_the_env_example():
    (env_block,) = [b for b in blocks("sh") if "POSTGRES_PASSWORD" in b]
    env = dict(line.split("=", 1) for line in env_block.strip().splitlines())
    services = compose()["services"]
    postgres, bot = services["postgres"], services["discomfy"]
    assert postgres["profiles"] == ["postgres"]
    assert bot["environment"]["DISCOMFY_JOBS__STORE_URL"] == "${JOBS_STORE_URL:-}"
    assert bot["build"]["args"]["EXTRAS"] == "${EXTRAS:-}" and env["EXTRAS"] == "postgres"
    assert "postgres = [" in (REPO_ROOT / "pyproject.toml").read_text()  # the extra EXTRAS names
    assert 'ARG EXTRAS=""' in (REPO_ROOT / "Containerfile").read_text()
    url = urlsplit(env["JOBS_STORE_URL"])
    assert url.hostname == "postgres" and url.port == 5432  # the service, on compose's network
    assert url.username == postgres["environment"]["POSTGRES_USER"]
    assert url.path.lstrip("/") == postgres["environment"]["POSTGRES_DB"]
    assert url.password == env["POSTGRES_PASSWORD"] and "${POSTGRES_PASSWORD" in postgres["environment"]["POSTGRES_PASSWORD"]
    assert "docker compose --profile postgres up -d --build" in prose(step_text("## 2. "))


def test_without_the_profile_compose_keeps_sqlite(tmp_path, monkeypatch):
    value = compose()["services"]["discomfy"]["environment"]["DISCOMFY_JOBS__STORE_URL"]
    monkeypatch.setenv("DISCOMFY_JOBS__STORE_URL", re.sub(r"\$\{JOBS_STORE_URL:-(.*)\}", r"\1", value))
    assert JobStore.from_config(get_config(tmp_path, purpose="offline")).engine == "sqlite"


def test_the_shard_example_gives_each_process_its_own_shard(tmp_path, monkeypatch):
    (runs,) = [b for b in blocks("sh") if "SHARD_IDS" in b]
    owned = []
    for line in runs.strip().splitlines():
        with monkeypatch.context() as patch:
            for name, value in environment_of(line).items():
                patch.setenv(name, value)
            config = get_config(tmp_path, purpose="offline")
        assert config.discord.shard_count == 3
        owned += list(config.discord.shard_ids)
    assert owned == [0, 1, 2]


async def test_the_query_names_the_scheduling_process(postgres_server):  # noqa: F811
    (query,) = blocks("sql")
    assert query.strip() == LEADER_SQL  # the constant the tests and the soak use
    url = await postgres_server.create_database()
    async with JobStore(url) as store:
        leadership = leadership_for(store, url)
        await leadership.start(lambda kind, job_id: None)
        try:
            await asyncio.wait_for(leadership.elected.wait(), 10)
            rows = await store.execute(query)
        finally:
            await leadership.close()
    assert [row["application_name"] for row in rows] == [leadership.name]
    assert leadership.name.startswith("discomfy scheduler ")


def test_every_process_derives_the_same_client_id_from_the_store_url(tmp_path):
    def config(url: str):
        made = get_config(tmp_path)
        made.set("jobs.store_url", url)
        return made

    one = stable_client_id(config("postgresql://bot:first@db.example:5432/discomfy"), "gpu1")
    assert one == stable_client_id(config("postgresql://other:second@db.example:5432/discomfy"), "gpu1")
    assert one != stable_client_id(config("postgresql://bot:first@db.example:5432/elsewhere"), "gpu1")
    assert one != stable_client_id(config("postgresql://bot:first@db.example:5432/discomfy"), "gpu2")
