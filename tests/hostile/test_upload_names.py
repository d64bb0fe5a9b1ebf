"""Attachment names never reach ComfyUI verbatim, and a refused upload says so plainly."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from discomfy.core.jobs.execution import upload_name
from discomfy.exceptions import ComfyUIError

SAFE = re.compile(r"^[A-Za-z0-9_-]{1,64}(\.[a-z0-9_-]{1,8})?$")


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(name=st.text(max_size=300))
def test_any_attachment_name_becomes_a_plain_file_name(name):
    safe = upload_name(name)
    assert SAFE.match(safe), (name, safe)
    assert ".." not in safe and "/" not in safe and "\\" not in safe


def test_ordinary_names_and_extensions_are_kept():
    assert upload_name("cat.png") == "cat.png"
    assert upload_name("Holiday-2024_01.JPG") == "Holiday-2024_01.jpg"
    assert upload_name("../../etc/passwd.png") == "etc_passwd.png"
    assert upload_name("") == "image"


async def test_a_refused_upload_is_reported_as_refused_not_as_unreachable(comfyui_client):
    with pytest.raises(ComfyUIError) as caught:
        await comfyui_client.upload_image(b"\x89PNG\r\n\x1a\n", "../escape.png")
    assert caught.value.status == 400
    assert "refused" in caught.value.user_message and "not reachable" not in caught.value.user_message
