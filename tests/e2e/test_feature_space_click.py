"""Real browser: plotly's hover shows text only, so a click on a point of the feature space shows
that test image under the chart (st.plotly_chart on_select; explorer.ui.feature_space_panel)."""

from __future__ import annotations

from tests.e2e.helpers import assert_no_exception, open_page, save_screenshot, wait_idle

# The pixel position of the first point of the first trace, inside the chart's element.
_POINT_JS = """(el) => {
  const gd = el.querySelector('.js-plotly-plot');
  const L = gd._fullLayout, t = gd._fullData[0];
  return [L._size.l + L.xaxis.d2p(t.x[0]), L._size.t + L.yaxis.d2p(t.y[0])];
}"""
# The image index (customdata) of the point plotly selected (points overlap: maybe not the first).
# (the chart is drawn again after the click's rerun: wait until it is there and selected)
_SELECTED_JS = """() => {
  const gd = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
  for (const t of (gd && gd._fullData) || []) {
    if (t.selectedpoints && t.selectedpoints.length) return [t.customdata[t.selectedpoints[0]]];
  }
  return null;
}"""


def test_a_click_on_a_point_shows_its_image(app_server, chromium) -> None:
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(120_000)
    try:
        open_page(page, app_server, "feature-maps?view=looks&lf=space")
        assert_no_exception(page)
        main = page.locator('[data-testid="stMain"]')
        main.get_by_role("button", name="Compute the feature space").click()
        wait_idle(page, timeout=180)
        assert_no_exception(page)
        chart = main.locator('[data-testid="stPlotlyChart"]').first
        chart.wait_for()
        chart.scroll_into_view_if_needed()
        page.wait_for_function(
            "() => document.querySelector('[data-testid=\"stPlotlyChart\"] .js-plotly-plot')"
            "?._fullLayout?.xaxis?.d2p"
        )
        x, y = chart.evaluate(_POINT_JS)
        box = chart.locator(".js-plotly-plot").bounding_box()
        page.mouse.click(box["x"] + x, box["y"] + y)
        index = page.wait_for_function(_SELECTED_JS).json_value()[0]
        assert isinstance(index, int), index
        caption = main.get_by_text(f"image {index}: ", exact=False)
        caption.first.wait_for(timeout=60_000)
        assert_no_exception(page)
        save_screenshot(page, "feature-space-clicked-point")
    finally:
        context.close()
