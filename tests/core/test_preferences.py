"""Per-user preferences in the job store's file: they survive closing and reopening, a
version-1 store (jobs only) upgrades keeping its jobs, and jobs remember where values came
from and whether they are private (so a restart keeps both). Each test runs on an SQLite file
and on a PostgreSQL database (``engine``, tests/core/conftest.py): the SQL is written once."""

from __future__ import annotations

import pytest

import discomfy.core.jobs.store as job_store_module
from discomfy.core.jobs.store import JobStoreError
from discomfy.core.jobs.job import Job
from discomfy.core.preferences import PreferenceStore


async def test_values_survive_a_reopen_per_user_and_namespace(engine):
    async with engine.store() as store:
        prefs = PreferenceStore(store)
        await prefs.load()
        await prefs.set(1, "settings", "aspect_ratio", "16:9")
        await prefs.set(1, "settings", "lora_strength", 0.5)
        await prefs.set(1, "other", "aspect_ratio", "1:1")
        await prefs.set(2, "settings", "aspect_ratio", "9:16")
        await prefs.set(1, "settings", "aspect_ratio", "3:2")  # overwrite
    async with engine.store() as store:
        prefs = PreferenceStore(store)
        assert prefs.get(1, "settings") == {}  # nothing before load
        await prefs.load()
        assert prefs.get(1, "settings") == {"aspect_ratio": "3:2", "lora_strength": 0.5}
        assert prefs.get(1, "other") == {"aspect_ratio": "1:1"}
        assert prefs.get(2, "settings") == {"aspect_ratio": "9:16"}
        await prefs.delete(1, "settings", "lora_strength")
        await prefs.delete(2, "settings")
    async with engine.store() as store:
        prefs = PreferenceStore(store)
        await prefs.load()
        assert prefs.get(1, "settings") == {"aspect_ratio": "3:2"}
        assert prefs.get(2, "settings") == {} and prefs.get(1, "other") == {"aspect_ratio": "1:1"}


async def test_a_refused_write_changes_nothing_in_memory(engine):
    async with engine.store() as store:
        prefs = PreferenceStore(store)
        await prefs.load()
        await prefs.set(1, "settings", "lora", "a.safetensors")
        for statement in engine.refuse_updates("preferences"):
            await store.execute(statement, write=True)
        with pytest.raises(JobStoreError, match="read only"):
            await prefs.set(1, "settings", "lora", "b.safetensors")
        assert prefs.get(1, "settings") == {"lora": "a.safetensors"}
        with pytest.raises(TypeError):
            await prefs.set(1, "settings", "lora", object())


async def test_a_version_1_store_upgrades_keeping_its_jobs(engine, monkeypatch):
    first = job_store_module.MIGRATIONS[:1]
    monkeypatch.setattr(job_store_module, "MIGRATIONS", first)
    monkeypatch.setattr(job_store_module, "LATEST_VERSION", 1)
    old = engine.store()
    await old.open()
    await old.execute("INSERT INTO jobs (id, user_id, plugin, state, created_at, updated_at) VALUES ('abc', 5, 'generate', 'delivered', 1, 1)",
                      write=True)
    await old.close()
    monkeypatch.undo()
    async with engine.store() as store:
        assert await store.schema_version() == job_store_module.LATEST_VERSION
        job = await store.get("abc")
        assert (job.user_id, job.parameter_sources) == (5, {})
        assert job.private is False
        fresh = await store.add(Job(user_id=6, plugin="generate", parameter_sources={"aspect_ratio": "your defaults"},
                                    private=True))
        stored = await store.get(fresh.id)
        assert stored.parameter_sources == {"aspect_ratio": "your defaults"} and stored.private is True
