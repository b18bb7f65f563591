"""AppTest: the Experiments page, the Transfer learning panel and Compare runs on the Training page."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.app.conftest import open_app_page, rerun_until

TRAINING = "app_pages/training.py"
EXPERIMENTS = "app_pages/experiments.py"


def button(at, label: str):
    return next(b for b in at.button if b.label == label)


def test_experiments_page_lists_the_three_comparisons_with_their_explanations() -> None:
    at = open_app_page(EXPERIMENTS).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.radio(key="ex_key").options == [
        "Vanishing gradients: plain 20 vs residual 20, no batch norm",
        "Degradation: deeper plain nets train worse, even with batch norm",
        "Transfer vs from scratch",
        "Normalised vs raw pixels (the course's Keras CNN)",
        "RNN vs GRU vs LSTM on the adding problem",
    ]
    assert any(
        "vanishes" in m.value and "NOT what He et al. (2016) found" in m.value for m in at.markdown
    )
    at.radio(key="ex_key").set_value("degradation").run()
    assert any(
        "unlikely to be caused by vanishing gradients" in m.value for m in at.markdown
    )  # the quote
    at.radio(key="ex_key").set_value("cells_on_adding").run()
    assert any("1/6" in m.value for m in at.markdown)
    assert not button(at, "Run this experiment").disabled


def test_transfer_panel_counts_what_trains_in_each_mode() -> None:
    at = open_app_page(TRAINING).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="xf_source").value == "bundled:resnet_small"
    assert at.selectbox(key="xf_target").value == "circles_squares"
    assert at.radio(key="xf_freeze").value == "head"
    options = at.radio(key="xf_freeze").options
    assert options[0].endswith("129 parameters train (0.02% of the model)")
    assert "295,553 parameters train" in options[1] and "695,425 parameters train" in options[2]
    at.selectbox(key="xf_target").set_value("digits").run()
    assert not at.exception
    assert any("10 outputs" in c.value and "1 channel" in c.value for c in at.caption)


@pytest.mark.slow
def test_a_tiny_transfer_runs_and_its_history_can_be_overlaid_and_downloaded() -> None:
    at = open_app_page(TRAINING, timeout=180).run()
    at.number_input(key="xf_train").set_value(16)
    at.number_input(key="xf_val").set_value(8)
    at.number_input(key="xf_bs").set_value(8)
    at.number_input(key="xf_epochs").set_value(1)
    button(at, "Start transfer").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert rerun_until(at, lambda a: any(s.value.startswith("Run finished") for s in a.success)), [
        e.value for e in at.error
    ]
    assert any("129 of 695,425 parameters train" in c.value for c in at.caption)
    registered = at.session_state["_explorer_user_models"]
    (model,) = registered.values()
    assert model.arch == "resnet_small" and model.build["num_classes"] == 1
    at.run()  # the Compare runs panel picks up the finished run
    chosen = at.multiselect(key="runs_chosen")
    assert len(chosen.value) == 1
    assert any(
        t.name
        == "Transfer: resnet_small trained on shapes -> Circles vs squares (64x64 colour, binary) (head)"
        for chart in at.get("plotly_chart")
        for t in _traces(chart)
    )  # overlaid under the run's name


@pytest.mark.slow
def test_an_experiment_is_one_job_whose_runs_fill_the_chart(monkeypatch) -> None:
    from explorer.training import experiments
    from explorer.training.runs import RunSpec
    from explorer.training.transfer import default_transfer_settings
    from explorer.training.transfer_weights import bundled_source

    tiny = default_transfer_settings(
        device="cpu", train_samples=16, val_samples=8, batch_size=8, epochs=1
    )
    runs = [
        RunSpec(
            "transfer (head only)",
            "explorer.training.transfer:run_transfer",
            {"settings": tiny, "source": bundled_source("resnet_small")},
        ),
        RunSpec(
            "from scratch",
            "explorer.training.transfer:run_transfer",
            {
                "settings": replace(tiny, source="scratch", freeze="all"),
                "source": None,
                "image_size": 32,
            },
        ),
    ]
    exp = replace(experiments.EXPERIMENTS["transfer_vs_scratch"], runs=lambda: runs)
    monkeypatch.setitem(experiments.EXPERIMENTS, "transfer_vs_scratch", exp)
    at = open_app_page(EXPERIMENTS, timeout=180).run()
    at.radio(key="ex_key").set_value("transfer_vs_scratch").run()
    button(at, "Run this experiment").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert rerun_until(at, lambda a: bool(a.dataframe)), [e.value for e in at.error]
    table = at.dataframe[-1].value
    assert list(table["run"]) == ["transfer (head only)", "from scratch"]
    names = {t.name for chart in at.get("plotly_chart") for t in _traces(chart)}
    assert {"transfer (head only)", "from scratch"} <= names


def _traces(chart):
    import json

    return [
        type("T", (), {"name": d.get("name")}) for d in json.loads(chart.proto.spec).get("data", [])
    ]


def test_recurrent_page_names_vanishing_and_adds_an_lstm_with_forget_bias_one() -> None:
    import json

    at = open_app_page("app_pages/recurrent.py", timeout=180).run()
    assert not at.exception, [e.value for e in at.exception]
    at.toggle(key="rec_ut_on").set_value(True).run()  # the LSTMVis panel draws on request
    assert at.selectbox(key="rec_ut_sort").value == "variance over time"
    shaded = next(
        json.loads(c.proto.spec)["data"][0] for c in at.get("plotly_chart") if "c[" in c.proto.spec
    )
    assert shaded["text"][0][:3] == ["T", "h", "e"]  # the default text, one character per cell
    at.toggle(key="rec_ut_on").set_value(False).run()
    at.radio(key="rec_view").set_value("Gradient flow").run()
    at.toggle(key="rec_grad_fb").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    names = [
        d.get("name")
        for c in at.get("plotly_chart")
        for d in json.loads(c.proto.spec).get("data", [])
    ]
    assert "LSTM, forget bias 1 (at start)" in names, names
    table = at.dataframe[-1].value.set_index("curve")
    assert table.loc["RNN at init", "regime"] == "vanishing"
    assert table.loc["LSTM, forget bias 1 (at start)", "regime"] in ("vanishing", "stable")


def test_own_images_folders_expire_and_stay_under_their_root(tmp_path, monkeypatch) -> None:
    import os

    from explorer.ui import image_set_panel

    monkeypatch.setenv(image_set_panel.ROOT_ENV, str(tmp_path / "own"))
    old, new = image_set_panel.user_folder("browser-a"), image_set_panel.user_folder("browser-b")
    assert old.parent == new.parent == tmp_path / "own" and old != new
    for f in (old, new):
        f.mkdir(parents=True)
        (f / "classes.json").write_text("{}")
    os.utime(old, (1, 1))
    assert image_set_panel.expire(3600) == [old]
    assert not old.exists() and new.exists()


@pytest.mark.slow
def test_training_on_own_images_from_the_panel(tmp_path, monkeypatch) -> None:
    from explorer.data.image_sets import read_zip
    from explorer.ui import image_set_panel
    from tests.explorer.data.test_own_images import make_zip, three_classes

    folder = tmp_path / "own" / "me"
    read_zip(make_zip(three_classes(6)), folder)
    monkeypatch.setattr(image_set_panel, "user_folder", lambda owner: folder)
    at = open_app_page(TRAINING, timeout=180).run()
    assert not at.exception, [e.value for e in at.exception]
    table = next(d.value for d in at.dataframe if "class" in d.value.columns)
    assert list(table["class"]) == ["blue", "green", "red"] and list(table["images"]) == [6, 6, 6]
    at.number_input(key="own_epochs").set_value(2)
    button(at, "Train on my images").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert rerun_until(at, lambda a: any(s.value.startswith("Run finished") for s in a.success)), [
        e.value for e in at.error
    ]
    assert folder.is_dir()


def test_cached_imagenet_weights_are_offered_as_a_transfer_source(offline_torch_home) -> None:
    """A ResNet-18 file where torchvision caches ImageNet weights (written by the test) appears as
    a source; its head counts are ResNet-18's, and the caption says how the images are prepared."""
    import torch

    from explorer.models import get_spec
    from explorer.models.weights import pretrained_cache_path

    spec = get_spec("resnet18")
    path = pretrained_cache_path(spec)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(spec.build().state_dict(), path)
    at = open_app_page(TRAINING).run()
    assert not at.exception, [e.value for e in at.exception]
    assert "ResNet-18: ImageNet weights (cached)" in at.selectbox(key="xf_source").options
    at.selectbox(key="xf_source").set_value("imagenet:resnet18").run()
    at.selectbox(key="xf_target").set_value("digits").run()
    assert not at.exception, [e.value for e in at.exception]
    options = at.radio(key="xf_freeze").options
    assert (
        options[0].startswith("Train the new head only") and "5,130 parameters train" in options[0]
    )  # 512 x 10 + 10
    assert "11,181,642 parameters train" in options[2]  # ResNet-18 with a 10-way head
    assert any(
        "224 x 224" in c.value and "grey repeated into R, G and B" in c.value for c in at.caption
    )


def test_without_cached_imagenet_weights_the_panel_says_how_to_get_them(offline_torch_home) -> None:
    at = open_app_page(TRAINING).run()
    assert not any("ImageNet" in o for o in at.selectbox(key="xf_source").options)
    assert any("No ImageNet weights are in the local cache" in c.value for c in at.caption)
