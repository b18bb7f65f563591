"""Real browser: a zip of class folders uploaded through the Training page's own-images panel.

A server of its own keeps every browser's images under a folder this test owns, so what lands on
disk can be checked: the good zip makes one per-user folder with the three classes and nothing
else; a zip that climbs out of its folder gets its message and writes nothing new anywhere."""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import serving
from tests.e2e.helpers import assert_no_exception, open_page, save_screenshot, wait_idle
from tests.explorer.data.test_own_images import make_zip, png, three_classes


@pytest.fixture
def own_server(tmp_path):
    root = tmp_path / "own"
    with serving({"EXPLORER_DEVICE": "cpu", "EXPLORER_OWN_IMAGES_DIR": str(root)}) as url:
        yield url, root


def _upload(page, name: str, data: bytes) -> None:
    panel = page.locator('[data-testid="stExpander"]', has_text="Your own images")
    panel.locator('input[type="file"]').first.set_input_files(
        {"name": name, "mimeType": "application/zip", "buffer": data}
    )
    wait_idle(page)


def test_a_zip_upload_makes_the_dataset_and_a_hostile_one_is_refused(
    own_server, browser_page, tmp_path
) -> None:
    base, root = own_server
    open_page(browser_page, base, "training")
    browser_page.get_by_text("Your own images").click()
    wait_idle(browser_page)

    _upload(browser_page, "colours.zip", make_zip(three_classes(6)))
    browser_page.get_by_text("Dataset made").wait_for()
    assert_no_exception(browser_page)
    browser_page.get_by_text("Train on my images").wait_for()
    browser_page.get_by_text("Your own images").scroll_into_view_if_needed()
    save_screenshot(browser_page, "training-own-images-uploaded")
    users = [p for p in root.iterdir()]
    assert len(users) == 1 and users[0].is_dir()  # one per-user folder, nothing beside it
    names = json.loads((users[0] / "classes.json").read_text())
    assert "blue" in str(names) and "green" in str(names) and "red" in str(names)
    assert len([p for p in users[0].iterdir() if p.is_dir()]) == 3  # one folder per class
    before = {p for p in tmp_path.rglob("*")}

    hostile = make_zip({"../evil.png": png((1, 2, 3)), **three_classes(6)})
    _upload(browser_page, "hostile.zip", hostile)
    browser_page.get_by_text("climbs out of its folder").wait_for()
    assert_no_exception(browser_page)
    assert {p for p in tmp_path.rglob("*")} - before == set()  # nothing written anywhere
