"""Real browser: "Copy link to this view" on every page that has it. Set a view that is not the
page's default, open the popover, take the link from its code box, check that it names the page
once and equals the address bar, open it in a fresh browser (no cookies, no session) and compare
every widget on the page with the original. One server, one browser, a context per page."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.e2e.helpers import assert_no_exception, open_page, save_screenshot, wait_idle

# Every widget in the main area as {label: value}: what a user reads on the screen. Select boxes
# give their shown value, radios the checked option, sliders their thumbs, inputs their text.
WIDGETS_JS = """() => {
  const out = {};
  const label = el => (el.querySelector('[data-testid="stWidgetLabel"]')?.innerText || '').trim();
  const put = (k, v) => { let key = k, n = 2; while (key in out) key = `${k} #${n++}`; out[key] = v; };
  const main = document.querySelector('[data-testid="stMain"]');
  for (const el of main.querySelectorAll('[data-testid="stSelectbox"]'))
    put(label(el), el.querySelector('input')?.value);
  for (const el of main.querySelectorAll('[data-testid="stMultiSelect"]'))
    put(label(el), el.innerText.replace(label(el), '').trim());
  for (const el of main.querySelectorAll('[data-testid="stNumberInput"], [data-testid="stTextInput"]'))
    put(label(el), el.querySelector('input')?.value);
  for (const el of main.querySelectorAll('[data-testid="stTextArea"]'))
    put(label(el), el.querySelector('textarea')?.value);
  for (const el of main.querySelectorAll('[data-testid="stSlider"]'))
    put(label(el), [...el.querySelectorAll('input[type="range"]')].map(t => t.getAttribute('aria-valuetext')).join(','));
  for (const el of main.querySelectorAll('[data-testid="stRadio"]'))
    put(label(el) || 'radio', el.querySelector('[data-testid="stRadioOption"][data-selected="true"]')?.innerText.trim());
  for (const el of main.querySelectorAll('[data-testid="stCheckbox"]'))
    put(el.innerText.trim(), el.querySelector('input')?.checked);
  return out;
}"""


@pytest.fixture
def fresh(chromium) -> Iterator[Callable]:
    """New browser contexts (no cookie, no session), closed at the end of the test."""
    contexts = []

    def make():
        context = chromium.new_context(viewport={"width": 1400, "height": 2000})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(90_000)
        return page

    yield make
    for context in contexts:
        context.close()


# ------------------------------------------------------------------ setting widgets by their label


def _widget(page, testid: str, label: str):
    return (
        page.locator(f'[data-testid="stMain"] [data-testid="{testid}"]')
        .filter(has=page.locator('[data-testid="stWidgetLabel"]', has_text=label))
        .first
    )


def choose(page, label: str, option: str) -> None:
    """Pick ``option`` in the select box labelled ``label``."""
    _widget(page, "stSelectbox", label).locator("input").click()
    page.get_by_role("option", name=option, exact=True).first.click()
    wait_idle(page)


def radio(page, label: str, option: str) -> None:
    """Click ``option`` of the radio group labelled ``label``."""
    _widget(page, "stRadio", label).locator('[data-testid="stRadioOption"]').filter(
        has_text=option
    ).first.click()
    wait_idle(page)


def number(page, label: str, value: float) -> None:
    box = _widget(page, "stNumberInput", label).locator("input")
    box.fill(str(value))
    box.press("Enter")
    wait_idle(page)


def slide(page, label: str, target: int) -> None:
    """Move the slider's thumb with the arrow keys until it shows ``target``: the presses of
    one round go in a row (the slider sends its value once they pause, one rerun), then the
    value is read back, and another round corrects it if a rerun moved the thumb meanwhile."""
    thumb = _widget(page, "stSlider", label).locator('input[type="range"]').first
    for _ in range(10):
        now = int(float(thumb.get_attribute("aria-valuetext")))
        if now == target:
            return
        thumb.focus()
        for _ in range(abs(target - now)):
            thumb.press("ArrowRight" if target > now else "ArrowLeft")
        wait_idle(page, quiet=0.5)
    raise AssertionError(f"the slider {label!r} did not reach {target}")


def type_text(page, label: str, text: str) -> None:
    area = _widget(page, "stTextArea", label).locator("textarea")
    area.fill(text)
    area.press("Control+Enter")
    wait_idle(page)


def widgets(page) -> dict:
    return page.evaluate(WIDGETS_JS)


# ------------------------------------------------------------------ the link


def copied_link(page) -> tuple[str, str]:
    """(the link in the popover's code box, the popover's text); the popover is closed again."""
    page.get_by_role("button", name="Copy link to this view").first.click()
    body = page.locator('[data-testid="stPopoverBody"]').first
    body.wait_for()
    link = body.locator('[data-testid="stCode"] code').first.inner_text().strip()
    text = body.inner_text()
    page.keyboard.press("Escape")
    body.wait_for(state="hidden")
    return link, text


def _query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def check_link(page, base: str, url_path: str) -> tuple[str, str]:
    """The popover's link names the page once under the server's address and is the address
    bar's URL, with the same parameters; (link, popover text)."""
    link, text = copied_link(page)
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}" == base, link
    # The page's path once: ".../architectures/architectures" opened blank.
    assert parts.path == f"/{url_path}", link
    bar = page.url
    assert urlsplit(bar).path == parts.path, (bar, link)
    step_free = {k: v for k, v in _query(bar).items() if k != "step"}
    assert _query(link) == step_free, (bar, link)
    return link, text


def reopen(fresh, link: str, name: str):
    """The link opened in a fresh browser; the page, rendered."""
    page = fresh()
    page.goto(link, wait_until="domcontentloaded")
    page.wait_for_selector('[data-testid="stMain"] h1', timeout=90_000)
    wait_idle(page)
    assert_no_exception(page)
    save_screenshot(page, f"copy-link-{name}-reopened")
    assert not page.get_by_text("This link asked for settings that do not apply here").count(), name
    return page


def same_view(original, reopened, changed: dict[str, str], name: str) -> None:
    """Every widget of the reopened page shows what the original showed; ``changed`` (label ->
    value) names the non-default settings, which must be among them."""
    before, after = widgets(original), widgets(reopened)
    for label, value in changed.items():
        assert before.get(label) == value, (name, label, before.get(label))
    assert after == before, (
        name,
        {
            k: (before.get(k), after.get(k))
            for k in {*before, *after}
            if before.get(k) != after.get(k)
        },
    )


# ------------------------------------------------------------------ one test per page


def test_architectures(app_server, fresh) -> None:
    page = fresh()
    open_page(page, app_server, "architectures")
    choose(page, "Architecture", "VGG-16  (VGG, 2014)")
    radio(page, "Detail", "Layers")
    choose(page, "Colour by", "parameters")
    link, _ = check_link(page, app_server, "architectures")
    assert _query(link) == {"arch": "vgg16", "level": "layers", "colour": "parameters"}
    save_screenshot(page, "copy-link-architectures")
    same_view(
        page,
        reopen(fresh, link, "architectures"),
        {"Architecture": "VGG-16  (VGG, 2014)", "Detail": "Layers", "Colour by": "parameters"},
        "architectures",
    )


def test_course_link_names_its_page_once(app_server, fresh) -> None:
    page = fresh()
    open_page(page, app_server, "course")
    link, _ = check_link(page, app_server, "course")
    assert link == f"{app_server}/course"


def _position(page) -> str:
    """The step view's "Position k of n" line."""
    return page.locator('[data-testid="stMain"] strong', has_text="Position").first.inner_text()


def test_basics_step_view(app_server, fresh) -> None:
    page = fresh()
    open_page(page, app_server, "basics?topic=stride")
    number(page, "Stride S", 2)
    number(page, "Padding P (zeros)", 0)
    for _ in range(3):
        page.get_by_role("button", name="Forward", exact=True).click()
        wait_idle(page)
    number(page, "S (stride)", 3)  # the formula's own stride, another setting
    position = _position(page)
    assert position.startswith("Position 4 of "), position
    link, _ = check_link(page, app_server, "basics")
    assert {"stride": "2", "padding": "0", "pos": "4", "s": "3"}.items() <= _query(link).items(), (
        link
    )
    again = reopen(fresh, link, "basics")
    same_view(page, again, {"Stride S": "2", "Padding P (zeros)": "0", "S (stride)": "3"}, "basics")
    assert _position(again) == position  # not "Position 1 of 64"


def test_feature_maps_compare(app_server, fresh) -> None:
    page = fresh()
    open_page(page, app_server, "feature-maps")
    radio(page, "View", "Compare")
    radio(page, "Compare", "This layer in two models")
    choose(page, "Second model", "LeNet-5 (1998)")
    radio(page, "Its weights", "Random initialisation (untrained)")
    link, _ = check_link(page, app_server, "feature-maps")
    assert {
        "view": "compare",
        "cmp": "models",
        "model2": "lenet5",
        "weights2": "random",
    }.items() <= _query(link).items(), link
    save_screenshot(page, "copy-link-feature-maps-compare")
    same_view(
        page,
        reopen(fresh, link, "feature-maps-compare"),
        {
            "Compare": "This layer in two models",
            "Second model": "LeNet-5 (1998)",
            "Its weights": "Random initialisation (untrained)",
        },
        "feature maps compare",
    )


def test_feature_maps_filters_and_attribution(app_server, fresh) -> None:
    page = fresh()
    open_page(page, app_server, "feature-maps")
    radio(page, "View", "Filters")
    box = _widget(page, "stSelectbox", "Convolution layer").locator("input")
    box.click()
    # The third convolution: k x k kernels per input channel.
    page.get_by_role("option").nth(2).click()
    wait_idle(page)
    number(page, "Input channel", 3)
    link, _ = check_link(page, app_server, "feature-maps")
    conv = widgets(page)["Convolution layer"]
    assert {"view": "filters", "in": "3"}.items() <= _query(link).items() and "conv" in _query(
        link
    ), link
    same_view(
        page, reopen(fresh, link, "feature-maps-filters"), {"Convolution layer": conv}, "filters"
    )

    radio(page, "View", "Attribution")
    radio(page, "Method", "Grad-CAM")
    box = _widget(page, "stSelectbox", "Explain the class").locator("input")
    box.click()
    page.get_by_role("option").nth(1).click()  # the second most probable class
    wait_idle(page)
    target = widgets(page)["Explain the class"]
    link, _ = check_link(page, app_server, "feature-maps")
    assert {"view": "attribution", "method": "grad_cam", "target": "1"}.items() <= _query(
        link
    ).items(), link
    save_screenshot(page, "copy-link-feature-maps-attribution")
    same_view(
        page,
        reopen(fresh, link, "feature-maps-attribution"),
        {"Method": "Grad-CAM", "Explain the class": target},
        "attribution",
    )


def test_feature_maps_upload_is_named_as_not_travelling(app_server, fresh) -> None:
    page = fresh()
    open_page(page, app_server, "feature-maps")
    radio(page, "Image from", "Upload")
    link, text = check_link(page, app_server, "feature-maps")
    assert "sample" not in _query(link)
    assert (
        'Not in this link: your uploaded image (the link opens with the sample "Chelsea the cat").'
        in text
    )


def test_recurrent(app_server, fresh) -> None:
    page = fresh()
    open_page(page, app_server, "recurrent")
    choose(page, "Cell", "GRU")
    slide(page, "Hidden size", 37)
    type_text(page, "Text (character by character", "Hello, world & more?")
    link, _ = check_link(page, app_server, "recurrent")
    assert {"cell": "gru", "hidden": "37", "text": "Hello, world & more?"}.items() <= _query(
        link
    ).items(), link
    same_view(
        page,
        reopen(fresh, link, "recurrent"),
        {
            "Cell": "GRU",
            "Hidden size": "37",
            "Text (character by character, up to 1,000 characters)": "Hello, world & more?",
        },
        "recurrent",
    )
    # A long text stays in this browser, and the popover says so.
    type_text(page, "Text (character by character", "x" * 250)
    link, text = check_link(page, app_server, "recurrent")
    assert "text" not in _query(link)
    assert "Not in this link: your text, longer than 200 characters" in text


def test_training(app_server, fresh) -> None:
    page = fresh()
    open_page(page, app_server, "training")
    choose(page, "Optimiser", "SGD with momentum")
    number(page, "Epochs", 7)
    number(page, "Learning rate", 0.02)
    link, _ = check_link(page, app_server, "training")
    assert {"optimizer": "sgd", "epochs": "7", "lr": "0.02"}.items() <= _query(link).items(), link
    save_screenshot(page, "copy-link-training")
    same_view(
        page,
        reopen(fresh, link, "training"),
        {"Optimiser": "SGD with momentum", "Epochs": "7", "Learning rate": "0.02000"},
        "training",
    )


def test_experiments(app_server, fresh) -> None:
    page = fresh()
    open_page(page, app_server, "experiments")
    options = _widget(page, "stRadio", "Experiment").locator('[data-testid="stRadioOption"]')
    options.nth(1).click()  # the second experiment
    wait_idle(page)
    chosen = widgets(page)["Experiment"]
    link, _ = check_link(page, app_server, "experiments")
    assert "exp" in _query(link), link
    same_view(page, reopen(fresh, link, "experiments"), {"Experiment": chosen}, "experiments")


def test_under_a_base_path(chromium) -> None:
    """Served under --server.baseUrlPath (a classroom server behind a proxy's /cnn/), the link
    keeps the base path and names the page once."""
    from tests.e2e.conftest import serving

    with serving({"EXPLORER_DEVICE": "cpu"}, base_path="cnn") as base:
        context = chromium.new_context(viewport={"width": 1400, "height": 1600})
        try:
            page = context.new_page()
            page.set_default_timeout(90_000)
            open_page(page, base, "architectures?arch=vgg16")
            link, _ = copied_link(page)
            assert link == f"{base}/architectures?arch=vgg16", link
            open_page(page, base, "")  # the home page, at the base path itself
            page.get_by_role("link", name="Course").first.click()
            wait_idle(page)
            link, _ = copied_link(page)
            assert link == f"{base}/course", link
        finally:
            context.close()
