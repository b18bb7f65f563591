"""Real browser: a lecturer's prepared links open the same view in a fresh browser, the main
figure is on the first screen of a 1280 x 720 projector, a reload keeps the user's training run,
and another browser sees none of it."""

from __future__ import annotations

import re
import time

import pytest

from tests.e2e.helpers import (
    SCREENSHOTS,
    assert_no_exception,
    open_page,
    save_screenshot,
    wait_idle,
)

PROJECTOR = {"width": 1280, "height": 720}
# Everything a user reads: the page's text and the values shown in inputs and select boxes.
SHOWN_JS = """() => document.body.innerText + "\\n"
  + [...document.querySelectorAll('input')].map(i => i.value).join("\\n") + "\\n"
  + [...document.querySelectorAll('[aria-label], [title]')]
      .map(e => (e.getAttribute('aria-label') || '') + ' ' + (e.getAttribute('title') || '')).join("\\n")"""


def _fresh(chromium, viewport: dict | None = None):
    context = chromium.new_context(viewport=viewport or {"width": 1400, "height": 1600})
    page = context.new_page()
    page.set_default_timeout(90_000)
    return context, page


def _visible_top(page, selector: str) -> float:
    """Top (px, in the viewport) of the first visible element matching ``selector``."""
    loc = page.locator(f"{selector} >> visible=true").first
    loc.wait_for(timeout=60_000)
    box = loc.bounding_box()
    assert box is not None, selector
    return box["y"]


def test_a_deep_link_reproduces_the_view_in_a_fresh_browser(app_server, chromium) -> None:
    link = (
        "feature-maps?arch=lenet5&weights=bundled&sample=digit&view=layer&layer=relu_C3"
        "&channel=5&sort=max&scale=grey"
    )
    context, page = _fresh(chromium)
    try:
        open_page(page, app_server, link)
        assert_no_exception(page)
        shown = page.evaluate(SHOWN_JS)
        assert "relu_C3 (ReLU) - 16 x 10 x 10" in shown and "LeNet-5 (1998)" in shown
        assert "Printed digit 7" in shown and "max activation" in shown
        assert page.get_by_label("Channel (0 to 15)").input_value() == "5"
        url = page.url
        for part in (
            "arch=lenet5",
            "weights=bundled",
            "sample=digit",
            "view=layer",
            "layer=relu_C3",
            "channel=5",
            "sort=max",
            "scale=grey",
        ):
            assert part in url, (part, url)
        assert "explorer_browser" not in url  # the browser's identity never travels in a link
        save_screenshot(page, "lecture-deep-link")
        open_page(page, app_server, "architectures?arch=vgg16")
        assert page.get_by_text("138.4 M").count() >= 1  # VGG-16, not the default ResNet-18
        bad = (
            "feature-maps?arch=lenet5&view=layer&layer=%3Cscript%3Ealert(1)%3C/script%3E&channel=zz"
        )
        open_page(page, app_server, bad)
        assert_no_exception(page)
        assert page.get_by_text("do not apply here").count() == 1
    finally:
        context.close()


@pytest.mark.parametrize(
    ("name", "link", "figure"),
    [
        (
            "fm-overview",
            "feature-maps?arch=resnet_small&weights=bundled&sample=cat&view=overview",
            '[data-testid="stImage"]',
        ),
        (
            "fm-layer",
            "feature-maps?arch=resnet_small&weights=bundled&sample=cat&view=layer",
            '[data-testid="stImage"]',
        ),
        (
            "fm-rf",
            "feature-maps?arch=resnet_small&weights=bundled&sample=cat&view=rf",
            '[data-testid="stPlotlyChart"]',
        ),
        (
            "architectures",
            "architectures?arch=vgg16",
            '[data-testid="stGraphVizChart"], [data-testid="stPlotlyChart"]',
        ),
        ("recurrent", "recurrent?cell=lstm&view=heatmaps", '[data-testid="stPlotlyChart"]'),
    ],
)
def test_projector_mode_puts_the_main_figure_on_the_first_screen(
    app_server, chromium, name, link, figure
) -> None:
    context, page = _fresh(chromium, PROJECTOR)
    try:
        open_page(page, app_server, f"{link}&projector=1")
        assert_no_exception(page)
        top = _visible_top(page, figure)
        SCREENSHOTS.mkdir(exist_ok=True)
        # The first screen, as the room sees it.
        page.screenshot(path=str(SCREENSHOTS / f"projector-{name}.png"))
        assert top < PROJECTOR["height"] - 80, f"{name}: the main figure starts at {top:.0f} px"
        body = page.locator('[data-testid="stMain"] [data-testid="stMarkdownContainer"] p').first
        size = body.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
        assert size >= 18, size
        sidebar = page.locator('[data-testid="stSidebar"]').bounding_box()
        assert sidebar is None or sidebar["x"] + sidebar["width"] <= 1, sidebar  # collapsed
        ticks = page.locator(".js-plotly-plot .xtick text")
        if ticks.count():
            assert ticks.first.evaluate("e => parseFloat(getComputedStyle(e).fontSize)") >= 16
    finally:
        context.close()


def test_reload_keeps_the_training_run_and_another_browser_sees_none(app_server, chromium) -> None:
    context, page = _fresh(chromium)
    other_ctx, other = _fresh(chromium)
    try:
        open_page(
            page, app_server, "training?model=keras_cnn&dataset=circles_squares&epochs=4&train=1500"
        )
        page.get_by_role("button", name="Start", exact=True).click()
        page.get_by_role("button", name="Stop", exact=True).wait_for(timeout=60_000)
        page.reload(wait_until="domcontentloaded")
        page.wait_for_selector('[data-testid="stMain"] h1')
        # The same browser (its cookie) finds its run again, with its controls.
        page.get_by_role("button", name="Stop", exact=True).or_(
            page.get_by_text("Run finished after")
        ).first.wait_for(timeout=60_000)
        save_screenshot(page, "lecture-reload-keeps-run")
        assert_no_exception(page)
        # A second browser: no run, no controls, no trained model.
        open_page(other, app_server, "training")
        assert other.get_by_role("button", name="Stop", exact=True).count() == 0
        assert other.get_by_text("press Start").count() >= 1
        open_page(other, app_server, "feature-maps")
        assert other.get_by_text("My trained model").count() == 0
        # Stop our run so it does not keep the CPU busy for the next test. A stopped run says
        # "Run stopped early after ..." (waiting for "Run finished after" alone always took the
        # whole 60 s).
        stop = page.get_by_role("button", name="Stop", exact=True)
        if stop.count():
            stop.click()
            ended = page.get_by_text(re.compile(r"Run (finished|stopped early) after"))
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and ended.count() == 0:
                time.sleep(0.5)
        wait_idle(page)
    finally:
        context.close()
        other_ctx.close()
