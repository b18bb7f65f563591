"""Real browser: every page opens in Chromium without an exception; screenshots saved."""

import pytest

from explorer.ui.navigation import PAGES
from tests.e2e.helpers import (
    assert_no_exception,
    open_page,
    save_readme_screenshot,
    save_screenshot,
    wait_idle,
)


@pytest.mark.parametrize("page_def", PAGES, ids=lambda p: p.url_path or "home")
def test_page_renders_in_chromium(app_server, browser_page, page_def) -> None:
    open_page(browser_page, app_server, page_def.url_path)
    assert_no_exception(browser_page)
    assert browser_page.get_by_text("Page not found").count() == 0  # deep links work
    assert browser_page.locator("h1").count() >= 1
    save_screenshot(browser_page, f"page-{page_def.url_path or 'home'}")
    if page_def.url_path == "":  # the README shows the real app
        save_readme_screenshot(browser_page, "home", height=1000)


def test_architectures_page_switches_model(app_server, browser_page) -> None:
    open_page(browser_page, app_server, "architectures")
    browser_page.get_by_text("Layer by layer").wait_for()
    assert browser_page.get_by_text("11.7 M").count() >= 1  # ResNet-18's parameters
    save_screenshot(browser_page, "architectures-resnet18")
    browser_page.get_by_text("Compare every ImageNet architecture at 224 x 224").click()
    browser_page.get_by_text("Parameters against compute (log scales)").wait_for()
    wait_idle(browser_page)
    assert_no_exception(browser_page)
    browser_page.get_by_text("The progression at a glance").scroll_into_view_if_needed()
    save_screenshot(browser_page, "architectures-compare")
