"""Fixtures for the workflow engine tests: recorded node definitions, shipped packs, updater."""

from __future__ import annotations

import random

import pytest
from wf_helpers import SHIPPED, load_object_info, plugin_strategies

from discomfy.core.comfyui.workflows import WorkflowUpdater, default_registry, load_manifest


@pytest.fixture(scope="session")
def object_info() -> dict:
    return load_object_info()


@pytest.fixture(scope="session")
def registry():
    """The built-in strategies plus those the shipped code plugins register."""
    found = default_registry()
    for strategy in plugin_strategies():
        found.register(strategy, owner="shipped plugin")
    return found


@pytest.fixture(scope="session")
def shipped_specs(registry) -> dict:
    return {name: load_manifest(path, registry=registry) for name, path in SHIPPED.items()}


@pytest.fixture
def updater(registry) -> WorkflowUpdater:
    return WorkflowUpdater(registry, rng=random.Random(1234))
