"""AppTest: the ways into Feature maps' "What it looks for" (issue 21): the course step "A hierarchy
of features", the link on an Architectures node card, and the button under one channel of Layer
detail. Each lands on the view with the layer (and channel) it names, without a notice."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from explorer.ui.course import STEPS
from explorer.ui.feature_views.looks_for import LOOKS_FOR
from tests.app.conftest import open_app_page

NOTICE = "This link asked for settings that do not apply here"


@pytest.fixture(autouse=True)
def _offline(offline_torch_home: Path) -> Path:
    return (
        offline_torch_home  # no ImageNet weights: the bundled compact models, as in a lecture room
    )


def _feature_maps(params: dict[str, str]) -> AppTest:
    at = open_app_page("app_pages/feature_maps.py", timeout=300)
    at.query_params.update(params)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not [i.value for i in at.info if NOTICE in i.value]
    return at


def _links(at: AppTest) -> list[tuple[str, str, str]]:
    return [(p.proto.label, p.proto.page, p.proto.query_string) for p in at.get("page_link")]


def _query(query: str) -> dict[str, str]:
    return dict(part.split("=") for part in query.split("&"))


def test_the_course_step_opens_the_hierarchy_grid_of_the_trained_compact_resnet() -> None:
    n, step = next((i + 1, s) for i, s in enumerate(STEPS) if s.title == "A hierarchy of features")
    assert STEPS[n - 2].title == "Transfer learning"  # the last stop of the CNN progression
    assert "edges and corners, then combines them into textures, shapes, object parts" in step.text
    at = _feature_maps({**step.params, "step": str(n)})
    assert any(f"Course step {n} of {len(STEPS)}: {step.title}" in m.value for m in at.markdown)
    assert at.radio(key="fm_view").value == LOOKS_FOR
    assert at.radio(key="fm_lf_mode").value == "hierarchy"
    assert (at.selectbox(key="fm_arch").value, at.radio(key="fm_kind").value) == (
        "resnet_small",
        "bundled",
    )
    assert at.select_slider(key="fm_lf_steps").value == 64
    assert at.button(key="fm_lf_grid").label == "Draw the hierarchy grid"
    # relu1 / stage 2 / stage 3 of the compact ResNet, four channels each
    assert any(
        i.value == "Press the button to optimise 12 channels of 3 layers (64 steps each)."
        for i in at.info
    ), [i.value for i in at.info]
    assert not at.warning  # the bundled weights are in use, nothing fell back


def test_the_node_card_links_to_what_that_layer_looks_for() -> None:
    arch = open_app_page("app_pages/architectures.py")
    arch.query_params.update(arch="resnet_small", layer="stage2.block1")
    arch.run()
    assert not arch.exception
    label, page, query = _links(arch)[1]
    assert (label, page) == ("What it looks for: stage 2, block 1", "feature-maps")
    assert _query(query) == {
        "arch": "resnet_small",
        "weights": "bundled",
        "view": "looks",
        "lf": "channel",
        "layer": "stage2.block1",
    }
    fm = _feature_maps(_query(query))
    assert fm.radio(key="fm_view").value == LOOKS_FOR
    assert fm.radio(key="fm_lf_mode").value == "channel"
    assert fm.selectbox(key="fm_lf_layer").value == "4"  # the module path of stage 2, block 1
    assert fm.query_params["layer"] == "stage2.block1"
    assert fm.button(key="fm_lf_go").label == "Optimise this channel"


def test_a_dense_node_has_no_looks_link_and_says_why() -> None:
    arch = open_app_page("app_pages/architectures.py")
    arch.query_params.update(arch="lenet5", layer="F6")
    arch.run()
    assert not arch.exception
    assert not [q for _, _, q in _links(arch) if "view=looks" in q]
    assert any("no channel of it to show in 'What it looks for'" in c.value for c in arch.caption)


def test_the_channel_button_opens_what_that_channel_looks_for() -> None:
    at = _feature_maps({"view": "layer", "layer": "stage1.block2", "channel": "5"})
    assert at.number_input(key="fm_channel").value == 5
    at.button(key="fm_channel_looks").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.radio(key="fm_view").value == LOOKS_FOR
    assert at.radio(key="fm_lf_mode").value == "channel"
    assert at.selectbox(key="fm_lf_layer").value == "3"  # stage 1, block 2
    assert at.number_input(key="fm_lf_channel").value == 5
    # the address says so: a copied link opens the same view
    assert {k: at.query_params[k] for k in ("view", "lf", "layer", "channel")} == {
        "view": "looks",
        "lf": "channel",
        "layer": "stage1.block2",
        "channel": "5",
    }
