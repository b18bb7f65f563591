"""Real browser: hostile checkpoints on the Feature maps page give one message, shown as text."""

from __future__ import annotations

import json

import torch
from safetensors.torch import save

from tests.e2e.helpers import assert_no_exception, open_page, save_screenshot, wait_idle


def test_hostile_checkpoint_metadata_is_refused_and_shown_as_text(
    app_server, browser_page, tmp_path
) -> None:
    page = browser_page
    open_page(page, app_server, "feature-maps?arch=lenet5")
    page.locator('[data-testid="stRadio"]').filter(has_text="Weights").get_by_text(
        "Uploaded checkpoint (.safetensors)", exact=True
    ).click()
    wait_idle(page)
    hostile = {
        "arch": "**bold** <b>tag</b> [link](http://example.com)",
        "build": {"image_size": 700},
    }
    path = tmp_path / "_evil_.safetensors"
    path.write_bytes(save({"x": torch.zeros(1)}, metadata={"explorer": json.dumps(hostile)}))
    page.locator(".st-key-fm_ckpt").locator(
        '[data-testid="stFileUploaderDropzoneInput"]'
    ).set_input_files(str(path))
    warning = page.locator('[data-testid="stAlertContentWarning"]')
    warning.first.wait_for()
    wait_idle(page)
    assert_no_exception(page)
    assert warning.count() == 1
    text = warning.first.inner_text().replace("\u2060", "")  # the word joiner that stops autolinks
    # The characters arrive as typed, inside quotes: no bold, no HTML tag, no link.
    assert "saved for '**bold** <b>tag</b> [link](http://" in text, text
    assert warning.first.locator("strong, b, a").count() == 0, warning.first.inner_html()
    assert (
        "random initialisation"
        in page.locator('[data-testid="stAlertContentSuccess"]').first.inner_text()
    )
    save_screenshot(page, "feature-maps-hostile-checkpoint")
