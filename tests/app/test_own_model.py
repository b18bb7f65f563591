"""AppTest: your own model (a .keras file) on Architectures and Feature maps, and bad files."""

from __future__ import annotations

import io
import json
import pickle
import zipfile

import numpy as np
import pytest
import torch

from explorer.models.imports import import_model
from explorer.ui.own_model import EXAMPLE
from tests.app.conftest import open_app_page, rerun_until

KERAS_NAMES = ["rescaling", "conv1", "pool1", "conv2", "pool2", "flatten", "dense", "output"]


def _upload(at, page: str, name: str, data: bytes):
    at.file_uploader(key=f"{page}_own_file").set_value(
        (name, data, "application/octet-stream")
    ).run()
    return at


def _plain(text: str) -> str:
    return text.replace("\\", "")


def _keras_zip(layers: list[dict]) -> bytes:
    """A .keras zip made by hand: config.json with ``layers`` after an input, empty weights."""
    import h5py

    entries = [
        {
            "class_name": "InputLayer",
            "config": {"batch_shape": [None, 8, 8, 3], "name": "input_layer"},
        }
    ]
    config = {"class_name": "Sequential", "config": {"name": "s", "layers": entries + layers}}
    weights = io.BytesIO()
    with h5py.File(weights, "w"):
        pass
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("config.json", json.dumps(config))
        zf.writestr("model.weights.h5", weights.getvalue())
    return out.getvalue()


def test_example_keras_on_architectures_diagram_table_and_code() -> None:
    at = open_app_page("app_pages/architectures.py", timeout=300).run()
    _upload(at, "arch", EXAMPLE.name, EXAMPLE.read_bytes())
    assert not at.exception
    assert at.session_state["arch_key"].startswith("own-")
    assert "Imported course_cnn" in _plain(at.success[0].value)
    at.radio(key="arch_level").set_value("Layers").run()
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)  # the diagram, first on the page
    labels = [str(t).split(" ")[0] for trace in fig["data"] for t in (trace.get("text") or [])]
    assert sorted(labels[1:]) == sorted(
        set(KERAS_NAMES) - {"flatten"}
    )  # the file's names (flatten folds in)
    assert any(
        str(t).startswith("pool1  max 2x2/2")
        for trace in fig["data"]
        for t in (trace.get("text") or [])
    )
    table = next(d.value for d in at.dataframe if "module" in d.value.columns)
    assert list(table["module"]) == KERAS_NAMES
    assert int(table["params"].sum()) == import_model(EXAMPLE.read_bytes(), EXAMPLE.name).parameters
    at.toggle(key=f"code_show_{at.session_state['arch_key']}").set_value(True).run()
    code = "\n".join(c.value for c in at.code)
    assert "class CourseCnn(nn.Module)" in code and "self.conv1 = nn.Conv2d(3, 32" in code
    assert not at.exception


def test_example_on_feature_maps_maps_and_keras_numbers() -> None:
    from explorer.data.images import preprocess
    from explorer.data.samples import load_sample
    from explorer.models.imported_entry import ENTRIES
    from explorer.probe.inputs import own_preprocessing

    at = open_app_page("app_pages/feature_maps.py", timeout=300).run()
    at.button(key="fm_own_example").click().run()
    key = at.session_state["fm_arch"]
    assert key.startswith("own-") and at.session_state["fm_kind"] == "user" and not at.exception
    # its weights name the file they came from (the user's file name, escaped for Markdown)
    assert "Weights from your file \\(course\\_cnn\\.keras\\)" in at.radio(key="fm_kind").options
    at.selectbox(key="fm_sample").set_value("shapes").run()
    steps = _plain("\n".join(e.value for e in at.markdown))
    assert "1 x 3 x 64 x 64" in steps  # the model's own input size and channels
    at.radio(key="fm_view").set_value("Layer detail").run()
    assert not at.exception and not at.error
    layer_box = next(s for s in at.selectbox if s.options and any("conv1" in o for o in s.options))
    assert [o.split(" ")[0] for o in layer_box.options][:4] == ["conv1", "pool1", "conv2", "pool2"]
    # Predictions: the probability Keras' model gives (sigmoid output of the file), class names typed.
    at.text_input(key=f"own_classes_{at.session_state['fm_user_model']}").set_value(
        "circle, square"
    ).run()
    at.radio(key="fm_view").set_value("Predictions").run()
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    shown = dict(zip(fig["data"][0]["y"], fig["data"][0]["x"], strict=True))
    imported = import_model(EXAMPLE.read_bytes(), EXAMPLE.name)
    x = preprocess(load_sample("shapes"), own_preprocessing(ENTRIES[key].key)).x
    assert float(x.max()) > 200  # 0-255 pixels: the model's Rescaling(1/255) scales them itself
    with torch.no_grad():
        p_square = float(imported.build()(x)[0, 0])  # the file's own sigmoid
    assert set(shown) == {"circle", "square"}
    assert shown["square"] == pytest.approx(p_square, abs=1e-4)
    assert not at.exception


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("model.keras", pickle.dumps({"a": np.zeros(2)}), "This file is a Python pickle"),
        (
            "lambda.keras",
            _keras_zip(
                [{"class_name": "Lambda", "config": {"name": "double", "function": "x * 2"}}]
            ),
            "Layer 'double' is a Lambda layer, which holds Python code: code in a model file is never run.",
        ),
    ],
)
def test_bad_files_get_one_message_and_the_page_keeps_working(
    name: str, data: bytes, message: str
) -> None:
    at = open_app_page("app_pages/architectures.py", timeout=300).run()
    before = at.session_state["arch_key"]
    _upload(at, "arch", name, data)
    assert not at.exception
    assert len(at.error) == 1 and _plain(at.error[0].value).startswith(message)
    assert at.session_state["arch_key"] == before  # nothing adopted
    assert at.get("plotly_chart")  # the catalog model's diagram is still drawn
    at.selectbox(key="arch_key").set_value("lenet5").run()
    assert not at.exception and at.get("plotly_chart")


def test_checkpoint_of_an_imported_model_reloads_with_its_spec() -> None:
    imported = import_model(EXAMPLE.read_bytes(), EXAMPLE.name)
    at = open_app_page("app_pages/feature_maps.py", timeout=300).run()
    _upload(at, "fm", "my_cnn.safetensors", imported.checkpoint())
    assert not at.exception and not at.error
    assert at.session_state["fm_arch"].startswith("own-") and at.session_state["fm_kind"] == "user"
    assert "1 x 3 x 64 x 64" in _plain("\n".join(e.value for e in at.markdown))
    at.radio(key="fm_view").set_value("Filters").run()
    assert not at.exception and not at.error


def test_onnx_example_grey_input_and_class_names_from_the_file() -> None:
    path = EXAMPLE.with_name("googlenet_small.onnx")
    imported = import_model(path.read_bytes(), path.name)
    at = open_app_page("app_pages/feature_maps.py", timeout=300).run()
    _upload(at, "fm", path.name, path.read_bytes())
    assert not at.exception and not at.error
    assert at.session_state["fm_sample"] == "digit"  # a grey model gets a sample it can read
    c, h, w = imported.input_shape
    assert f"1 x {c} x {h} x {w}" in _plain("\n".join(e.value for e in at.markdown))
    at.radio(key="fm_view").set_value("Predictions").run()
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert imported.classes and set(fig["data"][0]["y"]) <= set(imported.classes)
    assert not at.exception


@pytest.mark.slow
def test_fine_tune_the_example_on_training_and_find_it_on_feature_maps() -> None:
    at = open_app_page("app_pages/architectures.py", timeout=300).run()
    _upload(at, "arch", EXAMPLE.name, EXAMPLE.read_bytes())
    imported = at.session_state["arch_key"]
    at.switch_page("app_pages/training.py").run()
    assert not at.exception, [e.value for e in at.exception]
    name = "course_cnn (course_cnn.keras)"
    assert 'Your imported model: fine-tune it in "Transfer learning" below.' in [
        c.value for c in at.caption
    ]
    source = at.selectbox(key="xf_source")
    assert f"Your imported model: {name}" in source.options
    source.set_value(f"own:{name}").run()
    # colour 64 x 64 input: the colour sets and the grey digits (repeated into R, G, B) fit it
    assert at.selectbox(key="xf_target").options == [
        "Circles vs squares (64x64 colour, binary)",
        "Synthetic shapes (32x32 colour)",
        "Printed digits (28x28 grey)",
    ]
    at.selectbox(key="xf_target").set_value("circles_squares").run()
    assert any(
        "images resized to 64 x 64, the model's own input, pixels 0-255" in _plain(c.value)
        for c in at.caption
    )
    at.radio(key="xf_freeze").set_value("all").run()
    at.number_input(key="xf_train").set_value(16)
    at.number_input(key="xf_val").set_value(8)
    at.number_input(key="xf_bs").set_value(16)
    at.number_input(key="xf_epochs").set_value(1)
    at.number_input(key="xf_lr").set_value(0.0001)
    next(b for b in at.button if b.label == "Start transfer").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert rerun_until(
        at, lambda a: any(s.value.startswith("Run finished") for s in a.success), seconds=300
    ), [e.value for e in at.error]
    models = list(at.session_state["_explorer_user_models"].values())
    tuned = next(m for m in models if m.source == "trained on the Training page")
    assert tuned.arch.startswith("own-") and tuned.arch != imported
    assert tuned.metrics["steps"] == 1 and tuned.metrics["trainable_parameters"] == 1_625_281
    at.run()  # the fine-tuned model is a source of its own now
    assert f"Your imported model: {tuned.name}" in at.selectbox(key="xf_source").options
    at.switch_page("app_pages/feature_maps.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert "course_cnn (fine-tuned)" in at.selectbox(key="fm_arch").options
    at.selectbox(key="fm_arch").set_value(tuned.arch).run()  # its feature maps, its weights
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["fm_kind"] == "user" and not at.error
    assert at.session_state["fm_user_model"] == tuned.name
    assert "My trained model \\(this session\\)" in at.radio(key="fm_kind").options


def test_training_offers_only_the_datasets_that_fit_an_imported_models_input() -> None:
    from explorer.models.checkpoint import CheckpointMeta
    from explorer.models.init import build_seeded
    from explorer.models.spec import spec_from_obj
    from explorer.models.spec_modules import SPEC_ARCH, build_model, save_spec_checkpoint
    from explorer.training.spec_transfer import no_fit_message

    onnx = EXAMPLE.with_name("googlenet_small.onnx")  # grey 32 x 32 input
    at = open_app_page("app_pages/architectures.py", timeout=300).run()
    _upload(at, "arch", onnx.name, onnx.read_bytes())
    # a checkpoint saved here of a model that reads 4 channels: no dataset has them
    spec = spec_from_obj(
        {
            "input_shape": [4, 8, 8],
            "title": "four",
            "nodes": [
                {"name": "flatten", "op": "flatten", "inputs": ["input"], "args": {}},
                {
                    "name": "head",
                    "op": "linear",
                    "inputs": ["flatten"],
                    "args": {"in_features": 256, "out_features": 2},
                },
            ],
        }
    )
    model = build_seeded(lambda: build_model(spec), 0)
    data = save_spec_checkpoint(
        model, spec, CheckpointMeta(arch=SPEC_ARCH, settings={"title": "four"})
    )
    _upload(at, "arch", "four.safetensors", data)
    assert not at.exception
    at.switch_page("app_pages/training.py").run()
    sources = at.selectbox(key="xf_source")
    grey = next(o for o in sources.options if o.startswith("Your imported model: googlenet_small"))
    sources.set_value("own:" + grey.removeprefix("Your imported model: ")).run()
    assert at.selectbox(key="xf_target").options == ["Printed digits (28x28 grey)"]
    at.selectbox(key="xf_source").set_value("own:four (four.safetensors)").run()
    assert not at.exception
    assert no_fit_message((4, 8, 8)) in [i.value for i in at.info]
    assert not [b for b in at.button if b.label == "Start transfer"]


@pytest.mark.slow
def test_fine_tune_the_example_on_your_own_images(tmp_path, monkeypatch) -> None:
    from explorer.data.image_sets import read_zip
    from explorer.models.imported_entry import ENTRIES
    from explorer.ui import image_set_panel
    from tests.explorer.data.test_own_images import make_zip, three_classes

    folder = tmp_path / "own" / "me"
    read_zip(make_zip(three_classes(6)), folder)
    monkeypatch.setattr(image_set_panel, "user_folder", lambda owner: folder)
    at = open_app_page("app_pages/architectures.py", timeout=300).run()
    _upload(at, "arch", EXAMPLE.name, EXAMPLE.read_bytes())
    at.switch_page("app_pages/training.py").run()
    start = at.selectbox(key="own_start")
    assert "Your imported model: course_cnn (course_cnn.keras)" in start.options
    start.set_value("own:course_cnn (course_cnn.keras)").run()
    at.selectbox(key="own_freeze").set_value("head").run()
    at.number_input(key="own_epochs").set_value(1).run()
    next(b for b in at.button if b.label == "Train on my images").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert rerun_until(
        at, lambda a: any(s.value.startswith("Run finished") for s in a.success), seconds=300
    ), [e.value for e in at.error]
    tuned = next(
        m
        for m in at.session_state["_explorer_user_models"].values()
        if m.source == "trained on the Training page"
    )
    assert tuned.name.startswith("course_cnn (course_cnn.keras) on your images (transfer, head)")
    assert ENTRIES[tuned.arch].arch.num_classes == 3  # blue, green, red: a new head
    assert tuned.classes == ["blue", "green", "red"] and tuned.dataset == "your images"
    assert tuned.metrics["trainable_parameters"] == 128 * 3 + 3
