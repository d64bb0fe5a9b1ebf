"""Fixtures for the workflow engine tests: recorded node definitions, shipped packs, updater."""

from __future__ import annotations

import random

import pytest
from wf_helpers import SHIPPED, load_object_info

from discomfy.core.comfyui.workflows import WorkflowUpdater, load_manifest


@pytest.fixture(scope="session")
def object_info() -> dict:
    return load_object_info()


@pytest.fixture(scope="session")
def shipped_specs() -> dict:
    return {name: load_manifest(path) for name, path in SHIPPED.items()}


@pytest.fixture
def updater() -> WorkflowUpdater:
    return WorkflowUpdater(rng=random.Random(1234))
