"""Real browser: the course's Keras CNN (.keras) dropped on Feature maps, then a layer's maps,
then fine-tuned for a few steps on the Training page (the same session, reached by its link)."""

from __future__ import annotations

import time

from explorer.ui.own_model import EXAMPLE
from tests.e2e.helpers import assert_no_exception, open_page, save_screenshot, wait_idle


def test_upload_keras_file_and_see_a_layers_feature_maps(app_server, browser_page) -> None:
    page = browser_page
    open_page(page, app_server, "feature-maps")
    page.get_by_text("Weights in use").wait_for()
    box = page.locator('[data-testid="stExpander"]').filter(has_text="Your own model")
    box.locator("summary").first.click()
    box.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(EXAMPLE))
    page.locator('[data-testid="stAlertContentSuccess"]').filter(
        has_text="Imported course_cnn"
    ).wait_for()
    wait_idle(page)
    assert_no_exception(page)
    assert "my model 'course_cnn" in page.get_by_text("Weights in use").first.inner_text()

    main = page.locator('[data-testid="stMain"]')
    opens = main.locator('[data-testid="stButton"] button').filter(
        has_text="Open"
    )  # not the selectboxes' toggles
    assert opens.count() >= 4  # conv1, pool1, conv2, pool2 (dense layers have no maps)
    assert main.get_by_text("conv1").count() >= 1 and main.get_by_text("pool2").count() >= 1
    opens.first.click()  # conv1 in Layer detail
    wait_idle(page)
    assert_no_exception(page)
    page.get_by_text("Dead channels").wait_for()
    assert main.locator('[data-testid="stImage"] img').count() >= 1
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0
    save_screenshot(page, "own-model-feature-maps")
    _fine_tune_it(page)


def _fine_tune_it(page) -> None:
    """Training, in the same session: pick the imported model in Transfer learning, one step on
    circles vs squares, the run finishes and the fine-tuned model is a source of its own."""
    page.get_by_role("link", name="Training").first.click()
    wait_idle(page)
    page.get_by_text("Transfer learning: start from trained weights").click()
    wait_idle(page)
    panel = page.locator('[data-testid="stExpander"]').filter(
        has_text="Transfer learning: start from trained weights"
    )

    def widget(testid: str, label: str):
        return (
            panel.locator(f'[data-testid="{testid}"]')
            .filter(has=page.locator('[data-testid="stWidgetLabel"]', has_text=label))
            .first
        )

    widget("stSelectbox", "Start from").locator("input").click()
    page.get_by_role("option", name="Your imported model: course_cnn (course_cnn.keras)").click()
    wait_idle(page)
    panel.get_by_text("images resized to 64 x 64, the model's own input").wait_for()
    for label, value in (
        ("Training images of the new task", 16),
        ("Validation images", 8),
        ("Batch size", 16),
        ("Epochs", 1),
    ):
        box = widget("stNumberInput", label).locator("input")
        box.fill(str(value))
        box.press("Enter")
        wait_idle(page)
    assert_no_exception(page)
    page.get_by_role("button", name="Start transfer").click()
    finished = page.get_by_text("Run finished").first
    deadline = time.monotonic() + 300
    while finished.count() == 0 and time.monotonic() < deadline:
        assert page.locator('[data-testid="stAlertContentError"]').count() == 0
        time.sleep(0.5)
    assert finished.count() > 0, "the fine-tuning run did not finish"
    wait_idle(page)
    assert_no_exception(page)
    save_screenshot(page, "own-model-fine-tuned")
    start_from = widget("stSelectbox", "Start from").locator("input")
    if not start_from.is_visible():  # the end of the run reran the page: the panel folded
        panel.locator("summary").first.click()
        wait_idle(page)
    start_from.click()
    assert page.get_by_role("option").filter(has_text="(run ").count() >= 1  # the new model
