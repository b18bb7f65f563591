"""AppTest: every page of the navigation runs without an exception."""

import pytest

from explorer.ui.navigation import PAGES
from tests.app.conftest import open_app_page


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.url_path or "home")
def test_page_runs_without_exception(page) -> None:
    at = open_app_page(page.file).run()
    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.title] == [page.title if page.url_path else "Architecture Explorer"]


def test_architectures_page_shows_published_totals() -> None:
    at = open_app_page("app_pages/architectures.py").run()
    at.selectbox[0].set_value("vgg16").run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Parameters"] == "138.4 M"
    assert metrics["Output"] == "1000"
    assert not at.exception


def test_impossible_input_size_gets_one_message() -> None:
    at = open_app_page("app_pages/architectures.py").run()
    at.selectbox[0].set_value("vgg16").run()
    at.number_input[0].set_value(16).run()
    assert not at.exception
    assert len(at.error) == 1
    assert "VGG-16 cannot take a 3 x 16 x 16 input" in at.error[0].value


def test_compact_model_can_be_viewed_for_grey_28() -> None:
    at = open_app_page("app_pages/architectures.py").run()
    at.selectbox[0].set_value("lenet5").run()
    at.radio[0].set_value("28 x 28 grey").run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Input (C x H x W)"] == "1 x 28 x 28"
    assert metrics["Parameters"] == "61.7 k"


def test_catalog_comparison_counts_layers_and_fields() -> None:
    at = open_app_page("app_pages/architectures.py").run()
    at.toggle(key="arch_compare").set_value(True).run()
    assert not at.exception
    table = at.dataframe[-1].value.set_index("architecture")
    assert table.loc["VGG-16", "weight layers"] == 16
    assert table.loc["AlexNet", "weight layers"] == 8
    assert table.loc["VGG-16", "params"] == 138_357_544
    assert table.loc["ResNet-18", "largest RF"] == 435
