"""Real browser: the Architectures diagram at a projector's 1280 x 720 (first screen, type size,
screenshots to look at), a click on a node, and side by side at one depth scale."""

import time

import pytest

from tests.e2e.helpers import SCREENSHOTS, assert_no_exception, open_page, wait_idle


@pytest.fixture
def small_page(chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.set_default_timeout(90_000)
    yield page
    context.close()


def _diagram(page):
    chart = page.locator('[data-testid="stPlotlyChart"]').first
    chart.locator(".scatterlayer").first.wait_for()
    return chart


def _first_screen(page, name: str) -> dict:
    """The page as opened (scrolled to the top): the diagram's box in the window, and a
    screenshot of the 1280 x 720 screen."""
    SCREENSHOTS.mkdir(exist_ok=True)
    chart = _diagram(page)
    _steady_box(chart)
    scrolled = page.evaluate("""() => {const m = document.querySelector('[data-testid="stMain"]');
                                       return m ? m.scrollTop : window.scrollY;}""")
    assert scrolled == 0  # as a link opens it: nothing scrolled
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
    return chart.bounding_box()


def _steady_box(chart) -> dict:
    """The chart's box once two reads 100 ms apart agree (plotly sizes the figure to its
    container after the first draw)."""
    box = chart.bounding_box()
    for _ in range(50):
        time.sleep(0.1)
        again = chart.bounding_box()
        if again == box:
            return box
        box = again
    return box


def _labels(chart) -> list[str]:
    return chart.locator(".textpoint text").evaluate_all("els => els.map(e => e.textContent)")


def _label_px(chart) -> float:
    """The smallest type of the node labels as the browser draws them (CSS included)."""
    sizes = chart.locator(".textpoint text").evaluate_all(
        "els => els.map(e => parseFloat(getComputedStyle(e).fontSize))"
    )
    return min(sizes)


@pytest.mark.parametrize(
    ("query", "name", "labels"),
    [  # course steps 10-14 as the Course page links them, and GoogLeNet's every layer
        ("arch=alexnet2012&step=10", "step10-alexnet", ["conv1  11x11/4, 96 +ReLU+norm"]),
        ("arch=vgg16&step=11", "step11-vgg16", ["block3  256 ch"]),
        ("arch=nin&step=12", "step12-nin", ["mlpconv1  96 ch", "pool3  max 3x3/2 +dropout"]),
        ("arch=googlenet_v1&step=13", "step13-googlenet", ["inception3a  256 ch"]),
        ("arch=resnet18&step=14", "step14-resnet18-blocks", ["stage 2, block 1  128 ch"]),
        ("arch=googlenet&level=layers", "googlenet-layers", ["3x3_reduce"]),
    ],
)
def test_projector_diagram_starts_on_the_first_screen(
    app_server, small_page, query: str, name: str, labels: list[str]
) -> None:
    open_page(small_page, app_server, f"architectures?{query}&projector=1")
    assert_no_exception(small_page)
    box = _first_screen(small_page, f"architectures-projector-{name}")
    # Its top in the first screen, under one folded line.
    assert box["y"] < 720 and box["y"] < 300, box
    # A course step's diagram is on the first screen whole, legend to colour bar.
    if "step" in query:
        assert box["y"] + box["height"] <= 720, box
    assert box["width"] > 1000  # the page's width
    chart = _diagram(small_page)
    assert _label_px(chart) >= 16
    found = _labels(chart)
    assert all(t in found for t in labels), found
    legend = chart.locator(".legendtext").evaluate_all("els => els.map(e => e.textContent)")
    assert "input / output" in legend  # whole, not "input / outpu"
    overflow = chart.evaluate("""c => {const bg = c.querySelector('.legend .bg').getBoundingClientRect();
        const svg = c.querySelector('.main-svg').getBoundingClientRect();
        return [...c.querySelectorAll('.legendtext')].map(t => t.getBoundingClientRect())
            .filter(r => r.right > Math.min(bg.right, svg.right) + 1).length;}""")
    assert overflow == 0  # every legend entry inside the legend's box and the figure (none cut off)
    if "resnet18" in name:  # one orange shortcut arc per residual block
        strokes = chart.locator(".shapelayer path").evaluate_all(
            "els => els.map(e => e.style.stroke)"
        )
        assert strokes.count("rgb(213, 94, 0)") == 8, strokes


def test_screen_mode_labels_are_13_px_and_the_diagram_comes_early(app_server, small_page) -> None:
    open_page(small_page, app_server, "architectures?arch=googlenet&level=layers")
    assert_no_exception(small_page)
    box = _first_screen(small_page, "architectures-screen-googlenet-layers")
    assert box["y"] < 720  # under the controls, on the first screen
    chart = _diagram(small_page)
    assert _label_px(chart) >= 13
    assert _labels(chart).count("3x3_reduce") == 9  # nine Inception modules, each opened


def test_clicking_a_node_shows_its_card(app_server, small_page) -> None:
    open_page(small_page, app_server, "architectures?arch=resnet18")
    chart = _diagram(small_page)
    label = chart.locator(".textpoint text", has_text="stage 2, block 1").first
    label.scroll_into_view_if_needed()
    box = label.bounding_box()
    # The marker sits just left of its label.
    small_page.mouse.click(box["x"] - 10, box["y"] + box["height"] / 2)
    small_page.locator(
        '[data-testid="stMarkdownContainer"] h4', has_text="stage 2, block 1"
    ).first.wait_for()
    wait_idle(small_page)
    assert_no_exception(small_page)
    link = small_page.get_by_role("link", name="Feature maps of stage 2, block 1")
    assert "layer=stage2.block1" in link.get_attribute("href")
    assert "layer=stage2.block1" in small_page.url
    small_page.screenshot(path=str(SCREENSHOTS / "architectures-card.png"))


def test_side_by_side_in_the_url_at_one_depth_scale(app_server, small_page) -> None:
    open_page(small_page, app_server, "architectures?arch=googlenet&side=vgg16,resnet18,googlenet")
    assert_no_exception(small_page)
    side = small_page.locator('[data-testid="stPlotlyChart"]').nth(2)
    side.scroll_into_view_if_needed()
    side.locator(".scatterlayer").first.wait_for()
    titles = side.locator(".annotation-text").evaluate_all("els => els.map(e => e.textContent)")
    assert [t.split("layers")[0] for t in titles] == ["VGG-1616 ", "ResNet-1818 ", "GoogLeNet22 "]
    heights = side.locator(".shapelayer path").evaluate_all(
        "els => els.map(e => e.getBBox().height)"
    )
    assert heights  # the boxes are drawn
    small_page.evaluate("""() => {const c = document.querySelectorAll('[data-testid="stPlotlyChart"]')[2];
                           c.scrollIntoView({block: 'start'});}""")
    small_page.wait_for_timeout(300)
    small_page.screenshot(path=str(SCREENSHOTS / "architectures-side-by-side.png"))
    assert (
        "side=vgg16%2Cresnet18%2Cgooglenet" in small_page.url
        or "side=vgg16,resnet18,googlenet" in small_page.url
    )
