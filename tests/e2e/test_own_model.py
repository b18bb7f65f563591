"""Real browser: the course's Keras CNN (.keras) dropped on Feature maps, then a layer's maps."""

from __future__ import annotations

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
