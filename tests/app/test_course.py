"""The course path: every step is a link into a routed page with parameters that page accepts;
a page opened from the path shows previous / next; projector mode from the URL."""

from __future__ import annotations

from explorer.ui.course import STEPS
from explorer.ui.navigation import PAGES
from tests.app.conftest import open_app_page

COURSE_ORDER = [
    "image as numbers", "convolution", "stride and padding", "relu", "pooling", "global average pooling",
    "dense layer and loss", "training", "lenet-5", "alexnet", "vgg", "nin", "googlenet", "resnet",
    "transfer learning", "recurrent network", "vanishing gradients", "stacked and bidirectional", "gru",
    "lstm",
]  # fmt: skip


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
    assert len(links) == len(STEPS)
    assert links[8].proto.label == "9. LeNet-5 (1998)"
    assert "arch=lenet5" in links[8].proto.query_string and "step=9" in links[8].proto.query_string


def test_a_page_opened_from_the_path_shows_previous_and_next() -> None:
    at = open_app_page("app_pages/architectures.py")
    at.query_params["arch"] = "vgg16"
    at.query_params["step"] = "11"
    at.run()
    assert not at.exception
    labels = [e.proto.label for e in at.get("page_link")]
    assert "Previous: AlexNet (2012)" in labels and "Next: NiN (2013)" in labels
    assert any("Course step 11 of 20: VGG (2014)" in m.value for m in at.markdown)


def test_a_step_of_another_page_shows_no_bar() -> None:
    at = open_app_page("app_pages/architectures.py")
    at.query_params["step"] = "1"  # step 1 belongs to the basics page
    at.run()
    assert not [e for e in at.get("page_link") if e.proto.label.startswith("Next:")]


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
