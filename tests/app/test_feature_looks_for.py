"""AppTest of Feature maps' "What it looks for" view: one channel, the hierarchy grid, its URL."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

PAGE = str(Path(__file__).resolve().parents[2] / "app_pages" / "feature_maps.py")


@pytest.fixture(autouse=True)
def _offline(offline_torch_home: Path) -> Path:
    from explorer.probe.shared_results import RUNNING, SHARED

    SHARED.clear()  # results shared between sessions of this process: each test starts empty
    RUNNING.clear()  # and so do the jobs computing them
    return offline_torch_home  # the bundled compact ResNet is the default, as on a fresh machine


def _until_optimised(at: AppTest, timeout: float = 240.0) -> list[str]:
    """Rerun (as the page's polling would) until the optimised picture is shown; its captions."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        captions = [c for image in at.get("image") for c in image.captions]
        if any("mean activation" in c and not c.startswith("Preview") for c in captions):
            return captions
        time.sleep(0.5)
        at.run()
        assert not at.exception and not at.error, (
            [e.value for e in at.exception],
            [e.value for e in at.error],
        )
    raise AssertionError("the optimisation job did not finish in time")


def _until_examples(at: AppTest, timeout: float = 240.0) -> list[str]:
    """Rerun until the dataset examples (a background job too) are shown; every image caption."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        captions = [c for image in at.get("image") for c in image.captions]
        if any(c.startswith("Dataset examples:") for c in captions):
            return captions
        time.sleep(0.5)
        at.run()
        assert not at.exception and not at.error, (
            [e.value for e in at.exception],
            [e.value for e in at.error],
        )
    raise AssertionError("the dataset-examples job did not finish in time")


def _page(**params: str) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    for k, v in {"view": "looks", **params}.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_one_channel_is_optimised_on_request_and_kept() -> None:
    at = _page(lfsteps="16")
    assert at.radio(key="fm_view").value == "What it looks for"
    assert at.select_slider(key="fm_lf_steps").value == 16
    assert at.query_params["lf"] == "channel" and at.query_params["lfsteps"] == "16"
    at.number_input(key="fm_lf_channel").set_value(3).run()
    assert at.query_params["channel"] == "3"
    assert not any("mean activation" in c for image in at.get("image") for c in image.captions)
    at.button(key="fm_lf_go").click().run()
    assert not at.exception and not at.error, [e.value for e in at.exception]
    assert "fm_lf_job" in at.session_state  # queued as a background job of this browser
    captions = _until_optimised(at)  # a background job of this browser, polled
    assert any("channel 3: mean activation" in c and "after 16 steps" in c for c in captions), (
        captions
    )
    captions = _until_examples(at)  # the dataset pass: a job of this browser too
    # beside it, Zeiler & Fergus's dataset examples from the model's own dataset (shapes, 3 x 32 x 32)
    assert any(
        c.startswith("Dataset examples: the 8 test images of 'shapes' (of 1000)") for c in captions
    ), captions
    at.run()  # a rerun shows the kept result, with no button to press again
    assert not [b for b in at.button if b.key == "fm_lf_go"]


def test_hierarchy_grid_draws_early_and_late_rows() -> None:
    at = _page(lf="hierarchy", lfsteps="16")
    assert at.radio(key="fm_lf_mode").value == "hierarchy"
    at.button(key="fm_lf_grid").click().run()
    assert not at.exception and not at.error, [e.value for e in at.exception]
    assert "fm_lf_job" in at.session_state  # a background job too
    end = time.monotonic() + 240
    while not at.get("plotly_chart") and time.monotonic() < end:
        time.sleep(0.5)
        at.run()
        assert not at.exception and not at.error, [e.value for e in at.exception]
    charts = at.get("plotly_chart")
    assert charts, "no grid figure"
    import json

    fig = json.loads(charts[-1].proto.spec)
    texts = [a.get("text", "") for a in fig["layout"]["annotations"]]
    assert any(t.startswith("early<br>") for t in texts) and any(
        t.startswith("late<br>") for t in texts
    ), texts
    assert sum(1 for d in fig["data"] if d["type"] == "image") >= 8


def test_a_hostile_channel_in_the_url_falls_back_with_one_notice() -> None:
    at = _page(channel="99999", lfsteps="7", layer="10")  # "10": the dense head, no spatial output
    assert at.number_input(key="fm_lf_channel").value == 0
    assert at.select_slider(key="fm_lf_steps").value == 64
    assert at.selectbox(key="fm_lf_layer").value != "10"
    assert not at.exception
    notices = [i.value for i in at.info if i.value.startswith("This link asked for settings")]
    assert len(notices) == 1, notices  # one notice names every refused value
    for refused in ("channel=99999", "lfsteps=7", "layer=10"):
        assert refused in notices[0], notices


def test_grey_model_gets_grey_pictures_and_digit_examples() -> None:
    at = _page(arch="lenet5", weights="bundled", lfsteps="16")
    assert at.selectbox(key="fm_arch").value == "lenet5"
    at.button(key="fm_lf_go").click().run()
    assert not at.exception and not at.error, [e.value for e in at.exception]
    captions = _until_optimised(at)
    assert any("mean activation" in c for c in captions), captions
    captions = _until_examples(at)
    assert any(c.startswith("Dataset examples: the 8 test images of 'digits'") for c in captions), (
        captions
    )


def test_feature_space_shows_these_weights_against_random_init() -> None:
    at = _page(lf="space")
    assert at.query_params["proj"] == "pca" and "lfsteps" not in at.query_params
    at.button(key="fm_lf_space").click().run()
    assert not at.exception and not at.error, [e.value for e in at.exception]
    import json

    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert titles[-2:] == ["These weights", "Random initialisation"], titles
    probes = {m.label: m.value for m in at.metric}
    acc = [
        int(probes[f"{t}: linear-probe accuracy"].rstrip("%"))
        for t in ("These weights", "Random initialisation")
    ]
    assert acc[0] >= 90 and acc[0] > acc[1] + 30, acc  # the bundled ResNet separates its shapes


def test_stop_ends_the_job_with_the_picture_so_far() -> None:
    at = _page(lfsteps="256", channel="1")
    at.button(key="fm_lf_go").click().run()
    end = time.monotonic() + 240
    while not [b for b in at.button if b.key == "fm_lf_stop"] and time.monotonic() < end:
        time.sleep(0.3)
        at.run()
    at.button(key="fm_lf_stop").click().run()
    captions = _until_optimised(at)
    done = [c for c in captions if "mean activation" in c and not c.startswith("Preview")]
    steps = int(done[0].split("after ")[1].split(" steps")[0])
    assert 1 <= steps < 256, done
    stopped = [m.value for m in at.caption if m.value.startswith("Stopped after")]
    assert stopped == [f"Stopped after {steps} of 256 steps: this is the picture as it was then."]
    assert [b for b in at.button if b.key == "fm_lf_again"]  # a full run is one click away


def _browser(owner: str, **params: str) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["_browser_id"] = owner
    for k, v in {"view": "looks", **params}.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _example_jobs(owner: str) -> list:
    from explorer.ui.feature_space_panel import manager as analysis
    from explorer.ui.feature_views.examples_panel import JOB_KIND

    return [j for j in analysis().jobs_of(owner) if j.kind == JOB_KIND]


def test_a_second_browser_gets_the_shared_result_without_recomputing() -> None:
    one, two, three = ("b" + c * 32 for c in "456")
    first = _browser(one, lfsteps="16", channel="2")
    first.button(key="fm_lf_go").click().run()
    _until_optimised(first)
    _until_examples(first)
    assert len(_example_jobs(one)) == 1  # the dataset pass of this layer over the shapes images
    # another browser opens the same link: bundled weights, so the picture and examples are shared
    second = _browser(two, lfsteps="16", channel="2")
    assert not [b for b in second.button if b.key == "fm_lf_go"]
    captions = [c for image in second.get("image") for c in image.captions]
    assert any("channel 2: mean activation" in c and "after 16 steps" in c for c in captions)
    assert any(c.startswith("Dataset examples: the 8 test images of 'shapes'") for c in captions)
    assert _example_jobs(two) == []  # not recomputed
    # the sample photos as the source: one more pass (a job with progress and Stop), then shared
    second.selectbox(key="fm_lf_source").set_value("samples").run()
    assert second.query_params["lfsrc"] == "samples"
    captions = [c for image in second.get("image") for c in image.captions]
    if not any(c.startswith("Dataset examples:") for c in captions):  # still running
        assert second.get("progress") and [b for b in second.button if b.key == "fm_lf_ex_stop"]
    captions = _until_examples(second)
    assert any(c.startswith("Dataset examples: the 8 sample photos (of 8)") for c in captions), (
        captions
    )
    assert len(_example_jobs(two)) == 1
    third = _browser(three, lfsteps="16", channel="2", lfsrc="samples")
    captions = [c for image in third.get("image") for c in image.captions]
    assert any(c.startswith("Dataset examples: the 8 sample photos (of 8)") for c in captions)
    assert _example_jobs(three) == []


def test_the_examples_pass_shows_progress_and_stop_and_a_stopped_pass_keeps_nothing() -> None:
    from explorer.probe.shared_results import SHARED

    owner = "b" + "7" * 32
    at = _browser(owner, lfsteps="16", channel="1")
    at.button(key="fm_lf_go").click().run()
    captions = _until_optimised(at)
    assert len(_example_jobs(owner)) == 1  # started on its own, beside the picture
    if any(c.startswith("Dataset examples:") for c in captions):  # it finished at once
        return
    assert at.get("progress") and [b for b in at.button if b.key == "fm_lf_ex_stop"]
    at.button(key="fm_lf_ex_stop").click().run()
    end = time.monotonic() + 120
    while not _example_jobs(owner)[-1].done and time.monotonic() < end:
        time.sleep(0.2)
    at.run()
    job = _example_jobs(owner)[-1]
    captions = [c for image in at.get("image") for c in image.captions]
    if job.result is None:  # stopped before its end
        assert [m.value for m in at.info] == [
            "The search for dataset examples was stopped before its end: nothing was kept."
        ]
        assert not [k for k in SHARED._store if k[0] == "examples"]
        at.button(key="fm_lf_ex_go").click().run()  # search again: a new job
        assert _example_jobs(owner)[-1] is not job
        captions = _until_examples(at)
    assert any(c.startswith("Dataset examples: the 8 test images of 'shapes'") for c in captions)


def test_my_image_set_is_a_source_for_me_only(monkeypatch, tmp_path: Path) -> None:
    import io

    from PIL import Image

    from explorer.data.image_sets import from_images
    from explorer.probe.shared_results import SHARED
    from explorer.ui import image_set_panel

    def png(colour: tuple[int, int, int]) -> bytes:
        buf = io.BytesIO()
        Image.new("RGB", (40, 40), colour).save(buf, format="PNG")
        return buf.getvalue()

    me, other = "b" + "1" * 32, "b" + "2" * 32
    monkeypatch.setattr(image_set_panel, "user_folder", lambda owner: tmp_path / owner)
    from_images({"red": [png((250, 10, 10))] * 5, "blue": [png((10, 10, 250))] * 5}, tmp_path / me)

    def browser(owner: str) -> AppTest:
        at = AppTest.from_file(PAGE, default_timeout=120)
        at.session_state["_browser_id"] = owner
        for k, v in {"view": "looks", "lfsteps": "16", "channel": "4"}.items():
            at.query_params[k] = v
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    mine = browser(me)
    mine.button(key="fm_lf_go").click().run()
    _until_optimised(mine)
    _until_examples(mine)  # the shapes pass first: one job of a browser at a time
    own = "My image set (from the Training page)"
    assert own in mine.selectbox(key="fm_lf_source").options
    mine.selectbox(key="fm_lf_source").set_value("own").run()
    captions = _until_examples(mine)
    assert any(
        c.startswith("Dataset examples: the 8 images of your image set (of 10)") for c in captions
    ), captions
    assert not [k for k in SHARED._store if "own" in k]  # never in the process-wide store
    theirs = browser(other)  # the shared picture shows at once, but not my image set
    assert own not in theirs.selectbox(key="fm_lf_source").options


def test_an_optimised_input_keeps_my_finished_training_run(monkeypatch) -> None:
    """The training manager keeps one finished job per browser: an optimised input goes to the
    analysis manager, so the run the Training page shows is still there after it."""
    from explorer.training.job_manager import JobManager
    from explorer.ui import browser_jobs, process_state
    from explorer.ui.feature_space_panel import manager as analysis

    def training(control):
        yield "one step"
        return "trained"

    monkeypatch.setattr(process_state, "job_manager", JobManager())
    owner = "b" + "3" * 32
    run = browser_jobs.manager().submit(owner, "cpu", training, title="my run", kind="training")
    end = time.monotonic() + 30
    while not run.done and time.monotonic() < end:
        time.sleep(0.05)
    assert run.result == "trained"

    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["_browser_id"] = owner
    for k, v in {"view": "looks", "lfsteps": "16", "channel": "2"}.items():
        at.query_params[k] = v
    at.run()
    at.button(key="fm_lf_go").click().run()
    captions = _until_optimised(at)
    assert any("channel 2: mean activation" in c for c in captions), captions
    assert browser_jobs.manager().jobs_of(owner) == [run]  # the finished run survives
    vis = [j for j in analysis().jobs_of(owner) if j.kind == "feature_vis"]
    assert len(vis) == 1 and vis[0].done and vis[0].title
