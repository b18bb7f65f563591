"""Real browser: step the sliding window, click an output cell, click a unit on a feature map."""

from __future__ import annotations

import re

from tests.e2e.helpers import (
    SCREENSHOTS,
    assert_no_exception,
    open_page,
    save_screenshot,
    wait_idle,
)


def _position(page) -> str:
    return page.get_by_text(re.compile(r"Position \d+ of \d+")).first.inner_text()


def _click_point(chart, subplot: str, index: int) -> None:
    """Click the ``index``-th clickable marker (the first scatter trace) of a plotly subplot."""
    chart.locator(f"g.{subplot} .scatterlayer .trace").first.locator("path.point").nth(index).click(
        force=True
    )


def test_step_the_window_and_click_an_output_cell(app_server, browser_page) -> None:
    page = browser_page
    open_page(page, app_server, "basics?topic=conv")
    assert_no_exception(page)
    assert _position(page).startswith("Position 1 of 64")
    for expected in (2, 3, 4):
        page.get_by_role("button", name="Forward", exact=True).click()
        wait_idle(page)
        assert _position(page).startswith(f"Position {expected} of 64")
    assert page.get_by_text("-> output[0, 3]").count() >= 1
    # The position is in the address, written by the step view's own reruns.
    assert "pos=4" in page.url
    assert_no_exception(page)
    save_screenshot(page, "basics-step-3")

    # The step view leads its topic.
    step_chart = page.locator('[data-testid="stPlotlyChart"]').first
    _click_point(step_chart, "x3y3", 8 * 2 + 5)  # output row 2, column 5 of the 8 x 8 output
    wait_idle(page)
    assert _position(page).startswith("Position 22 of 64"), _position(page)
    assert page.get_by_text("-> output[2, 5]").count() >= 1
    assert "pos=22" in page.url
    assert_no_exception(page)
    save_screenshot(page, "basics-clicked-cell")
    # a projector: 1280 x 720, the step controls and the window in one screen
    page.set_viewport_size({"width": 1280, "height": 720})
    wait_idle(page)
    page.get_by_role("button", name="Forward", exact=True).scroll_into_view_if_needed()
    page.mouse.wheel(0, 120)
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "basics-1280x720-step.png"))
    save_screenshot(page, "basics-1280")


def test_click_a_unit_on_a_feature_map(app_server, browser_page) -> None:
    page = browser_page
    open_page(page, app_server, "feature-maps?view=layer")
    page.get_by_text("Dead channels").wait_for()
    wait_idle(page)
    assert_no_exception(page)
    zoom = (
        page.locator('[data-testid="stPlotlyChart"]')
        .filter(has=page.locator("g.xy .scatterlayer"))
        .last
    )
    _click_point(zoom, "xy", 3 * 32 + 7)  # row 3, column 7 of a 32 x 32 map
    wait_idle(page)
    assert_no_exception(page)
    page.get_by_text(re.compile(r"Unit \(3, 7\) of")).wait_for()
    save_screenshot(page, "feature-maps-clicked-unit")
