"""Real browser: the lecture walked end to end. Every course step opened from its link on a fresh
1280 x 720 projector (projector=1): no "settings that do not apply" notice, no exception, the
figure the step is about starting on the first screen, and inputs readable from the back (values
of select boxes and number fields at 16 px or more). The first screen of every step is saved to
tests/e2e/screenshots/course/ (ignored) for a person to look at."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from explorer.ui.course import STEPS
from tests.e2e.helpers import SCREENSHOTS, assert_no_exception, open_page

PROJECTOR = {"width": 1280, "height": 720}
NOTICE = "This link asked for settings that do not apply here"
SHOTS = SCREENSHOTS / "course"
PLOT = '[data-testid="stPlotlyChart"]'
IMAGE = '[data-testid="stImage"]'
# The figure each step is about (a CSS selector; .st-key-<key> marks an element drawn with that key).
FIGURES: dict[int, str] = {
    1: ".st-key-bs_numbers_chart", 2: ".st-key-bs_step_chart", 3: ".st-key-bs_step_chart",
    4: ".st-key-bs_relu_chart", 5: ".st-key-bs_pool_chart", 6: ".st-key-bs_gap_chart", 7: ".st-key-bs_loss_chart",
    8: '[data-testid="stImage"], [data-testid="stButton"]',  # before a run: the dataset's images, Start
    9: IMAGE, 10: ".st-key-arch_diagram", 11: ".st-key-arch_diagram", 12: ".st-key-arch_diagram",
    13: ".st-key-arch_diagram", 14: ".st-key-arch_diagram", 15: IMAGE, 16: PLOT, 17: PLOT, 18: PLOT, 19: PLOT,
    20: PLOT,
}  # fmt: skip
# Known to fail (measured 2026-12-03, top of the figure at 1280 x 720): Training keeps its settings
# above the run (step 8: the dataset's images at 940 px), Recurrent its view controls above the chart
# (steps 16, 17, 19, 20: 651, 816, 764, 885 px). They run, and report XPASS once fixed.
CONTROLS_ABOVE_FIGURE = {8: "Training", 16: "Recurrent", 17: "Recurrent", 19: "Recurrent", 20: "Recurrent"}
INPUT_SIZES_JS = """() => [...document.querySelectorAll(
    '[data-testid="stMain"] input:not([type="checkbox"]):not([type="radio"]):not([type="file"]),'
    + ' [data-testid="stMain"] [data-baseweb="select"] [value], [data-testid="stMain"] [data-baseweb="select"] div')]
  .filter(e => e.offsetParent !== null && (e.tagName === 'INPUT' || e.childElementCount === 0)
               && (e.value || e.textContent).trim())
  .map(e => [(e.value || e.textContent).trim().slice(0, 30), parseFloat(getComputedStyle(e).fontSize)])"""


def _link(n: int) -> str:
    step = STEPS[n - 1]
    return f"{step.page}?{urlencode({**step.params, 'step': str(n), 'projector': '1'})}"


def _tops(page, selector: str) -> list[float]:  # noqa: ANN001
    """Viewport tops (px) of the visible elements matching ``selector``, once the first is there."""
    page.locator(f"{selector} >> visible=true").first.wait_for(timeout=90_000)
    boxes = [e.bounding_box() for e in page.locator(f"{selector} >> visible=true").all()]
    return [b["y"] for b in boxes if b and b["height"] > 0]


@pytest.mark.parametrize("n", range(1, len(STEPS) + 1))
def test_each_course_step_shows_its_point_on_the_first_screen(app_server, chromium, request, n: int) -> None:  # noqa: ANN001, E501
    if n in CONTROLS_ABOVE_FIGURE:
        request.applymarker(pytest.mark.xfail(
            reason=f"{CONTROLS_ABOVE_FIGURE[n]}: projector mode does not fold its controls yet", strict=False))
    context = chromium.new_context(viewport=PROJECTOR)
    page = context.new_page()
    page.set_default_timeout(120_000)
    try:
        open_page(page, app_server, _link(n), timeout=180)
        assert_no_exception(page)
        assert page.get_by_text(NOTICE).count() == 0, f"step {n}: {page.get_by_text(NOTICE).first.inner_text()}"
        tops = _tops(page, FIGURES[n])
        if n == 15:  # two models: both montages
            assert len(tops) >= 2, tops
        tops = tops[:2] if n == 15 else tops[:1]
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"step-{n:02d}.png"))  # the first screen, as the room sees it
        assert max(tops) < PROJECTOR["height"] - 80, f"step {n}: the figure starts at {tops} px"
        small = [(text, size) for text, size in page.evaluate(INPUT_SIZES_JS) if size < 16]
        assert not small, f"step {n}: input values under 16 px: {small}"
    finally:
        context.close()
