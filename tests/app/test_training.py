"""AppTest of the Training page: defaults, inline validation, a full (tiny) run followed by reruns."""

from __future__ import annotations

import json
import time

from tests.app.conftest import open_app_page

PAGE = "app_pages/training.py"


def button(at, label: str):
    return next(b for b in at.button if b.label == label)


def test_opens_ready_to_start_the_keras_cnn_on_its_binary_task() -> None:
    at = open_app_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="tr_model").value == "keras_cnn"
    assert at.selectbox(key="tr_dataset").value == "circles_squares"
    assert at.selectbox(key="tr_optimizer").value == "adam"
    assert not button(at, "Start").disabled
    assert any("press Start" in i.value for i in at.info)
    # before a run, the empty loss chart starts at 0 (plotly's empty default runs from -1)
    loss = next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if c.key == "tr_loss")
    assert loss["layout"]["yaxis"]["range"] == [0, 2.5]


def test_changing_the_model_loads_its_defaults() -> None:
    at = open_app_page(PAGE).run()
    at.selectbox(key="tr_model").set_value("lenet5").run()
    assert not at.exception
    assert at.selectbox(key="tr_dataset").value == "digits"
    assert at.number_input(key="tr_lr").value == 0.002
    assert at.number_input(key="tr_bs").value == 64


def test_invalid_settings_give_an_inline_error_and_start_nothing() -> None:
    at = open_app_page(PAGE).run()
    at.number_input(key="tr_lr").set_value(0.0)
    at.number_input(key="tr_bs").set_value(0)
    button(at, "Start").click().run()
    assert not at.exception
    assert len(at.error) == 1
    message = at.error[0].value
    assert message.startswith("Cannot start: ")
    assert "The learning rate must be a number above 0 and at most 10 (got 0.0)." in message
    assert "The batch size must be a whole number from 1 to 4096 (got 0)." in message
    assert any("press Start" in i.value for i in at.info)  # no job was created


def test_start_and_follow_a_tiny_run_to_completion() -> None:
    at = open_app_page(PAGE, timeout=120).run()
    at.number_input(key="tr_train").set_value(64)
    at.number_input(key="tr_val").set_value(16)
    at.number_input(key="tr_epochs").set_value(2)
    button(at, "Start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert button(at, "Start").disabled  # settings are locked while the run is active
    deadline = time.monotonic() + 120
    done = False
    while time.monotonic() < deadline and not done:
        time.sleep(0.5)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        done = any(s.value.startswith("Run finished after 2.00 epoch(s)") for s in at.success)
    assert done, [e.value for e in at.error] + [i.value for i in at.info]
    registered = at.session_state["_explorer_user_models"]  # explorer.ui.registry's per-user store
    assert len(registered) == 1
    assert next(iter(registered.values())).source == "trained on the Training page"
    assert not button(at, "Start").disabled
    labels = [c.proto.label for c in at.get("download_button")]
    assert labels == [
        "Download checkpoint (.safetensors)",
        "Download its metadata (.json)",
        "Download history (.csv)",
    ]
    # A finished run says so: no "running" in the progress line, no time left estimated.
    # (the run's bar comes first: the feature space below it may show its own)
    line = [p.proto.text for p in at.get("progress")][0]
    assert " finished after " in line and "estimating" not in line and "left" not in line, line
    # The sidebar links to Feature maps showing this model (the newest of its architecture).
    links = [
        p.proto for p in at.sidebar.get("page_link") if p.proto.label == "Open it on Feature maps"
    ]
    assert (
        len(links) == 1 and links[0].query_string == "arch=keras_cnn&weights=user&view=overview"
    ), links
    name = next(iter(registered.values())).name
    at.query_params.update({"arch": "keras_cnn", "weights": "user", "view": "overview"})
    at.switch_page("app_pages/feature_maps.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert (at.radio(key="fm_kind").value, at.selectbox(key="fm_user_model").value) == (
        "user",
        name,
    )
    assert at.query_params["weights"] == "bundled"  # the address names shared weights, never "user"


def _as_browser(monkeypatch) -> None:
    """AppTest sends no cookies: stand in a browser's cookie by a session-state value."""
    import streamlit as st

    from explorer.ui import identity

    monkeypatch.setattr(identity, "_cookie_id", lambda: st.session_state.get("_test_cookie"))


def _open_as(cookie: str):
    """The Training page in a new session of the browser whose cookie is ``cookie``."""
    from streamlit.testing.v1 import AppTest

    from tests.app.conftest import ROOT

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["_test_cookie"] = cookie  # before the first run: the id is read then
    at.run()
    at.switch_page(PAGE)
    return at.run()


def _stop_all(*apps) -> None:
    for at in apps:
        stop = [b for b in at.button if b.label in ("Stop", "Leave the queue")]
        if stop:
            stop[0].click().run()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        time.sleep(0.5)
        for at in apps:
            at.run()
        if not any(b.label in ("Stop", "Leave the queue") for at in apps for b in at.button):
            break
    assert not any(b.label in ("Stop", "Leave the queue") for at in apps for b in at.button)


ALICE, BOB, CAROL, DAVE = ("b" + c * 32 for c in "abcd")  # the manager outlives a test: own ids


def test_browsers_see_only_their_own_job_and_queue_for_the_slot(monkeypatch) -> None:
    _as_browser(monkeypatch)
    first = _open_as(ALICE)
    first.number_input(key="tr_epochs").set_value(50)  # long enough to still run below
    button(first, "Start").click().run()
    second = _open_as(BOB)
    try:
        assert not second.exception
        assert any("press Start" in i.value for i in second.info)  # nothing of the first user's run
        assert not button(second, "Start").disabled
        second.number_input(key="tr_train").set_value(64)
        button(second, "Start").click().run()
        assert any("position 1 in the queue" in i.value for i in second.info), [
            i.value for i in second.info
        ]
        # a queued view draws nothing heavy: a line and one button, no chart, no image
        assert [
            b.label for b in second.button if b.label in ("Leave the queue", "Stop", "Pause")
        ] == ["Leave the queue"]
        assert not second.get("plotly_chart") and not second.get("imgs")
    finally:
        _stop_all(second, first)


def test_a_reload_finds_the_job_and_another_browser_never_sees_it(monkeypatch) -> None:
    _as_browser(monkeypatch)
    first = _open_as(CAROL)
    first.number_input(key="tr_epochs").set_value(50)
    button(first, "Start").click().run()
    title = first.subheader[0].value
    reloaded = _open_as(CAROL)  # a new session of the same browser (a reload, a second tab)
    stranger = _open_as(DAVE)
    try:
        assert not reloaded.exception and not stranger.exception
        assert (
            reloaded.session_state["_browser_id"] == CAROL != stranger.session_state["_browser_id"]
        )
        assert [s.value for s in reloaded.subheader] == [title]
        assert button(reloaded, "Start").disabled  # the settings are locked: the run is theirs
        assert any(b.label == "Stop" for b in reloaded.button)  # and they control it again
        assert not any(s.value == title for s in stranger.subheader)
        assert any("press Start" in i.value for i in stranger.info)
        assert not any(b.label == "Stop" for b in stranger.button)
    finally:
        _stop_all(reloaded, first)


def test_the_app_submits_picklable_job_specs_not_closures() -> None:
    import pytest

    from explorer.ui import browser_jobs

    with pytest.raises(TypeError, match="JobSpec"):
        browser_jobs.submit(lambda control: iter(()), device="cpu")


def test_session_liveness_without_a_server_keeps_jobs() -> None:
    from explorer.ui.browser_jobs import session_alive

    assert session_alive("no-such-session")  # AppTest/scripts: no runtime, nothing is reaped


def test_default_settings_resets_the_form_and_keeps_the_page() -> None:
    at = open_app_page(PAGE).run()
    at.selectbox(key="tr_model").set_value("lenet5").run()
    at.number_input(key="tr_lr").set_value(0.5)
    at.number_input(key="tr_bs").set_value(7)
    at.number_input(key="tr_epochs").set_value(40).run()
    assert at.number_input(key="tr_lr").value == 0.5
    button(at, "Default settings").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="tr_model").value == "lenet5"  # the model and dataset stay chosen
    assert at.selectbox(key="tr_dataset").value == "digits"
    assert at.number_input(key="tr_lr").value == 0.002  # lenet5's measured defaults on digits
    assert at.number_input(key="tr_bs").value == 64
    assert at.number_input(key="tr_epochs").value != 40
    assert not button(at, "Start").disabled and any("press Start" in i.value for i in at.info)


def test_a_hostile_checkpoint_upload_gives_one_message_shown_as_text() -> None:
    import json

    import torch
    from safetensors.torch import save

    at = open_app_page(PAGE).run()
    for meta, words in (
        (
            {"arch": "keras_cnn", "build": {"image_size": 700}},
            "must be a whole number from 8 to 256, not 700",
        ),
        ({"arch": "**bold**", "format": "x"}, "'format' that is a JSON text"),
        ({"arch": "<b>x</b>"}, "Unknown architecture '<b>x</b>'"),
    ):
        data = save({"x": torch.zeros(1)}, metadata={"explorer": json.dumps(meta)})
        at.file_uploader[0].set_value(
            ("*evil*.safetensors", data, "application/octet-stream")
        ).run()
        assert not at.exception, [e.value for e in at.exception]
        errors = [e.value for e in at.error]
        assert len(errors) == 1 and words in errors[0].replace("\\", "")
        assert "<b>" not in errors[0] and "**" not in errors[0]
    assert (
        "_explorer_user_models" not in at.session_state
        or not at.session_state["_explorer_user_models"]
    )
    at.file_uploader[0].set_value(
        ("plain.safetensors", save({"x": torch.zeros(1)}), "application/octet-stream")
    ).run()
    (error,) = [
        e.value.replace("\\", "") for e in at.error
    ]  # the engine's words, then this page's pointer
    assert error.endswith(
        "cannot tell which architecture it belongs to. Save checkpoints from the Training page."
    )


def test_a_batch_above_the_memory_limit_is_refused_on_the_page() -> None:
    from explorer.training.limits import memory_limit_mb, model_step_memory

    at = open_app_page(PAGE).run()
    at.number_input(key="tr_train").set_value(8000)
    at.number_input(key="tr_bs").set_value(4000)
    button(at, "Start").click().run()
    assert not at.exception
    largest = model_step_memory("keras_cnn", "circles_squares", "adam").largest_batch(
        memory_limit_mb() * 2**20
    )
    assert len(at.error) == 1
    assert (
        "(EXPLORER_JOB_MEMORY_MB): the largest batch size allowed is "
        f"{largest}." in at.error[0].value
    )
    assert any("press Start" in i.value for i in at.info)  # no job was created


def test_the_time_limit_ends_a_run_with_its_message(monkeypatch) -> None:
    from explorer.ui import browser_jobs

    _as_browser(monkeypatch)
    monkeypatch.setattr(browser_jobs.manager(), "time_limit_s", 2.0)
    at = _open_as("b" + "e" * 32)
    at.number_input(key="tr_train").set_value(256)
    at.number_input(key="tr_epochs").set_value(50)
    button(at, "Start").click().run()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not at.success:
        time.sleep(0.5)
        at.run()
    assert not at.exception
    assert any(
        i.value.startswith("Stopped at the time limit of 2 s per job (EXPLORER_JOB_TIME_LIMIT_S)")
        for i in at.info
    ), [i.value for i in at.info]
    assert any(s.value.startswith("Run stopped early after") for s in at.success)
