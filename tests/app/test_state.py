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
        url.bind(
            "view",
            "d_view",
            default="Overview",
            valid=["Overview", "Layer detail"],
            url={"Overview": "overview", "Layer detail": "layer"},
        )
        st.radio("View", ["Overview", "Layer detail"], key="d_view")
        url.bind(
            "unit", ("d_row", "d_col"), default=(1, 1), valid=lambda u: max(u) < 8 and min(u) >= 0
        )
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
    assert at.query_params == {
        "arch": "resnet18",
        "channel": "0",
        "view": "overview",
        "unit": "1,1",
        "scale": "0.5",
        "erf": "1",
    }
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


# ---------------------------------------------------------------------- the pages, through app.py

from tests.app.conftest import open_app_page  # noqa: E402

FM = "app_pages/feature_maps.py"


def _open(page: str, **params: str) -> AppTest:
    at = open_app_page(page)
    at.query_params.update(params)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_feature_maps_link_opens_its_view() -> None:
    at = _open(
        FM,
        arch="lenet5",
        weights="random",
        sample="digit",
        view="layer",
        layer="relu_C3",
        channel="7",
        sort="max",
        scale="grey",
    )
    assert at.selectbox(key="fm_arch").value == "lenet5"
    assert at.radio(key="fm_kind").value == "random"
    assert at.selectbox(key="fm_sample").value == "digit"
    assert at.radio(key="fm_view").value == "Layer detail"
    assert at.selectbox(key="fm_layer").value == "4"  # module path of the paper's C3 (after ReLU)
    assert at.number_input(key="fm_channel").value == 7
    assert at.selectbox(key="fm_sort").value == "max"
    assert at.selectbox(key="fm_scale").value == "grey"
    assert not at.info  # nothing refused
    assert at.query_params["layer"] == "relu_C3"  # written back in the readable spelling
    # A raw module path works too, and is rewritten to the paper's name.
    at2 = _open(FM, arch="lenet5", weights="random", view="layer", layer="2")
    assert at2.selectbox(key="fm_layer").value == "2" and at2.query_params["layer"] == "S2"


def test_feature_maps_widget_changes_update_the_url() -> None:
    at = _open(FM, arch="lenet5", weights="random", view="layer")
    at.selectbox(key="fm_layer").set_value("5").run()
    at.number_input(key="fm_channel").set_value(11).run()
    assert at.query_params["layer"] == "S4" and at.query_params["channel"] == "11"
    at.radio(key="fm_view").set_value("Filters").run()
    assert at.query_params["view"] == "filters"
    assert "channel" not in at.query_params and "layer" not in at.query_params  # not on screen


def test_feature_maps_bad_link_falls_back_with_one_notice() -> None:
    at = _open(
        FM,
        arch="lenet5",
        weights="imagenet",
        view="layer",
        layer="conv9_9",
        channel="-4",
        sample="../../etc/passwd",
        sort="<img src=x>",
    )
    assert at.selectbox(key="fm_arch").value == "lenet5"
    assert at.radio(key="fm_kind").value != "imagenet"  # LeNet-5 has no ImageNet weights
    assert at.selectbox(key="fm_layer").value == "2"  # the default layer of LeNet-5
    notices = [i.value for i in at.info if "do not apply here" in i.value]
    assert len(notices) == 1
    for part in ("weights=imagenet", "layer=conv9\\_9", "channel=\\-4", "sample=", "sort="):
        assert part in notices[0], (part, notices[0])
    assert "sort=\\<img src\\=x\\>" in notices[0]  # every mark escaped: shown as text


def test_feature_maps_receptive_field_unit_from_the_link() -> None:
    at = _open(FM, arch="lenet5", weights="random", view="rf", layer="S2", unit="3,9")
    assert at.selectbox(key="fm_rf_layer").value == "2"
    assert (at.number_input(key="fm_rf_row").value, at.number_input(key="fm_rf_col").value) == (
        3,
        9,
    )
    assert any("Unit (3, 9)" in m.value for m in at.markdown)
    at3 = _open(FM, arch="lenet5", weights="random", view="rf", layer="S2", unit="99,0")
    assert (at3.number_input(key="fm_rf_row").value, at3.number_input(key="fm_rf_col").value) == (
        7,
        7,
    )
    assert any("unit=99\\,0" in i.value for i in at3.info)


def test_feature_maps_settings_survive_a_page_switch() -> None:
    at = _open(FM)
    at.selectbox(key="fm_arch").set_value("lenet5").run()
    at.radio(key="fm_kind").set_value("random").run()
    at.radio(key="fm_view").set_value("Layer detail").run()
    at.number_input(key="fm_channel").set_value(4).run()
    at.switch_page("app_pages/home.py")
    at.query_params.clear()  # navigation drops the previous page's parameters
    at.run()
    at.switch_page(FM)
    at.run()
    assert not at.exception
    assert at.selectbox(key="fm_arch").value == "lenet5"
    assert at.radio(key="fm_kind").value == "random"
    assert at.radio(key="fm_view").value == "Layer detail"
    assert at.number_input(key="fm_channel").value == 4
    assert at.query_params["arch"] == "lenet5"  # and the address says so again


def test_feature_maps_model_switch_picks_weights_and_a_suited_sample() -> None:
    at = _open(FM)
    at.selectbox(key="fm_arch").set_value("lenet5").run()
    assert at.radio(key="fm_kind").value == "bundled"  # trained digits beat random weights
    assert at.selectbox(key="fm_sample").value == "digit"
    from explorer.models.checkpoint import read_meta
    from explorer.models.weights import bundled_path

    for arch in ("resnet_small", "vgg_small"):  # the sample follows the bundled weights' dataset
        dataset = read_meta(bundled_path(arch).read_bytes()).dataset
        at.selectbox(key="fm_arch").set_value(arch).run()
        assert at.radio(key="fm_kind").value == "bundled"
        assert at.selectbox(key="fm_sample").value == (
            "digit" if dataset == "digits" else "shapes"
        ), arch


def test_recurrent_link_and_bad_values() -> None:
    at = _open(
        "app_pages/recurrent.py",
        cell="gru",
        layers="2",
        direction="bi",
        hidden="16",
        view="directions",
    )
    assert at.selectbox(key="rec_cell").value == "gru"
    assert at.slider(key="rec_layers").value == 2 and at.slider(key="rec_hidden").value == 16
    assert at.toggle(key="rec_bidir").value is True
    assert at.radio(key="rec_view").value == "Directions and layers"
    at.slider(key="rec_layers").set_value(3).run()
    assert at.query_params["layers"] == "3"
    bad = _open("app_pages/recurrent.py", cell="transformer", layers="40", direction="sideways")
    assert bad.selectbox(key="rec_cell").value == "lstm" and bad.slider(key="rec_layers").value == 1
    assert len([i for i in bad.info if "do not apply here" in i.value]) == 1


def test_training_link_and_survival() -> None:
    at = _open("app_pages/training.py", model="lenet5", dataset="shapes", lr="0.004", epochs="2")
    assert at.selectbox(key="tr_model").value == "lenet5"
    assert at.selectbox(key="tr_dataset").value == "shapes"
    assert (
        at.number_input(key="tr_lr").value == 0.004 and at.number_input(key="tr_epochs").value == 2
    )
    assert at.checkbox(key="tr_bf16").value is False  # no CUDA here: off
    at.number_input(key="tr_bs").set_value(48).run()
    assert at.query_params["batch"] == "48"
    at.switch_page("app_pages/home.py")
    at.query_params.clear()
    at.run()
    at.switch_page("app_pages/training.py")
    at.run()
    assert (
        at.selectbox(key="tr_model").value == "lenet5" and at.number_input(key="tr_bs").value == 48
    )


def test_architectures_link() -> None:
    at = _open("app_pages/architectures.py", arch="vgg16")
    assert at.selectbox(key="arch_key").value == "vgg16"
    assert {m.label: m.value for m in at.metric}["Parameters"] == "138.4 M"
    assert (
        _open("app_pages/architectures.py", arch="vgg99").selectbox(key="arch_key").value
        == "resnet18"
    )


def test_architectures_input_is_in_the_link() -> None:
    """The input an architecture is measured at travels: a full-size model's side (``size``), a
    compact model's grey / colour input (``input``); its own input stays off the link."""
    at = _open("app_pages/architectures.py", arch="vgg16", size="160")
    assert at.number_input(key="arch_size_vgg16").value == 160
    assert at.query_params["size"] in ("160", ["160"])
    at.number_input(key="arch_size_vgg16").set_value(224).run()
    assert "size" not in at.query_params  # the model's own 224 is the default: off the link
    at = _open("app_pages/architectures.py", arch="vgg_small", input="grey28")
    assert at.radio(key="arch_input_vgg_small").value == "28 x 28 grey"
    assert at.query_params["input"] in ("grey28", ["grey28"])
    bad = _open("app_pages/architectures.py", arch="vgg16", size="5000")
    assert bad.number_input(key="arch_size_vgg16").value == 224
    assert any("size=5000" in i.value for i in bad.info)


def test_compare_defaults_to_a_different_trained_model() -> None:
    at = _open(FM, arch="resnet_small", weights="bundled", view="compare")
    at.radio(key="fm_cmp_mode").set_value("This layer in two models").run()
    assert not at.exception
    second = at.selectbox(key="fm_cmp_arch").value
    assert second != "resnet_small"
    assert at.radio(key="fm_cmp_kind").value == "bundled"


def test_an_upload_stays_until_replaced_also_across_pages() -> None:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (90, 60), (20, 160, 90)).save(buf, "PNG")
    at = _open(FM)
    at.radio(key="fm_source").set_value("Upload").run()
    at.file_uploader(key="fm_upload").set_value(("green.png", buf.getvalue(), "image/png")).run()
    assert any("90 x 60 pixels" in c.value for c in at.caption)
    at.switch_page("app_pages/home.py")
    at.query_params.clear()
    at.run()
    at.switch_page(FM)
    at.run()
    assert not at.exception
    assert at.radio(key="fm_source").value == "Upload"
    assert any("90 x 60 pixels" in c.value for c in at.caption)  # the upload, not the sample
    assert any("green.png" in t.value for t in at.text)


# ---------------------------------------------------------------------- the copied link's address


def test_app_base_url_drops_the_page_path_once() -> None:
    from explorer.ui.view_link import app_base_url

    # st.context.url is the page's address as the browser shows it, without the query string.
    assert app_base_url("http://127.0.0.1:8501/architectures") == "http://127.0.0.1:8501"
    assert app_base_url("http://127.0.0.1:8501") == "http://127.0.0.1:8501"  # the home page
    assert app_base_url("http://127.0.0.1:8501/") == "http://127.0.0.1:8501"
    # Under a base path (server.baseUrlPath, or a proxy's prefix Streamlit does not know).
    assert app_base_url("https://uni.example/cnn/feature-maps", "cnn") == "https://uni.example/cnn"
    assert app_base_url("https://uni.example/cnn", "cnn") == "https://uni.example/cnn"
    assert app_base_url("https://uni.example/proxy/cnn/basics") == "https://uni.example/proxy/cnn"
    # A base path named like a page is the base path, not a page, on the home page.
    assert app_base_url("https://uni.example/course", "course") == "https://uni.example/course"
    assert (
        app_base_url("https://uni.example/course/course", "course") == "https://uni.example/course"
    )
    # A segment that is not a page's path (a prefix ending like one) stays.
    assert (
        app_base_url("https://uni.example/my-feature-maps") == "https://uni.example/my-feature-maps"
    )
    assert app_base_url(None) == "" and app_base_url("") == ""


def test_page_link_url_names_the_page_once(monkeypatch) -> None:
    from explorer.ui import view_link as state

    monkeypatch.setattr(state, "_context_url", lambda: "http://127.0.0.1:8501/architectures")
    link = state.page_link_url("architectures", {"arch": "vgg16", "projector": "1"})
    assert link == "http://127.0.0.1:8501/architectures?arch=vgg16&projector=1"
    # Another page's link from this one (the sidebar's link to Feature maps after training).
    assert (
        state.page_link_url("feature-maps", {"weights": "user"})
        == "http://127.0.0.1:8501/feature-maps?weights=user"
    )
    assert state.page_link_url("") == "http://127.0.0.1:8501/"  # the home page
    monkeypatch.setattr(state, "_context_url", lambda: "https://uni.example/cnn/basics")
    monkeypatch.setattr(
        state.st, "get_option", lambda name: "/cnn/" if name == "server.baseUrlPath" else None
    )
    assert state.page_link_url("basics", {"s": 2}) == "https://uni.example/cnn/basics?s=2"
    # No browser (AppTest, bare mode): a relative link, still naming the page once.
    monkeypatch.setattr(state, "_context_url", lambda: None)
    assert state.page_link_url("basics", {"s": 2}) == "/basics?s=2"


def test_recurrent_views_settings_are_in_the_link() -> None:
    """The recurrent views' own settings travel: layer (1-based) and direction, a quantity, the
    state of State norms, and Gradient flow's length, gradient target and scale."""
    rec = "app_pages/recurrent.py"
    at = _open(
        rec, layers="2", direction="bi", view="units", layer="1", dir="bwd", q="forget_gate_f_bad"
    )
    assert at.selectbox(key="rec_layer_2").value == 0 and at.radio(key="rec_direction").value == 1
    assert at.query_params["layer"] == "1" and at.query_params["dir"] == "bwd"
    assert [i.value for i in at.info if "This link asked" in i.value]  # a quantity it does not have
    at = _open(rec, view="units", units="1,5,7")
    assert (
        at.multiselect(key="rec_units_32").value == [1, 5, 7]
        and at.query_params["units"] == "1,5,7"
    )
    at = _open(rec, view="heatmaps")
    every = at.multiselect(key="rec_quantities_lstm").value
    at = _open(rec, view="heatmaps", shown=",".join(every[-2:]))
    assert at.multiselect(key="rec_quantities_lstm").value == every[-2:]
    assert len(at.get("plotly_chart")) == 2  # the two quantities chosen in the link
    at = _open(rec, cell="gru", view="norms", state="h")
    assert at.radio(key="rec_norm_q").value == "h"
    at = _open(rec, view="gradient", len="40", wrt="input", log="0")
    assert (
        at.slider(key="rec_grad_len").value == 40 and at.radio(key="rec_grad_wrt").value == "input"
    )
    assert at.toggle(key="rec_grad_log").value is False
    assert {"len": "40", "wrt": "input", "log": "0"}.items() <= dict(at.query_params).items()
    assert "layer" not in at.query_params  # Gradient flow has no layer picker: not in its link
    at.slider(key="rec_grad_len").set_value(60).run()
    assert at.query_params["len"] == "60"
