"""Real browser at 1280 x 720 (a projector): the hierarchy grid of "What it looks for" draws its
rows (early / middle / late, paper-style names) and fits the screen's width."""

from __future__ import annotations

from tests.e2e.helpers import assert_no_exception, open_page, save_screenshot, wait_idle


def test_hierarchy_grid_at_projector_size(app_server, chromium) -> None:
    context = chromium.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.set_default_timeout(120_000)
    try:
        open_page(page, app_server, "feature-maps?view=looks&lf=hierarchy&lfsteps=16")
        assert_no_exception(page)
        main = page.locator('[data-testid="stMain"]')
        main.get_by_role("button", name="Draw the hierarchy grid").click()
        wait_idle(page, timeout=180)
        assert_no_exception(page)
        chart = main.locator('[data-testid="stPlotlyChart"]').last
        chart.wait_for()
        chart.scroll_into_view_if_needed()
        # The row labels, left of each row.
        assert chart.get_by_text("early", exact=True).count() >= 1
        assert chart.get_by_text("late", exact=True).count() >= 1
        box = chart.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 1280
        save_screenshot(page, "feature-maps-hierarchy-1280x720")
    finally:
        context.close()
