"""Real browser: the lecture walked end to end. Every course step opened from its link on a fresh
1280 x 720 projector (projector=1): no "settings that do not apply" notice, no exception, the
figure the step is about starting on the first screen, and inputs readable from the back (values
of select boxes and number fields at 16 px or more). The first screen of every step is saved to
tests/e2e/screenshots/course/ (ignored) for a person to look at.

Step 8 (Training) opens before any run: its figure is the run's live view, so the first screen must
show the Start button and the loss and accuracy charts, drawn empty and labelled where Start will
draw the curves (the settings folded into one line above them); the lecturer presses Start. Step
16 (A hierarchy of features) opens with its Draw button in sight; a second test presses it, as
the lecturer does, and wants the whole grid of optimised pictures on the first screen (the looks
view folds its settings into one line in projector mode, above a compact grid).
Steps 17-21 (Recurrent) show their chart (heatmaps, gradient flow, directions, units) under two
folded lines: the network and input, and the view's settings."""

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
    1: ".st-key-bs_numbers_chart",
    2: ".st-key-bs_step_chart",
    3: ".st-key-bs_step_chart",
    4: ".st-key-bs_relu_chart",
    5: ".st-key-bs_pool_chart",
    6: ".st-key-bs_gap_chart",
    7: ".st-key-bs_loss_chart",
    8: ".st-key-tr_loss, .st-key-tr_acc, .st-key-tr_start",  # before a run: empty labelled curves, and Start
    9: IMAGE,
    10: ".st-key-arch_diagram",
    11: ".st-key-arch_diagram",
    12: ".st-key-arch_diagram",
    13: ".st-key-arch_diagram",
    14: ".st-key-arch_diagram",
    15: IMAGE,
    16: ".st-key-fm_lf_grid",  # before the lecturer presses Draw: the button (then the grid)
    17: PLOT,
    18: PLOT,
    19: PLOT,
    20: PLOT,
    21: PLOT,
}
# "A hierarchy of features": after Draw, the whole grid of optimised pictures should be in sight.
HIERARCHY, GRID = 16, ".st-key-fm_lf_grid_fig"
GRID_WAIT_MS = 900_000  # 3 layers x 4 channels x 64 steps on 2 shared cores
INPUT_SIZES_JS = """() => [...document.querySelectorAll(
    '[data-testid="stMain"] input:not([type="checkbox"]):not([type="radio"]):not([type="file"]),'
    + ' [data-testid="stMain"] [data-baseweb="select"] [value], [data-testid="stMain"] [data-baseweb="select"] div')]
  .filter(e => e.offsetParent !== null && (e.tagName === 'INPUT' || e.childElementCount === 0)
               && (e.value || e.textContent).trim())
  .map(e => [(e.value || e.textContent).trim().slice(0, 30), parseFloat(getComputedStyle(e).fontSize)])"""


def _link(n: int) -> str:
    step = STEPS[n - 1]
    return f"{step.page}?{urlencode({**step.params, 'step': str(n), 'projector': '1'})}"


def _tops(page, selector: str) -> list[float]:
    """Viewport tops (px) of the visible elements matching ``selector``, once the first is there."""
    page.locator(f"{selector} >> visible=true").first.wait_for(timeout=90_000)
    boxes = [e.bounding_box() for e in page.locator(f"{selector} >> visible=true").all()]
    return [b["y"] for b in boxes if b and b["height"] > 0]


@pytest.mark.parametrize("n", range(1, len(STEPS) + 1))
def test_each_course_step_shows_its_point_on_the_first_screen(app_server, chromium, n: int) -> None:
    context = chromium.new_context(viewport=PROJECTOR)
    page = context.new_page()
    page.set_default_timeout(120_000)
    try:
        open_page(page, app_server, _link(n), timeout=180)
        assert_no_exception(page)
        assert page.get_by_text(NOTICE).count() == 0, (
            f"step {n}: {page.get_by_text(NOTICE).first.inner_text()}"
        )
        tops = _tops(page, FIGURES[n])
        if n in (8, 15):  # two models: both montages; Training: loss, accuracy and Start, all three
            assert len(tops) >= (3 if n == 8 else 2), tops
        tops = tops[:3] if n == 8 else tops[:2] if n == 15 else tops[:1]
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(
            path=str(SHOTS / f"step-{n:02d}.png")
        )  # the first screen, as the room sees it
        assert max(tops) < PROJECTOR["height"] - 80, f"step {n}: the figure starts at {tops} px"
        small = [(text, size) for text, size in page.evaluate(INPUT_SIZES_JS) if size < 16]
        assert not small, f"step {n}: input values under 16 px: {small}"
    finally:
        context.close()


def test_the_hierarchy_step_shows_the_whole_grid_on_the_first_screen(app_server, chromium) -> None:
    """Step 16 after Draw, as the lecturer presses it: edges -> textures -> parts in one screen."""
    context = chromium.new_context(viewport=PROJECTOR)
    page = context.new_page()
    page.set_default_timeout(120_000)
    try:
        open_page(page, app_server, _link(HIERARCHY), timeout=180)
        page.locator(".st-key-fm_lf_grid button").click()
        chart = page.locator(f"{GRID} >> visible=true").first
        chart.get_by_text("late", exact=True).wait_for(timeout=GRID_WAIT_MS)  # drawn, not loading
        assert_no_exception(page)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"step-{HIERARCHY:02d}-grid.png"))
        box = chart.bounding_box()
        assert box is not None and box["y"] + box["height"] <= PROJECTOR["height"], (
            f"step {HIERARCHY}: the grid spans {box} px"
        )
    finally:
        context.close()
