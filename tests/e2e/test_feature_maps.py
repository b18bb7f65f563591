"""Real browser: upload a photo on the feature-map page; the overview and a layer detail render."""

from __future__ import annotations

from explorer.data.samples import _skimage_data_dir
from explorer.ui.feature_views import FEATURE_VIEWS
from tests.e2e.helpers import (
    assert_no_exception,
    open_page,
    save_readme_screenshot,
    save_screenshot,
    wait_idle,
)

# Overview and Layer detail are visited first, by the upload and the Open button.
VIEWS = [v.label for name, v in FEATURE_VIEWS.items() if name not in ("overview", "layer")]


def _radio(page, label: str, option: str) -> None:
    page.locator('[data-testid="stRadio"]').filter(has_text=label).get_by_text(
        option, exact=True
    ).click()
    wait_idle(page)


def test_upload_photo_overview_and_detail(app_server, browser_page, tmp_path) -> None:
    page = browser_page
    open_page(page, app_server, "feature-maps")
    assert page.get_by_text("Page not found").count() == 0  # a deep link opens the page itself
    page.get_by_text("Weights in use").wait_for()
    wait_idle(page)
    assert_no_exception(page)
    save_screenshot(page, "feature-maps-default")

    photo = tmp_path / "coffee.png"
    photo.write_bytes((_skimage_data_dir() / "coffee.png").read_bytes())
    _radio(page, "Image from", "Upload")
    # The image's uploader (the page also has one for model files, in "Your own model").
    page.locator(".st-key-fm_upload").locator(
        '[data-testid="stFileUploaderDropzoneInput"]'
    ).set_input_files(str(photo))
    page.get_by_text("PNG image, 600 x 400 pixels").wait_for()
    wait_idle(page)
    assert_no_exception(page)
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0

    # Overview: one strip and one "Open" button per layer (the smallest default model has 8).
    main = page.locator('[data-testid="stMain"]')
    assert main.get_by_role("button", name="Open").count() >= 6
    assert main.locator('[data-testid="stImage"] img').count() >= 6
    save_screenshot(page, "feature-maps-overview")
    save_readme_screenshot(page, "feature-maps")

    main.get_by_role("button", name="Open").nth(3).click()
    wait_idle(page)
    assert_no_exception(page)
    page.get_by_text("Dead channels").wait_for()
    assert page.get_by_role("button", name="Montage as PNG").count() == 1
    assert page.locator('[data-testid="stPlotlyChart"]').count() >= 2  # statistics + zoom
    save_screenshot(page, "feature-maps-detail")

    for view in VIEWS:
        _radio(page, "Overview", view)
        assert_no_exception(page)
        save_screenshot(page, f"feature-maps-{view.lower().replace(' ', '-')}")
