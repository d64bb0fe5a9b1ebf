"""``discomfy.image_size``: the one helper upscale, outpaint and region size their work by."""

from __future__ import annotations

import pytest

import discomfy
from discomfy import ValidationError

from tests.bot.support import png_bytes


def test_the_size_comes_from_the_image_itself():
    assert discomfy.image_size(png_bytes(64, 48), "unused") == (64, 48)


@pytest.mark.parametrize("wording", ["That file is not an image I can read; attach a PNG, JPEG or WebP.",
                                     "This result's image cannot be read any more; run the command again."])
def test_an_unreadable_image_is_refused_in_the_caller_s_words(wording):
    with pytest.raises(ValidationError) as refused:
        discomfy.image_size(b"GIF89a but not really", wording)
    assert refused.value.user_message == wording
