"""User and file strings are shown as text, never as Markdown (issue 24, part 4): class names
from a shared checkpoint, names of uploads and trained models. Each test holds one place that
shows such a string: the rendered element's body holds the escaped form and no link survives.
Also: what the Training page says about a checkpoint no image page can open."""

from __future__ import annotations

import re

import torch

from explorer.models import get_spec
from explorer.models.checkpoint import CheckpointMeta, save_checkpoint
from explorer.ui.state import escape_text
from tests.app.conftest import open_app_page

BEACON = "![px](https://host/beacon.png)"
LOGIN = "[Log in again](https://host/x)"
HOSTILE_CLASSES = [
    BEACON,
    LOGIN,
    "**bold**",
    ":red[colour]",
    "<b>x</b>",
    "mail me@host.com",
    "cat",
    "dog",
    "$x^2$",
    "`code`",
]


def _live_markdown(body: str) -> bool:
    """Markdown that would fetch, link or style: an unescaped link/image, bold or colour directive."""
    return bool(re.search(r"(?<!\\)\]\(|(?<!\\)\*\*|(?<!\\):red\[|<b>", body))


def _lenet_checkpoint(classes: list[str]) -> bytes:
    torch.manual_seed(0)
    build = {"in_channels": 1, "num_classes": len(classes), "image_size": 32}
    model = get_spec("lenet5").build(**build)
    return save_checkpoint(
        model, CheckpointMeta(arch="lenet5", build=build, classes=classes, dataset="digits")
    )


def test_class_names_in_the_predictions_caption_are_text() -> None:
    at = open_app_page("app_pages/feature_maps.py", timeout=180)
    at.query_params.update({"arch": "lenet5", "weights": "upload", "view": "predictions"})
    at.run()
    at.file_uploader(key="fm_ckpt").set_value(
        ("c.safetensors", _lenet_checkpoint(HOSTILE_CLASSES), "application/octet-stream")
    ).run()
    assert not at.exception, [e.value for e in at.exception]
    caption = next(c.value for c in at.caption if "knows only these classes" in c.value)
    assert escape_text(BEACON) in caption and escape_text(LOGIN) in caption
    assert not _live_markdown(caption), caption


def test_a_recurrent_checkpoint_on_training_says_where_it_can_be_used() -> None:
    at = open_app_page("app_pages/training.py", timeout=180).run()
    torch.manual_seed(0)
    spec = get_spec("lstm")
    data = save_checkpoint(
        spec.build(**spec.build_kwargs), CheckpointMeta(arch="lstm", build=spec.build_kwargs)
    )
    at.file_uploader[0].set_value(("lstm.safetensors", data, "application/octet-stream")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not any("Feature maps page" in s.value for s in at.success)  # it is not offered there
    said = " ".join(e.value for e in [*at.info, *at.warning]).replace("\\", "")
    assert "LSTM is a recurrent network" in said and "no page opens it" in said


def test_class_names_in_an_own_images_error_are_text() -> None:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 0, 0)).save(buf, "PNG")
    at = open_app_page("app_pages/training.py", timeout=180).run()
    at.radio(key="own_how").set_value("by hand").run()
    at.text_input(key="own_name_0").set_value(LOGIN)
    at.text_input(key="own_name_1").set_value("**bold** mail@host.com")
    for k in (0, 1):  # one image each: too few, and the message names both classes
        at.file_uploader(key=f"own_files_{k}").set_value(
            [(f"{k}.png", buf.getvalue(), "image/png")]
        )
    at.run()
    next(b for b in at.button if b.key == "own_make").click().run()
    assert not at.exception, [e.value for e in at.exception]
    error = next(e.value for e in at.error if "Too few images" in e.value)
    assert escape_text(LOGIN, limit=800) in error  # the name, escaped
    assert not _live_markdown(error) and "mail@host" not in error, error  # no autolinked address


def test_a_loaded_checkpoints_names_in_the_sidebar_and_transfer_caption_are_text(
    monkeypatch,
) -> None:
    from explorer.ui import registry

    # The uploaded file's name becomes the model's name; its classes come from the file.
    at = open_app_page("app_pages/training.py", timeout=180).run()
    data = _lenet_checkpoint(HOSTILE_CLASSES)
    name = f"{LOGIN}.safetensors"
    at.file_uploader[0].set_value((name, data, "application/octet-stream")).run()
    assert not at.exception, [e.value for e in at.exception]
    at.selectbox(key="xf_source").set_value(f"user:{name}").run()
    caption = next(c.value for c in at.caption if c.value.startswith("Trained on"))
    assert escape_text(BEACON) in caption and not _live_markdown(caption), caption

    # The sidebar names a finished run's model (its name may hold a loaded file's name).
    model = registry.UserModel(name=name, arch="lenet5", build={}, state_dict={}, classes=[])
    monkeypatch.setattr(registry, "register_finished_training", lambda: model)
    at = open_app_page("app_pages/home.py").run()
    said = next(c.value for c in at.sidebar.caption if "Your trained model" in c.value)
    assert escape_text(LOGIN, limit=120) in said and not _live_markdown(said), said


def test_a_failed_runs_error_is_text() -> None:
    from streamlit.testing.v1 import AppTest

    def script() -> None:
        from types import SimpleNamespace

        from explorer.ui import browser_jobs
        from explorer.ui.training_live import status

        status(
            SimpleNamespace(
                state=browser_jobs.JobState.FAILED,
                error="class '[Log in again](https://host/x)' broke",
            )
        )

    at = AppTest.from_function(script, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    assert escape_text(LOGIN, limit=800) in at.error[0].value and not _live_markdown(
        at.error[0].value
    )


CLASSES = ['<a href="https://host/x">Log in</a>', LOGIN]


def test_class_names_in_a_runs_results_are_text() -> None:
    """Confusion matrix and per-class charts (plotly renders <a href> in labels) and the
    misclassified images' captions (Markdown) of a run on a zip whose folders are hostile names."""
    from streamlit.testing.v1 import AppTest

    def script() -> None:
        from types import SimpleNamespace

        import numpy as np
        import torch

        from explorer.ui.training_live import results
        from tests.app.test_shown_as_text import CLASSES

        classes = CLASSES
        fin = SimpleNamespace(
            stopped_early=False,
            epochs_done=1.0,
            elapsed_s=1.0,
            val_acc=0.5,
            test_acc=0.5,
            confusion=np.eye(2, dtype=np.int64),
            classes=classes,
            per_class_acc=[0.5, 0.5],
            misclassified=torch.zeros(1, 3, 8, 8),
            mis_true=[0],
            mis_pred=[1],
        )
        results(SimpleNamespace(result=None), SimpleNamespace(finished=fin))

    at = AppTest.from_function(script, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    charts = " ".join(c.proto.spec for c in at.get("plotly_chart"))
    assert "&lt;a href" in charts and '<a href=\\"https' not in charts and "<a href=" not in charts
    captions = [i.caption for el in at.get("image") for i in el.proto.imgs]
    assert captions == [escape_text(f"{CLASSES[0]} -> {CLASSES[1]}", limit=90)]
