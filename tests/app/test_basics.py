"""AppTest of the Convolution basics page: every control, the step view, URL state."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from streamlit.testing.v1 import AppTest

from explorer.basics import sigmoid_binary_cross_entropy

PAGE = str(Path(__file__).resolve().parents[2] / "app_pages" / "basics.py")


def _page(**params: str) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=90)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    _ok(at)
    return at


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _step_text(at: AppTest) -> str:
    return next(c.value for c in at.code if c.value.startswith("sum = "))


def _check_step_sum(text: str) -> tuple[int, int]:
    """The text's products add up to its sum, and 'sum + bias' equals torch's output cell."""
    m = re.search(r"sum \+ bias = (\S+) \+ (\S+) = (\S+)  -> output\[(\d+), (\d+)\] = (\S+)", text)
    assert m, text
    total, bias, with_bias, r, c, cell = m.groups()
    assert float(total) + float(bias) == pytest.approx(float(with_bias), abs=1e-3)
    assert float(with_bias) == pytest.approx(float(cell), abs=1e-4)
    return int(r), int(c)


def _param(at: AppTest, name: str) -> str:
    value = at.query_params[name]
    return value[0] if isinstance(value, list) else value


def test_default_page_renders_and_writes_the_url() -> None:
    at = _page()
    assert at.title[0].value == "Convolution basics"
    assert [h.value for h in at.subheader] == ["1. The image as numbers"]  # the first topic, alone
    assert not at.error
    assert _param(at, "topic") == "numbers"
    at = _page(topic="conv")
    assert _param(at, "kernel") == "-1,0,1,-2,0,2,-1,0,1"
    assert _check_step_sum(_step_text(at)) == (0, 0)
    at = _page(topic="stride")
    for name in ("n", "f", "p", "s", "stride", "padding", "pos"):
        assert name in at.query_params


def test_step_controls_move_the_window() -> None:
    at = _page(topic="conv")
    for expected in [(0, 1), (0, 2), (0, 3)]:
        at.button(key="bs_forward").click().run()
        _ok(at)
        assert _check_step_sum(_step_text(at)) == expected
    at.button(key="bs_back").click().run()
    assert _check_step_sum(_step_text(at)) == (0, 2)
    at.button(key="bs_last").click().run()
    assert _check_step_sum(_step_text(at)) == (7, 7)  # 8 x 8 input, 3 x 3 filter, padding 1
    assert at.button(key="bs_forward").disabled
    at.button(key="bs_first").click().run()
    assert _check_step_sum(_step_text(at)) == (0, 0)
    at.button(key="bs_play").click().run()
    _ok(at)
    assert at.session_state["bs_playing"] is True
    assert at.button(key="bs_play").label == "Pause"


@pytest.mark.parametrize(
    ("key", "value", "last"),
    [
        ("bs_step_stride", 2, (3, 3)),
        ("bs_step_padding", 0, (5, 5)),
        ("bs_step_dilation", 2, (5, 5)),
        ("bs_step_side", 12, (11, 11)),
    ],
)
def test_stride_padding_dilation_and_size_change_the_output(
    key: str, value: int, last: tuple[int, int]
) -> None:
    at = _page(topic="conv")
    at.number_input(key=key).set_value(value).run()
    _ok(at)
    at.button(key="bs_last").click().run()
    assert _check_step_sum(_step_text(at)) == last


def test_bias_and_typed_numbers() -> None:
    at = _page(topic="conv")
    at.number_input(key="bs_step_bias").set_value(0.5).run()
    assert "+ 0.5 =" in _step_text(at)
    _check_step_sum(_step_text(at))
    at.radio(key="bs_step_source").set_value("typed numbers").run()
    _ok(at)
    # the typed default is a vertical edge (0 left, 1 right); Sobel x at the edge gives 4 + bias
    for _ in range(3):
        at.button(key="bs_forward").click().run()
    text = _step_text(at)
    assert _check_step_sum(text) == (0, 3)
    assert re.search(
        r"-> output\[0, 3\] = 3\.5000", text
    )  # rows 0-1 (row -1 is padding): 1*2 + 1*1, + 0.5


def test_kernel_from_the_url_and_a_preset() -> None:
    at = _page(topic="conv", kernel="0,0,0,0,1,0,0,0,0")
    assert "0*0 + 0*0 + 0*0 + 0*0 + " in _step_text(at)
    at.selectbox(key="bs_kernel_preset").set_value("outline (Laplacian)").run()
    _ok(at)
    assert at.query_params["kernel"] in (["0,1,0,1,-4,1,0,1,0"], "0,1,0,1,-4,1,0,1,0")
    bad = _page(topic="conv", kernel="1,2,nope")
    assert any(
        "kernel=1,2,nope".replace(",", "\\,") in i.value or "kernel" in i.value for i in bad.info
    )


def test_free_numbers_presets_and_the_one_message() -> None:
    at = _page(topic="stride")
    at.selectbox(key="bs_preset").set_value("AlexNet conv1").run()
    _ok(at)
    assert any(lt.value.strip("$\n ").endswith("= 55") for lt in at.latex)
    assert at.query_params["n"] in (["227"], "227")
    at.number_input(key="bs_n").set_value(2).run()
    at.number_input(key="bs_f").set_value(5).run()
    at.number_input(key="bs_s").set_value(1).run()
    errors = [e.value for e in at.error]
    assert errors == [
        "The filter must fit inside the padded input: N + 2P = 2 + 0 = 2 is smaller than the "
        "filter's span 5, so the output side floor((N + 2P - F) / S) + 1 would be <= 0. Use a "
        "smaller filter or more padding."
    ]
    at.number_input(key="bs_n").set_value(64).run()
    at.selectbox(key="bs_mode").set_value("same").run()
    at.number_input(key="bs_f").set_value(3).run()
    assert any(lt.value.strip("$\n ").endswith("= 64") for lt in at.latex)
    at.number_input(key="bs_s").set_value(2).run()
    assert any("torch refuses it for strided" in e.value for e in at.error)
    at.selectbox(key="bs_mode").set_value("valid").run()
    at.number_input(key="bs_d").set_value(2).run()
    assert any("F_eff = d(F - 1) + 1 = 5" in md.value for md in at.markdown)


def test_the_course_links_choose_the_sample() -> None:
    from explorer.data.samples import list_samples

    other = next(s.name for s in list_samples() if s.name != "cat")
    at = _page(sample=other, step="2")
    assert at.session_state["bs_image"] == other
    assert at.query_params["step"] in (["2"], "2")  # the course step is kept


def test_url_sets_the_free_numbers_and_refuses_bad_values() -> None:
    at = _page(topic="stride", n="224", f="3", p="1", s="1")
    assert any(lt.value.strip("$\n ").endswith("= 224") for lt in at.latex)
    at = _page(topic="stride", n="9999")
    assert at.session_state["bs_n"] == 32
    assert any("n=9999" in i.value for i in at.info)


def test_channels_pooling_and_heads() -> None:
    at = _page(topic="channels")
    at.slider(key="bs_filters").set_value(4).run()
    _ok(at)
    assert any("3 x 3 x 3 x 4 + 4 = **112**" in md.value for md in at.markdown)
    at.selectbox(key="bs_shown_filter").set_value(3).run()
    _ok(at)
    at.radio(key="bs_topic").set_value("pool").run()
    _ok(at)
    assert _param(at, "filters") == "4"  # kept across topics: the four maps are pooled
    at.slider(key="bs_pool_size").set_value(3).run()
    at.slider(key="bs_pool_stride").set_value(2).run()
    assert any(
        r"\lfloor 14.5 \rfloor + 1 = 15" in lt.value for lt in at.latex
    )  # (32 - 3) / 2 hides .5
    assert F.max_pool2d(torch.zeros(1, 1, 32, 32), 3, 2).shape[-1] == 15
    at.slider(key="bs_pool_size").set_value(2).run()
    at.slider(key="bs_pool_pad").set_value(2).run()
    assert any("at most half the window" in e.value for e in at.error)
    at.radio(key="bs_topic").set_value("loss").run()
    at.slider(key="bs_logit").set_value(-1.0).run()
    at.radio(key="bs_label").set_value(0).run()
    p, loss = sigmoid_binary_cross_entropy(-1.0, 0)
    assert any(
        f"= **{p:.3f}**" in md.value and f"= **{loss:.3f}**" in md.value for md in at.markdown
    )
    at.slider(key="bs_logit_dog").set_value(4.0).run()
    at.radio(key="bs_true_class").set_value("dog").run()
    _ok(at)
    assert any("-log p(dog)" in md.value for md in at.markdown)
    assert not any("class scores" in md.value for md in at.markdown)


def test_feature_maps_first_layer_unit_is_written_out_as_a_sum() -> None:
    """On Feature maps, a unit of the first convolution's layer shows kernel x patch = value."""
    at = AppTest.from_file(str(Path(PAGE).with_name("feature_maps.py")), default_timeout=120)
    at.query_params.update(view="rf", layer="relu1", unit="3,4")
    at.run()
    _ok(at)
    text = next(c.value for c in at.code if "kernel x patch" in c.value)
    assert "unit (3, 4)" in text
    m = re.search(r"total = (\S+)\s+torch's conv2d: (\S+)", text)
    assert m and float(m.group(1)) == pytest.approx(float(m.group(2)), abs=1e-4)
    sums = [float(v) for v in re.findall(r"sum\(w \* x\) = (\S+)", text)]
    bias = float(re.search(r"bias\s+(\S+)", text).group(1))
    assert sum(sums) + bias == pytest.approx(float(m.group(1)), abs=2e-4)


def test_image_and_size_controls() -> None:
    at = _page()
    from explorer.data.samples import list_samples

    other = next(s.name for s in list_samples() if s.name != at.selectbox(key="bs_image").value)
    at.selectbox(key="bs_image").set_value(other).run()
    _ok(at)
    assert at.session_state["bs_image"] == other
    at.select_slider(key="bs_side").set_value(32).run()
    _ok(at)
    assert any("resized to **32 x 32**" in md.value for md in at.markdown)
    at.radio(key="bs_topic").set_value("conv").run()
    _ok(at)
    assert any(
        r"\frac{32 - 3 + 2 \cdot 1}{1}" in lt.value for lt in at.latex
    )  # the whole-image formula


def test_kernel_size_and_a_step_view_that_does_not_fit() -> None:
    at = _page(topic="conv")
    at.selectbox(key="bs_kernel_size").set_value(5).run()
    _ok(at)
    kernel = at.query_params["kernel"]
    kernel = kernel[0] if isinstance(kernel, list) else kernel
    assert len(kernel.split(",")) == 25
    text = _step_text(at)
    assert text.count("*") == 25
    _check_step_sum(text)
    at.selectbox(key="bs_kernel_size").set_value(7).run()
    at.number_input(key="bs_step_dilation").set_value(2).run()
    at.number_input(key="bs_step_padding").set_value(0).run()
    _ok(at)
    assert any(e.value.startswith("Step view: The filter must fit") for e in at.error)
    assert any(
        r"\frac{48 - 13 + 2 \cdot 0}{1}" in lt.value for lt in at.latex
    )  # the whole image still works
    at.number_input(key="bs_step_dilation").set_value(1).run()
    assert not at.error
    assert _step_text(at).count("*") == 49


@pytest.mark.parametrize(
    ("page", "key", "files"),
    [
        ("architectures", "code_show_resnet18", ["Download resnet18.py"]),
        (
            "training",
            "code_show_keras_cnn",
            ["Download keras_cnn_keras.py", "Download keras_cnn_torch.py", "Download keras_cnn.py"],
        ),
    ],
)
def test_code_panel_shows_runnable_code_with_copy_and_download(
    page: str, key: str, files: list[str]
) -> None:
    from explorer.probe.codegen import pytorch_code

    at = AppTest.from_file(str(Path(PAGE).with_name(f"{page}.py")), default_timeout=120)
    at.run()
    _ok(at)
    before = [c.proto.label for c in at.get("download_button")]
    at.toggle(key=key).set_value(True).run()
    _ok(at)
    assert [c.proto.label for c in at.get("download_button")] == before + files
    generated = pytorch_code(key.removeprefix("code_show_")).code
    assert any(
        c.value.strip() == generated.strip() for c in at.code
    )  # st.code carries the copy button


def test_the_step_view_is_an_address_stride_padding_and_position() -> None:
    at = _page(topic="conv", stride="2", padding="0", pos="5")
    assert at.session_state["bs_step_stride"] == 2 and at.session_state["bs_step_padding"] == 0
    assert any(
        "**Position 5 of 9**" in md.value for md in at.markdown
    )  # 8 x 8, F = 3, P = 0, S = 2: 3 x 3
    assert _check_step_sum(_step_text(at)) == (1, 1)
    at.button(key="bs_forward").click().run()
    assert _param(at, "pos") == "6"
    at.radio(key="bs_topic").set_value("relu").run()  # another topic and back: the window stays
    at.radio(key="bs_topic").set_value("stride").run()
    _ok(at)
    assert at.number_input(key="bs_step_stride").value == 2
    assert _check_step_sum(_step_text(at)) == (1, 2)
    bad = _page(topic="conv", pos="99")
    assert any("pos=99" in i.value for i in bad.info)
    assert _check_step_sum(_step_text(bad)) == (0, 0)


def test_relu_topic_counts_the_zeroed_cells_as_torch_does() -> None:
    from explorer.basics import KERNELS, to_grey
    from explorer.data.samples import load_sample

    at = _page(topic="relu", stride="1", padding="1")
    grey = to_grey(load_sample("cat").tensor, 48).to(torch.float64)
    sobel = torch.tensor(KERNELS["vertical edges (Sobel x)"].weights, dtype=torch.float64)
    out = torch.relu(F.conv2d(grey[None, None], sobel[None, None], padding=1))
    share = float((out == 0).double().mean())
    assert any(f"sets **{share:.0%}**" in md.value for md in at.markdown), [
        md.value for md in at.markdown
    ]
    assert [h.value for h in at.subheader] == ["4. ReLU"]


TOPIC_PARAMS = (
    "size",
    "stride",
    "padding",
    "dilation",
    "bias",
    "grid",
    "input",
    "pos",
    "kernel",
    "n",
    "f",
    "pad",
    "p",
    "s",
    "d",
    "filters",
    "shown",
    "window",
    "pstride",
    "ppad",
    "z",
    "y",
    "z_cat",
    "z_dog",
    "z_car",
    "true",
)


@pytest.mark.parametrize(
    "value", ["", "nan", "1e400", "\u0663", "9" * 300, "<script>alert(1)</script>", "-1"]
)
def test_every_topic_refuses_hostile_values_with_one_notice(value: str) -> None:
    from explorer.ui.basics_sections import TOPICS, topic_title

    for topic in TOPICS:
        at = _page(topic=topic, **dict.fromkeys(TOPIC_PARAMS, value))
        notices = [i.value for i in at.info if "do not apply here" in i.value]
        assert len(notices) == 1, (topic, value, notices)
        assert at.subheader[0].value == topic_title(topic)  # the topic is still drawn, on defaults
        assert all(len(_param(at, name)) <= 200 for name in at.query_params), (topic, value)
    at = _page(topic="<b>x</b>")
    assert [h.value for h in at.subheader] == ["1. The image as numbers"]
    assert any("topic=" in i.value for i in at.info)
