"""AppTest of the feature-map page: sample, upload, bad uploads, every view, bounded widgets,
checkpoint upload (strict), grey models."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from explorer.ui.feature_views import FEATURE_VIEWS

PAGE = str(Path(__file__).resolve().parents[2] / "app_pages" / "feature_maps.py")


def _page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=90)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _png(im: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt)
    return buf.getvalue()


def _photo() -> bytes:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:120, 0:160]
    a = np.stack([xx * 1.5, yy * 2.0, (xx + yy) % 64 * 4], axis=-1) + rng.normal(
        0, 8, (120, 160, 3)
    )
    return _png(Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)), "JPEG")


def _upload(at: AppTest, name: str, data: bytes, mime: str = "image/png") -> AppTest:
    at.radio(key="fm_source").set_value("Upload").run()
    at.file_uploader(key="fm_upload").set_value((name, data, mime)).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


def _plain(markdown: str) -> str:
    """The text a reader sees in a message whose user strings were escaped (backslashes, and the
    invisible word joiner that stops autolinks)."""
    return markdown.replace("\\", "").replace("\u2060", "")


@pytest.fixture(autouse=True)
def _no_imagenet_weights(offline_torch_home: Path) -> Path:
    """Every test here runs as on a fresh offline machine (an empty TORCH_HOME): which weights
    the page picks must not depend on what this machine happens to have downloaded."""
    return offline_torch_home


def test_default_sample_renders_every_view() -> None:
    from explorer.models import get_spec
    from explorer.models.checkpoint import read_meta
    from explorer.models.weights import bundled_path

    at = _page()
    assert at.title[0].value == "Feature maps"
    # Offline, the default is the first preferred compact model with bundled weights, with its
    # dataset and test accuracy as its metadata records them.
    assert (at.selectbox(key="fm_arch").value, at.radio(key="fm_kind").value) == (
        "resnet_small",
        "bundled",
    )
    meta = read_meta(bundled_path("resnet_small").read_bytes())
    assert _plain(at.success[0].value) == (
        f"Weights in use: {get_spec('resnet_small').title} - bundled "
        f"weights (trained on {meta.dataset}, test accuracy "
        f"{meta.metrics['test_accuracy']:.1%})"
    )
    assert len(at.button) >= 5  # one "Open" per overview layer
    assert at.radio(key="fm_view").options == [v.label for v in FEATURE_VIEWS.values()]
    for name, view in FEATURE_VIEWS.items():
        at.radio(key="fm_view").set_value(view.label).run()
        assert not at.exception, (name, [e.value for e in at.exception])
        assert not at.error, (name, [e.value for e in at.error])
        assert at.query_params["view"] == name  # the view's name is its address
        # The URL holds the page's own settings plus only what the view says it binds (some
        # only in some states: Compare's second model in its second mode).
        assert set(at.query_params) - {"arch", "weights", "sample", "view"} <= {
            *view.url_params,
            *view.sometimes,
        }, name
        assert set(at.query_params) >= set(view.url_params), name


def test_open_button_goes_to_that_layers_detail_and_indices_are_bounded() -> None:
    at = _page()
    at.selectbox(key="fm_arch").set_value("resnet18").run()
    at.radio(key="fm_kind").set_value("random").run()
    at.button(key="fm_open_2").click().run()
    assert at.radio(key="fm_view").value == "Layer detail"
    layer = at.selectbox(key="fm_layer")
    assert layer.value == "layer1.0"  # ResNet-18: relu, maxpool, layer1.0, ...
    channel = at.number_input(key="fm_channel")
    assert (channel.min, channel.max) == (0, 63)  # layer1.0 has 64 channels
    # Sorting and colour changes only slice the cached result.
    at.selectbox(key="fm_sort").set_value("variance").run()
    at.selectbox(key="fm_scale").set_value("grey").run()
    assert not at.exception
    # Pick the last channel of a 512-channel layer, then switch to a 64-channel layer.
    at.selectbox(key="fm_layer").set_value("layer4.1").run()
    assert at.number_input(key="fm_channel").max == 511
    at.number_input(key="fm_channel").set_value(511).run()
    at.selectbox(key="fm_layer").set_value("relu").run()
    ch = at.number_input(key="fm_channel")
    assert ch.max == 63 and 0 <= ch.value <= 63
    assert not at.exception


def test_uploaded_photo_is_used() -> None:
    at = _upload(_page(), "photo.jpg", _photo(), "image/jpeg")
    assert not at.error
    assert "JPEG image, 160 x 120 pixels" in _captions(at)
    assert "Showing the sample" not in "\n".join(i.value for i in at.info)


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("notes.png", b"this is my essay, not a picture", "not an image we can read"),
        ("empty.png", b"", "empty"),
        (
            "cut.png",
            _png(Image.fromarray(np.random.default_rng(1).integers(0, 256, (64, 64, 3), np.uint8)))[
                :600
            ],
            "damaged or incomplete",
        ),
    ],
)
def test_bad_upload_gives_one_message_and_the_page_keeps_working(
    name: str, data: bytes, words: str
) -> None:
    at = _upload(_page(), name, data)
    assert len(at.error) == 1 and words in at.error[0].value
    assert "Showing the sample" in at.info[0].value  # the rest of the page still works
    at.radio(key="fm_view").set_value("Layer detail").run()
    assert not at.exception and len(at.error) == 1


def test_tiny_and_huge_images_are_resized_and_the_page_says_so() -> None:
    at = _upload(_page(), "dot.png", _png(Image.new("RGB", (1, 1), (200, 30, 30))))
    assert not at.error
    at.radio(key="fm_view").set_value("Overview").run()
    steps = "\n".join(e.value for e in at.markdown)
    assert "enlarged" in steps and "1 x 1" in steps
    big = _png(Image.new("RGB", (8000, 6000), (40, 90, 160)), "JPEG")
    at.file_uploader(key="fm_upload").set_value(("big.jpg", big, "image/jpeg")).run()
    assert not at.exception and not at.error
    assert "resized from 8000 x 6000 to 2048 x 1536" in _captions(at)


def test_grey_model_gets_one_channel_and_says_so() -> None:
    at = _page()
    at.selectbox(key="fm_arch").set_value("lenet5").run()
    assert at.selectbox(key="fm_sample").value == "digit"  # a sample that suits the model
    at.radio(key="fm_kind").set_value("random").run()
    at.selectbox(key="fm_sample").set_value("cat").run()
    assert not at.exception
    assert "converted to 1 channel" in _captions(at)
    steps = "\n".join(e.value for e in at.markdown)
    assert "1 x 1 x 32 x 32" in steps  # N x C x H x W
    at.radio(key="fm_view").set_value("Predictions").run()
    assert "random" in at.info[0].value and not at.exception


def test_checkpoint_upload_is_strict() -> None:
    import torch
    from safetensors.torch import save

    from explorer.models import get_spec

    at = _page()
    at.selectbox(key="fm_arch").set_value("lenet5").run()
    at.radio(key="fm_kind").set_value("upload").run()
    assert "Upload a .safetensors checkpoint" in _plain(at.warning[0].value)
    # A LeNet-5 with 5 classes does not fit the catalog's 10-class LeNet-5.
    wrong = {
        k: v.contiguous() for k, v in get_spec("lenet5").build(num_classes=5).state_dict().items()
    }
    at.file_uploader(key="fm_ckpt").set_value(
        ("wrong.safetensors", save(wrong), "application/octet-stream")
    ).run()
    msg = _plain(at.warning[0].value)
    assert "does not fit this architecture" in msg and "(5, 84)" in msg and "(10, 84)" in msg
    assert "random initialisation" in at.success[0].value  # labelled fallback
    torch.manual_seed(3)
    right = {k: v.contiguous() for k, v in get_spec("lenet5").build().state_dict().items()}
    at.file_uploader(key="fm_ckpt").set_value(
        ("ok.safetensors", save(right), "application/octet-stream")
    ).run()
    assert not at.warning and "uploaded checkpoint" in at.success[0].value
    assert not at.exception


def test_hostile_checkpoint_metadata_gives_one_message_shown_as_text() -> None:
    import json

    import torch
    from safetensors.torch import save

    at = _page()
    at.selectbox(key="fm_arch").set_value("keras_cnn").run()
    at.radio(key="fm_kind").set_value("upload").run()
    for meta, words in (
        (
            {"arch": "keras_cnn", "build": {"image_size": 700}},
            "must be a whole number from 8 to 256, not 700",
        ),
        (
            {"arch": "**bold** [link](http://example.com)"},
            "saved for '**bold** [link](http://example.com)'",
        ),
        ([1], "metadata is a JSON list"),
    ):
        data = save({"x": torch.zeros(1)}, metadata={"explorer": json.dumps(meta)})
        at.file_uploader(key="fm_ckpt").set_value(
            ("evil.safetensors", data, "application/octet-stream")
        ).run()
        assert not at.exception, [e.value for e in at.exception]
        assert len(at.warning) == 1 and words in _plain(at.warning[0].value)
        assert (
            "**" not in at.warning[0].value and "](" not in at.warning[0].value
        )  # escaped, not Markdown
        assert "random initialisation" in at.success[0].value


def test_widget_changes_do_not_rerun_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    from explorer.probe import results
    from explorer.ui import image_results

    calls: list[str] = []
    real_full, real_overview = results.compute_feature_maps, results.compute_overview

    def counting_full(model, x, *args, **kwargs):
        calls.append("full")
        return real_full(model, x, *args, **kwargs)

    def counting_overview(model, x, *args, **kwargs):
        calls.append("overview")
        return real_overview(model, x, *args, **kwargs)

    monkeypatch.setattr(results, "compute_feature_maps", counting_full)
    monkeypatch.setattr(results, "compute_overview", counting_overview)
    image_results._shared_result.clear()  # sample results are shared process-wide: start cold
    at = _page()
    assert calls == ["overview"]  # the overview needs one summarising pass, no full capture
    at.radio(key="fm_view").set_value("Layer detail").run()
    at.selectbox(key="fm_sort").set_value("max").run()
    at.selectbox(key="fm_scale").set_value("magma").run()
    at.number_input(key="fm_channel").set_value(1).run()
    at.radio(key="fm_view").set_value("Overview").run()
    at.radio(key="fm_view").set_value("Filters").run()
    assert (
        calls == ["overview", "full"] and not at.exception
    )  # the full maps once, when first shown
    at.radio(key="fm_source").set_value("Sample").run()
    at.selectbox(key="fm_sample").set_value("shapes").run()  # a new image: one more pass
    assert calls == ["overview", "full", "overview"]


def test_compare_two_models_side_by_side() -> None:
    at = _page()
    at.selectbox(key="fm_arch").set_value("lenet5").run()
    at.radio(key="fm_view").set_value("Compare").run()
    at.radio(key="fm_cmp_mode").set_value("This layer in two models").run()
    assert not at.exception and not at.error
    at.selectbox(key="fm_cmp_arch").set_value("lenet5").run()
    at.radio(key="fm_cmp_kind").set_value("random").run()
    assert not at.exception
    texts = "\n".join(m.value for m in at.markdown)
    assert "random initialisation" in texts  # the second column is labelled with its weights
    assert set(FEATURE_VIEWS["compare"].url_params) <= set(at.query_params)  # this model's layer


def _compute_if_asked(at: AppTest) -> AppTest:
    """Runs priced above a few seconds wait for a click (how long depends on the machine's load)."""
    go = [b for b in at.button if b.key == "fm_attr_go"]
    if go:
        assert go[0].label.startswith("Compute (about ")
        go[0].click().run()
    return at


def test_attribution_methods_render_for_the_top_classes() -> None:
    at = _page()
    at.radio(key="fm_view").set_value("Attribution").run()
    for method in ["saliency", "integrated_gradients", "grad_cam"]:
        at.radio(key="fm_attr_method").set_value(method).run()
        _compute_if_asked(at)
        assert not at.exception and not at.error, (method, [e.value for e in at.exception])
        assert len(at.get("plotly_chart")) == 1
    at.selectbox(key="fm_attr_target").set_value(1).run()
    assert not at.exception


def test_integrated_gradients_steps_are_adjustable_and_cached_per_step_count() -> None:
    from explorer.ui import image_results

    at = _page()
    at.radio(key="fm_view").set_value("Attribution").run()
    at.radio(key="fm_attr_method").set_value("integrated_gradients").run()
    assert at.slider(key="fm_attr_steps").value == 50
    _compute_if_asked(at)
    at.slider(key="fm_attr_steps").set_value(8).run()
    _compute_if_asked(at)
    assert not at.exception and len(at.get("plotly_chart")) == 1
    results = at.session_state[image_results._RESULTS_KEY]
    keys = {
        k for res in results.values() for k in res.attributions if k[0] == "integrated_gradients"
    }
    assert {k[2] for k in keys} == {50, 8}


@pytest.mark.parametrize("fast", [True, False])
def test_bfloat16_is_offered_only_where_it_is_fast_and_cached_apart(
    monkeypatch, fast: bool
) -> None:
    from explorer.ui import image_results
    from explorer.ui.feature_views import outputs

    monkeypatch.setattr(outputs, "bfloat16_is_fast", lambda device: fast)
    at = _page()
    at.radio(key="fm_view").set_value("Attribution").run()
    at.radio(key="fm_attr_method").set_value("integrated_gradients").run()
    at.slider(key="fm_attr_steps").set_value(8).run()
    offered = [r for r in at.radio if r.key == "fm_attr_precision"]
    assert bool(offered) is fast
    _compute_if_asked(at)
    if fast:
        assert offered[0].value == "float32"  # exact by default
        at.radio(key="fm_attr_precision").set_value("bfloat16").run()
        _compute_if_asked(at)
    assert not at.exception and not at.error and len(at.get("plotly_chart")) == 1
    results = at.session_state[image_results._RESULTS_KEY]
    keys = {
        k for res in results.values() for k in res.attributions if k[0] == "integrated_gradients"
    }
    assert {k[3] for k in keys} == ({"float32", "bfloat16"} if fast else {"float32"})


def test_layers_are_named_as_in_the_paper_not_by_module_index() -> None:
    """LeNet-5's layers are Sequential indices ("4"); pickers, the unit line and Compare's second
    model show the paper's names ("relu_C3 (ReLU)", "Unit (3, 4) of relu_C3"), never "4 (ReLU)"."""
    at = _page()
    at.selectbox(key="fm_arch").set_value("lenet5").run()
    at.radio(key="fm_view").set_value("Layer detail").run()
    at.selectbox(key="fm_layer").set_value("4").run()
    options = at.selectbox(key="fm_layer").options
    assert "relu_C3 (ReLU) - 16 x 10 x 10" in options, options
    assert not any(o.split(" ")[0].isdigit() for o in options), options
    captions = [c for image in at.get("image") for c in image.captions]
    assert any(
        c.startswith("relu_C3 (ReLU) - 16 x 10 x 10: 16 channels sorted by") for c in captions
    ), captions
    at.radio(key="fm_view").set_value("Receptive field").run()
    at.selectbox(key="fm_rf_layer").set_value("4").run()
    at.number_input(key="fm_rf_row").set_value(3).run()
    at.number_input(key="fm_rf_col").set_value(4).run()
    assert any(
        "Unit (3, 4) of **relu\\_C3**" in m.value or "Unit (3, 4) of **relu_C3**" in m.value
        for m in at.markdown
    ), [m.value for m in at.markdown]
    at.radio(key="fm_view").set_value("Compare").run()
    at.radio(key="fm_cmp_mode").set_value("This layer in two models").run()
    at.selectbox(key="fm_cmp_arch").set_value("lenet5").run()
    second = at.selectbox(key="fm_cmp_layer_b").options
    assert "relu_C3 (ReLU) - 16 x 10 x 10" in second, second
    at.radio(key="fm_view").set_value("Filters").run()
    convs = at.selectbox(key="fm_conv").options
    assert convs[0].startswith("C1: (6, 1, 5, 5)"), convs
