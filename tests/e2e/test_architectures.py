"""Real browser: the Architectures diagram at a projector's 1280 x 720, and a click on a node."""

import pytest

from tests.e2e.helpers import SCREENSHOTS, assert_no_exception, open_page, wait_idle


@pytest.fixture
def small_page(chromium):  # noqa: ANN001
    context = chromium.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.set_default_timeout(90_000)
    yield page
    context.close()


def _diagram(page):  # noqa: ANN001, ANN202
    chart = page.locator('[data-testid="stPlotlyChart"]').first
    chart.locator(".scatterlayer").first.wait_for()
    return chart


def _shot(page, chart, name: str) -> None:  # noqa: ANN001
    """The diagram scrolled to the top of the 1280 x 720 window, as a projector shows it."""
    SCREENSHOTS.mkdir(exist_ok=True)
    chart.scroll_into_view_if_needed()
    page.evaluate("""() => {const c = document.querySelector('[data-testid="stPlotlyChart"]');
                     c.scrollIntoView({block: 'start'});}""")
    page.wait_for_timeout(300)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def _labels(chart) -> list[str]:  # noqa: ANN001
    return chart.locator(".textpoint text").evaluate_all("els => els.map(e => e.textContent)")


@pytest.mark.parametrize(
    ("arch", "expand"), [("googlenet", "inception4c"), ("resnet50", "stage3.block1")]
)
def test_diagram_collapsed_and_expanded_at_1280x720(
    app_server, small_page, arch: str, expand: str
) -> None:  # noqa: ANN001
    open_page(small_page, app_server, f"architectures?arch={arch}")
    assert_no_exception(small_page)
    chart = _diagram(small_page)
    labels = _labels(chart)
    blocks = [t for t in labels if t.startswith(("inception", "stage"))]
    assert len(blocks) == (9 if arch == "googlenet" else 16)
    box = chart.bounding_box()
    assert box["height"] <= 660  # collapsed: the whole network fits the 720-pixel screen
    _shot(small_page, chart, f"architectures-{arch}-collapsed")
    open_page(small_page, app_server, f"architectures?arch={arch}&layer={expand}/conv1"
              if arch == "resnet50" else f"architectures?arch={arch}&layer={expand}/3x3")  # fmt: skip
    assert_no_exception(small_page)
    chart = _diagram(small_page)
    labels = _labels(chart)
    assert any(t.startswith("3x3") or t.startswith("conv1") for t in labels)
    _shot(small_page, chart, f"architectures-{arch}-expanded")


def test_clicking_a_node_shows_its_card(app_server, small_page) -> None:  # noqa: ANN001
    open_page(small_page, app_server, "architectures?arch=resnet18")
    chart = _diagram(small_page)
    label = chart.locator(".textpoint text", has_text="stage2.block1").first
    chart.scroll_into_view_if_needed()
    box = label.bounding_box()
    # The marker sits just left of its label.
    small_page.mouse.click(box["x"] - 12, box["y"] + box["height"] / 2)
    small_page.get_by_text("stage 2, block 1").first.wait_for()
    wait_idle(small_page)
    assert_no_exception(small_page)
    link = small_page.get_by_role("link", name="Feature maps of stage2.block1")
    assert "layer=stage2.block1" in link.get_attribute("href")
    assert "layer=stage2.block1" in small_page.url
    small_page.screenshot(path=str(SCREENSHOTS / "architectures-card.png"))


def test_every_layer_of_googlenet_and_side_by_side(app_server, small_page) -> None:  # noqa: ANN001
    open_page(small_page, app_server, "architectures?arch=googlenet&level=layers")
    assert_no_exception(small_page)
    chart = _diagram(small_page)
    labels = _labels(chart)
    assert (
        labels.count("3x3_reduce") == 9 and labels.count("pool_proj") == 9
    )  # nine modules, opened
    _shot(small_page, chart, "architectures-googlenet-layers")
    side = small_page.locator('[data-testid="stPlotlyChart"]').nth(2)
    side.scroll_into_view_if_needed()
    side.locator(".scatterlayer").first.wait_for()
    titles = side.locator(".annotation-text").evaluate_all("els => els.map(e => e.textContent)")
    assert titles[:5] == ["LeNet-5", "AlexNet", "VGG-16", "GoogLeNet", "ResNet-50"]
    small_page.evaluate("""() => {const c = document.querySelectorAll('[data-testid="stPlotlyChart"]')[2];
                           c.scrollIntoView({block: 'start'});}""")
    small_page.wait_for_timeout(300)
    small_page.screenshot(path=str(SCREENSHOTS / "architectures-side-by-side.png"))
    bars = small_page.locator('[data-testid="stPlotlyChart"]').nth(1)
    bars.scroll_into_view_if_needed()
    small_page.wait_for_timeout(300)
    small_page.screenshot(path=str(SCREENSHOTS / "architectures-compute-bars.png"))
