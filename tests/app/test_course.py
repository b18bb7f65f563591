"""The course path: every step is a link into a routed page with parameters that page accepts;
a page opened from the path shows previous / next; projector mode from the URL."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from explorer.ui.course import STEPS
from explorer.ui.navigation import PAGES
from tests.app.conftest import open_app_page

NOTICE = "This link asked for settings that do not apply here"

COURSE_ORDER = [
    "image as numbers",
    "convolution",
    "stride and padding",
    "relu",
    "pooling",
    "global average pooling",
    "dense layer and loss",
    "training",
    "lenet-5",
    "alexnet",
    "vgg",
    "nin",
    "googlenet",
    "resnet",
    "transfer learning",
    "hierarchy of features",
    "recurrent network",
    "vanishing gradients",
    "stacked and bidirectional",
    "gru",
    "lstm",
]


def test_steps_follow_the_course_order_and_point_at_routed_pages() -> None:
    assert len(STEPS) == len(COURSE_ORDER)
    for step, words in zip(STEPS, COURSE_ORDER, strict=True):
        assert words in step.title.lower(), (step.title, words)
        assert step.page in {p.url_path for p in PAGES}
        assert len(step.text) > 80  # a paragraph, not a label


def test_course_page_lists_every_step_as_a_link() -> None:
    at = open_app_page("app_pages/course.py").run()
    assert not at.exception
    links = [e for e in at.get("page_link")]
    from explorer.ui.tips import TIPS

    assert len(links) == len(STEPS) + len(TIPS)  # the steps, then the outline's tips
    assert links[8].proto.label == "9. LeNet-5 (1998)"
    assert "arch=lenet5" in links[8].proto.query_string and "step=9" in links[8].proto.query_string


def test_a_page_opened_from_the_path_shows_previous_and_next() -> None:
    at = open_app_page("app_pages/architectures.py")
    at.query_params["arch"] = "vgg16"
    at.query_params["step"] = "11"
    at.run()
    assert not at.exception
    links = {e.proto.label: e.proto.query_string for e in at.get("page_link")}
    assert "arch=alexnet" in links["Previous"] and "step=10" in links["Previous"]
    assert "arch=nin" in links["Next"] and "step=12" in links["Next"]
    captions = [c.value for c in at.caption]
    assert (
        "10. AlexNet (2012)" in captions and "12. NiN (2013)" in captions
    )  # the whole title, on its own line
    assert any("Course step 11 of 21: VGG (2014)" in m.value for m in at.markdown)


def test_a_step_of_another_page_shows_no_bar() -> None:
    at = open_app_page("app_pages/architectures.py")
    at.query_params["step"] = "1"  # step 1 belongs to the basics page
    at.run()
    assert not [e for e in at.get("page_link") if e.proto.label == "Next"]


def test_projector_mode_from_the_url() -> None:
    at = open_app_page("app_pages/course.py")
    at.query_params["projector"] = "1"
    at.run()
    assert at.toggle(key="projector").value is True
    at.toggle(key="projector").set_value(False).run()
    assert "projector" not in at.query_params  # off is the default: not in links


def test_home_progression_cards_link_to_their_architecture() -> None:
    at = open_app_page("app_pages/home.py").run()
    assert not at.exception
    links = {e.proto.label: e.proto.query_string for e in at.get("page_link")}
    assert any("LeNet" in label and "arch=lenet5" in q for label, q in links.items())
    assert any("ResNet" in label and "arch=resnet" in q for label, q in links.items())


def _open_step(n: int) -> AppTest:
    """Course step n as a lecturer's link opens it: its page, its parameters and `step=n`."""
    step = STEPS[n - 1]
    at = open_app_page(next(p.file for p in PAGES if p.url_path == step.page))
    at.query_params.update({**step.params, "step": str(n)})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not [i.value for i in at.info if NOTICE in i.value]
    assert any(f"Course step {n} of {len(STEPS)}: {step.title}" in m.value for m in at.markdown)
    return at


@pytest.mark.parametrize("n", range(1, 8))
def test_each_basics_step_opens_its_own_topic_first(n: int) -> None:
    at = _open_step(n)
    assert STEPS[n - 1].page == "basics"
    assert at.subheader[0].value == f"{n}. {STEPS[n - 1].title}"  # numbered as the course
    assert len(at.subheader) == 1  # the topic alone: the others are behind the picker
    assert at.radio(key="bs_topic").value == STEPS[n - 1].params["topic"]


def test_step_3_sets_the_stride_and_padding_of_the_step_view() -> None:
    at = _open_step(3)
    assert (
        at.number_input(key="bs_step_stride").value,
        at.number_input(key="bs_step_padding").value,
    ) == (2, 1)
    # 8 x 8 input, 3 x 3 filter, P = 1, S = 2: floor((8 - 3 + 2) / 2) + 1 = 4, a 4 x 4 map of 16 positions
    assert any("**Position 1 of 16**" in m.value for m in at.markdown)
    assert any(
        r"\frac{8 - 3 + 2 \cdot 1}{2}" in lt.value and lt.value.strip("$\n ").endswith("= 4")
        for lt in at.latex
    )
    at.button(key="bs_last").click().run()
    assert any("-> output[3, 3]" in c.value for c in at.code)


def test_step_15_compares_a_trained_and_a_random_model_offline(offline_torch_home: Path) -> None:
    at = _open_step(15)  # no ImageNet weights on this machine: bundled ones, and no notice
    assert at.radio(key="fm_view").value == "Compare"
    assert at.radio(key="fm_cmp_mode").value == "This layer in two models"
    assert (at.selectbox(key="fm_arch").value, at.radio(key="fm_kind").value) == (
        "resnet_small",
        "bundled",
    )
    assert (at.selectbox(key="fm_cmp_arch").value, at.radio(key="fm_cmp_kind").value) == (
        "resnet_small",
        "random",
    )
    assert (
        at.success[0].value.startswith("Weights in use: ")
        and "bundled weights" in at.success[0].value
    )
    texts = [m.value for m in at.markdown]
    assert any("bundled weights" in t for t in texts) and any(
        "random initialisation" in t for t in texts
    )
    assert not at.warning  # nothing fell back


def test_projector_summary_names_the_weights_in_use_when_imagenet_is_missing(
    offline_torch_home: Path,
) -> None:
    at = open_app_page("app_pages/feature_maps.py")
    at.query_params.update(arch="resnet18", weights="imagenet", projector="1")
    at.run()
    assert not at.exception
    summary = at.expander[0].label
    assert "Weights: Random initialisation" in summary and "ImageNet" not in summary
    notice = [
        w.value for w in at.warning if w.value.startswith("ImageNet weights are not available here")
    ]
    assert len(notice) == 1 and "random initialisation" in notice[0]
