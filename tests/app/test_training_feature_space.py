"""AppTest of the feature spaces on the Training page: after a (tiny) run, before against after
training; in the transfer panel, pretrained against scratch. Two charts and two linear-probe
accuracies each, computed as a background job of this browser."""

from __future__ import annotations

import json
import time

from explorer.ui.state import escape_text
from tests.app.conftest import open_app_page

PAGE = "app_pages/training.py"


def _button(at, label: str):
    return next(b for b in at.button if b.label == label)


def _probes(at, *starts: str) -> dict[str, str]:
    """The shown linear-probe accuracy of the space whose title starts with each of ``starts``
    (labels are Markdown-escaped text), or {} until every one is shown."""
    shown = {m.label: m.value for m in at.metric if m.label.endswith(": linear-probe accuracy")}
    wanted = {
        t: next((v for label, v in shown.items() if label.startswith(escape_text(t, 200))), None)
        for t in starts
    }
    return wanted if all(wanted.values()) else {}


def _until(at, check, seconds: float = 240):
    """Rerun (as the page's polling would) until ``check(at)`` is truthy; its value."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert not at.exception, [e.value for e in at.exception]
        value = check(at)
        if value:
            return value
        time.sleep(0.5)
        at.run()
    raise AssertionError([e.value for e in at.error] + [i.value for i in at.info])


def _chart_titles(at) -> list[str]:
    return [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]


def _accuracy(value: str) -> int:
    return int(value.rstrip("%"))


def test_after_a_run_the_feature_space_before_and_after_training_is_shown() -> None:
    at = open_app_page(PAGE, timeout=120).run()
    at.number_input(key="tr_train").set_value(64)
    at.number_input(key="tr_val").set_value(16)
    at.number_input(key="tr_epochs").set_value(1)
    _button(at, "Start").click().run()
    before = "Before training (random initialisation, seed 0)"
    probes = _until(at, lambda a: _probes(a, before, "After training"))
    assert all(0 <= _accuracy(v) <= 100 for v in probes.values()), probes
    titles = _chart_titles(at)
    assert before in titles and "After training" in titles, titles
    # the choices are in the address, as the run's settings are
    assert at.query_params["fsproj"] == "pca"
    assert at.query_params["fslayer"] == at.selectbox(key="tr_fs_layer").value
    layer = at.selectbox(key="tr_fs_layer").options[0].split(" (")[0]  # label: "name (type)"
    at.selectbox(key="tr_fs_layer").set_value(layer).run()
    _until(at, lambda a: _probes(a, before, "After training"))
    assert at.query_params["fslayer"] == at.selectbox(key="tr_fs_layer").value
    # a hostile layer in the link: one notice, the layer kept
    at.query_params["fslayer"] = "<script>alert(1)</script>"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="tr_fs_layer").value == layer
    assert sum("This link asked for settings" in i.value for i in at.info) == 1


def test_the_transfer_panel_compares_pretrained_with_scratch_features() -> None:
    at = open_app_page(PAGE, timeout=120).run()
    assert at.session_state["xf_source"] == "bundled:resnet_small"
    at.button(key="xf_fs_go").click().run()
    scratch = "From scratch: random initialisation"
    probes = _until(at, lambda a: _probes(a, "Pretrained: resnet_small trained on shapes", scratch))
    pretrained = _accuracy(probes["Pretrained: resnet_small trained on shapes"])
    # the bundled ResNet learnt circles and squares among its six shapes
    assert pretrained >= 90 and pretrained > _accuracy(probes[scratch]), probes
    assert scratch in _chart_titles(at)
