"""AppTest: course steps open their pages in the state that shows their claim (issue 22)."""

from __future__ import annotations

import json

from tests.app.conftest import open_app_page


def test_the_lstm_step_opens_the_gradient_view_with_the_forget_bias_curve() -> None:
    from explorer.ui.course import STEPS

    n, step = next((i + 1, s) for i, s in enumerate(STEPS) if s.title == "LSTM")
    at = open_app_page("app_pages/recurrent.py", timeout=180)
    for k, v in {**step.params, "step": str(n)}.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.toggle(key="rec_grad_fb").value is True
    names = [
        d.get("name")
        for c in at.get("plotly_chart")
        for d in json.loads(c.proto.spec).get("data", [])
    ]
    assert "LSTM, forget bias 1 (at start)" in names, names
    table = at.dataframe[-1].value.set_index("curve")
    assert table.loc["RNN at init", "regime"] == "vanishing"


def test_the_alexnet_step_opens_the_published_network_beside_torchvisions() -> None:
    from explorer.ui.course import STEPS

    n, step = next((i + 1, s) for i, s in enumerate(STEPS) if s.title.startswith("AlexNet"))
    at = open_app_page("app_pages/architectures.py", timeout=180)
    for k, v in {**step.params, "step": str(n)}.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="arch_key").value == "alexnet2012"
    assert any("As published beside torchvision's variant" in e.label for e in at.expander)


def test_the_course_page_lists_the_tips_and_the_experiment_link_opens_its_entry() -> None:
    at = open_app_page("app_pages/course.py").run()
    assert not at.exception, [e.value for e in at.exception]
    labels = [e.proto.label for e in at.get("page_link")]
    assert {"Normalise the images", "Use small filters", "Avoid too many dense layers"} <= set(
        labels
    )
    at = open_app_page("app_pages/experiments.py")
    at.query_params["exp"] = "normalisation"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.radio(key="ex_key").value == "normalisation"


def test_the_keras_panel_prints_the_course_code_then_a_labelled_modern_version() -> None:
    from explorer.probe.keras_twin import keras_code, keras_modern_code

    at = open_app_page("app_pages/architectures.py", timeout=180)
    at.query_params["arch"] = "keras_cnn"
    at.run()
    at.toggle(key="code_show_keras_cnn").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    codes = [c.value.strip() for c in at.code]
    assert keras_code().strip() in codes and keras_modern_code().strip() in codes
    assert codes.index(keras_code().strip()) < codes.index(keras_modern_code().strip())
    captions = [c.value for c in at.caption]
    assert "Keras (the course)" in captions and any("not the course's text" in c for c in captions)
