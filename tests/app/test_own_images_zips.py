"""The Training page's own-images section with broken and costly zips (issue 24, items 2 and 5):
each gets one error on the page, naming the entry, and the page does not crash."""

from __future__ import annotations

import pytest

from explorer.ui import image_set_panel as own_ui
from tests.app.conftest import open_app_page
from tests.explorer.data.test_own_images_hostile import (
    bad_crc,
    bitmap_png,
    corrupt_deflate,
    flag_encrypted,
    method_9,
)

PAGE = "app_pages/training.py"


def _uploader(at):
    return next(u for u in at.file_uploader if u.key == "own_zip")


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (flag_encrypted, "encrypted zips are not supported"),
        (method_9, "is compressed with Deflate64 (zip method 9)"),
        (bad_crc, "is damaged: its contents do not match the checksum (CRC-32)"),
        (corrupt_deflate, "is damaged: its compressed data cannot be unpacked"),
    ],
    ids=["encrypted", "method-9", "bad-crc", "corrupt-deflate"],
)
def test_a_broken_zip_gets_one_message(make, words: str, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(own_ui.ROOT_ENV, str(tmp_path / "own"))
    at = open_app_page(PAGE).run()
    _uploader(at).set_value(("broken.zip", make(), "application/zip")).run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value.replace("\\", "") for e in at.error]
    assert len(errors) == 1 and words in errors[0] and "a/0.png" in errors[0], errors


def test_a_zip_over_the_pixel_budget_is_refused_on_the_page(tmp_path, monkeypatch) -> None:
    import io
    import zipfile

    monkeypatch.setenv(own_ui.ROOT_ENV, str(tmp_path / "own"))
    buf = io.BytesIO()
    small = bitmap_png(3000)
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for i in range(120):
            zf.writestr(f"{'ab'[i % 2]}/{i}.png", small)
    at = open_app_page(PAGE).run()
    _uploader(at).set_value(("many.zip", buf.getvalue(), "application/zip")).run()
    assert not at.exception
    errors = [e.value.replace("\\", "") for e in at.error]
    assert errors == [
        "The images declare 1,080 megapixels in all; decoding one dataset is budgeted at 1,000 megapixels "
        "(the images end as 32 x 32). Use fewer or smaller images."
    ]
