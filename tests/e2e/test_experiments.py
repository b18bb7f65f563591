"""Real browser: the Experiments page, the Transfer learning and own-images panels, the LSTMVis
panel open without an exception; screenshots saved to look at (also at 1280 x 720)."""

from __future__ import annotations

from tests.e2e.helpers import assert_no_exception, open_page, save_screenshot, wait_idle


def test_experiments_page_and_panels(app_server, browser_page) -> None:
    open_page(browser_page, app_server, "experiments")
    assert_no_exception(browser_page)
    browser_page.get_by_text("Does a shortcut make a 20-layer network trainable?").wait_for()
    save_screenshot(browser_page, "experiments")
    browser_page.set_viewport_size({"width": 1280, "height": 720})
    save_screenshot(browser_page, "experiments-1280")
    browser_page.set_viewport_size({"width": 1400, "height": 1000})

    open_page(browser_page, app_server, "training")
    browser_page.get_by_text("Transfer learning: start from trained weights").click()
    wait_idle(browser_page)
    browser_page.get_by_text("What trains").wait_for()
    assert_no_exception(browser_page)
    browser_page.get_by_text(
        "Transfer learning: start from trained weights"
    ).scroll_into_view_if_needed()
    save_screenshot(browser_page, "training-transfer-panel")
    browser_page.get_by_text("Your own images").click()
    wait_idle(browser_page)
    assert_no_exception(browser_page)
    browser_page.get_by_text("Your own images").scroll_into_view_if_needed()
    save_screenshot(browser_page, "training-own-images")

    open_page(browser_page, app_server, "recurrent")
    browser_page.get_by_text("Text shaded by one unit (LSTMVis)").click()
    wait_idle(browser_page)
    browser_page.get_by_text("Shade the text by one unit").click()
    wait_idle(browser_page)
    assert_no_exception(browser_page)
    browser_page.get_by_text("Text shaded by one unit (LSTMVis)").scroll_into_view_if_needed()
    save_screenshot(browser_page, "recurrent-lstmvis")
