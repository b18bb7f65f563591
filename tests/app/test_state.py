"""URL state (explorer.ui.state) on a small script: arrival, validation, notice, write-back,
memory across a page that does not draw the widgets."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _script() -> None:
    import streamlit as st

    from explorer.ui.state import PageState

    url = PageState("demo")
    if not st.session_state.get("hide"):
        url.bind("arch", "d_arch", default="resnet18", valid=["resnet18", "vgg16", "lenet5"])
        st.selectbox("Architecture", ["resnet18", "vgg16", "lenet5"], key="d_arch")
        url.bind("channel", "d_ch", default=0, valid=range(64))
        st.number_input("Channel", 0, 63, key="d_ch")
        url.bind("view", "d_view", default="Overview", valid=["Overview", "Layer detail"],
                 url={"Overview": "overview", "Layer detail": "layer"})
        st.radio("View", ["Overview", "Layer detail"], key="d_view")
        url.bind("unit", ("d_row", "d_col"), default=(1, 1), valid=lambda u: max(u) < 8 and min(u) >= 0)
        st.number_input("Row", 0, 7, key="d_row")
        st.number_input("Col", 0, 7, key="d_col")
        url.bind("scale", "d_scale", default=0.5, valid=lambda v: 0 <= v <= 1)
        st.slider("Scale", 0.0, 1.0, key="d_scale")
        url.bind("erf", "d_erf", default=True)
        st.checkbox("Effective", key="d_erf")
    url.done()


def _app(**params: str) -> AppTest:
    at = AppTest.from_function(_script, default_timeout=30)
    at.query_params.update(params)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_defaults_are_written_to_the_url() -> None:
    at = _app()
    assert at.selectbox(key="d_arch").value == "resnet18"
    assert at.query_params == {"arch": "resnet18", "channel": "0", "view": "overview", "unit": "1,1",
                               "scale": "0.5", "erf": "1"}
    assert not at.info


def test_a_link_opens_its_state() -> None:
    at = _app(arch="vgg16", channel="17", view="layer", unit="3,4", scale="0.25", erf="0")
    assert at.selectbox(key="d_arch").value == "vgg16"
    assert at.number_input(key="d_ch").value == 17
    assert at.radio(key="d_view").value == "Layer detail"
    assert (at.number_input(key="d_row").value, at.number_input(key="d_col").value) == (3, 4)
    assert at.slider(key="d_scale").value == 0.25
    assert at.checkbox(key="d_erf").value is False
    assert not at.info
    # The long spelling of a value is accepted too.
    at2 = _app(view="Layer detail")
    assert at2.radio(key="d_view").value == "Layer detail" and at2.query_params["view"] == "layer"


def test_widget_changes_are_written_back_and_beat_the_old_url() -> None:
    at = _app(arch="vgg16")
    at.selectbox(key="d_arch").set_value("lenet5").run()
    at.number_input(key="d_ch").set_value(5).run()
    assert at.query_params["arch"] == "lenet5" and at.query_params["channel"] == "5"
    assert at.selectbox(key="d_arch").value == "lenet5"


def test_bad_and_hostile_values_fall_back_with_one_notice() -> None:
    hostile = "<script>alert(1)</script>[x](http://evil):red[y]"
    at = _app(arch=hostile, channel="999", view="nope", unit="1,x", scale="nan", erf="maybe")
    assert at.selectbox(key="d_arch").value == "resnet18"
    assert at.number_input(key="d_ch").value == 0
    assert at.radio(key="d_view").value == "Overview"
    assert at.slider(key="d_scale").value == 0.5
    assert len(at.info) == 1
    notice = at.info[0].value
    for name in ("arch=", "channel=999", "view=nope", "unit=", "scale=nan", "erf=maybe"):
        assert name in notice
    assert "<script>" not in notice and "](" not in notice  # escaped, shown as text
    assert at.query_params["arch"] == "resnet18" and at.query_params["channel"] == "0"
    at.number_input(key="d_ch").set_value(2).run()
    assert not at.info  # the notice is for the arrival only
    assert not at.exception


def test_values_survive_a_run_without_the_widgets() -> None:
    at = _app(arch="vgg16", channel="9")
    at.session_state["hide"] = True
    at.run()
    assert "arch" not in at.query_params  # not on screen: not in the link
    at.session_state["hide"] = False
    at.run()
    assert at.selectbox(key="d_arch").value == "vgg16"
    assert at.number_input(key="d_ch").value == 9
    assert at.query_params["arch"] == "vgg16"


def test_escape_text() -> None:
    from explorer.ui.state import escape_text

    assert escape_text("a*b_[c](d)") == r"a\*b\_\[c\]\(d\)"
    assert escape_text("x" * 100) == "x" * 39 + "\u2026"


def _identity_script() -> None:
    import streamlit as st

    from explorer.ui.identity import browser_id, ensure_cookie

    ensure_cookie()
    st.text(browser_id())


def test_browser_id_is_stable_in_a_session_and_never_in_the_url() -> None:
    import re

    at = AppTest.from_function(_identity_script, default_timeout=30)
    at.run()
    first = at.text[0].value
    assert re.fullmatch(r"b[0-9a-f]{32}", first)
    at.run()
    assert at.text[0].value == first and not at.query_params and not at.exception
    other = AppTest.from_function(_identity_script, default_timeout=30)
    other.run()
    assert other.text[0].value != first  # another browser, another id
