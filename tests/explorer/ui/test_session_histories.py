"""The per-user histories of trained models: the registry (Training page models) and the
Recurrent page's runs. Both keep the order things were made, drop the oldest past their bound,
and are not reordered by being read (the pickers show them in that order). Also the camera
pictures of own images, kept per class up to a class's cap."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from explorer.ui import recurrent_cache, registry


@pytest.fixture
def session(monkeypatch: pytest.MonkeyPatch) -> dict:
    """A plain dict stands in for ``st.session_state`` (no script run needed)."""
    state: dict = {}
    fake = SimpleNamespace(session_state=state)
    monkeypatch.setattr(registry, "st", fake)
    monkeypatch.setattr(recurrent_cache, "st", fake)
    return state


def _model(name: str) -> registry.UserModel:
    return registry.UserModel(name=name, arch="lenet", build={}, state_dict={})


def test_registry_drops_the_oldest_registered_and_reading_does_not_save_it(session: dict) -> None:
    names = [f"m{i}" for i in range(registry.MAX_MODELS)]
    for name in names:
        registry.register_model(_model(name))
    assert registry.get_user_model("m0") is not None  # looked at, still the oldest registered
    registry.register_model(_model("new"))
    assert [m.name for m in registry.user_models()] == [*names[1:], "new"]
    assert registry.get_user_model("m0") is None


def test_registering_a_name_again_replaces_it_as_the_newest(session: dict) -> None:
    for name in ("a", "b", "c"):
        registry.register_model(_model(name))
    again = _model("a")
    registry.register_model(again)
    assert [m.name for m in registry.user_models()] == ["b", "c", "a"]
    assert registry.get_user_model("a") is again


def _run(task: str, tag: str) -> SimpleNamespace:
    return SimpleNamespace(settings=SimpleNamespace(task=task), models={"rnn": tag})


def test_recurrent_runs_one_per_task_newest_last(session: dict) -> None:
    recurrent_cache.save_run(_run("chars", "c1"))
    recurrent_cache.save_run(_run("sine", "s1"))
    assert recurrent_cache.saved_runs().get("chars").models == {"rnn": "c1"}  # a read: no reorder
    recurrent_cache.save_run(_run("adding", "a1"))
    assert recurrent_cache.trained_models() == ["c1", "s1", "a1"]
    recurrent_cache.save_run(_run("chars", "c2"))  # a newer run of a task replaces the older
    assert recurrent_cache.trained_models() == ["s1", "a1", "c2"]
    for i in range(recurrent_cache.MAX_RUNS + 1):  # more tasks than the bound: the oldest go
        recurrent_cache.save_run(_run(f"task{i}", f"t{i}"))
    assert len(recurrent_cache.saved_runs()) == recurrent_cache.MAX_RUNS
    assert list(recurrent_cache.saved_runs())[-1] == f"task{recurrent_cache.MAX_RUNS}"


def test_camera_pictures_per_class_are_kept_once_and_bounded() -> None:
    from explorer.ui.image_set_panel import CAMERA_SHOTS_PER_CLASS, keep_shot

    pics: list[bytes] = []
    assert (
        keep_shot(pics, b"a", limit=2) == "added" and keep_shot(pics, b"a", limit=2) == "same"
    )  # a rerun
    assert keep_shot(pics, b"b", limit=2) == "added" and keep_shot(pics, b"c", limit=2) == "full"
    assert pics == [b"a", b"b"]
    assert CAMERA_SHOTS_PER_CLASS == 500  # a class's cap in explorer.data.image_sets.Limits
