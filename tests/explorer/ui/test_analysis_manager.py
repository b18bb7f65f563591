"""The analysis manager (explorer.ui.feature_space_panel.manager): feature spaces and optimised
inputs run outside the web process on the backend the training runs use, and a browser keeps its
finished job of each kind."""

from __future__ import annotations

import pytest

from explorer.training import backends
from explorer.training.backends.process import ProcessBackend
from explorer.training.backends.thread import ThreadBackend
from explorer.training.job_manager import JobManager, JobSpec, JobState
from explorer.ui import browser_jobs, feature_space_panel, process_state
from explorer.ui.feature_views import vis_job

OWNER = "b" + "7" * 32


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch):
    """No analysis manager yet, no Ray address; yields a list the test appends its manager to,
    shut down (workers and all) afterwards."""
    monkeypatch.setattr(process_state, "feature_space_manager", None)
    monkeypatch.delenv("EXPLORER_RAY_ADDRESS", raising=False)
    made: list[JobManager] = []
    yield made
    for m in made:
        m.shutdown(5.0)
        m.backend.close()


def test_the_analysis_manager_runs_on_the_backend_from_env(monkeypatch, fresh) -> None:
    asked: list[dict] = []
    real = backends.backend_from_env

    def recording(**kwargs):
        asked.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(backends, "backend_from_env", recording)
    monkeypatch.setenv("EXPLORER_CPU_JOBS", "3")
    fresh.append(feature_space_panel.manager())
    made = fresh[0]
    assert feature_space_panel.manager() is made  # one per process
    assert asked == [{"cpu_jobs": 3}]  # the server settings, as the training manager asks
    assert type(made.backend) is ProcessBackend and made.backend.name == "process"
    assert made.slots_for("cpu") == 1 and made.slots_for("cuda:0") == 1


def _finished(m: JobManager, kind: str, value: str):
    def job(control):
        yield "step"
        return value

    made = m.submit(OWNER, "cpu", job, kind=kind)
    assert made.wait(30) and made.state is JobState.FINISHED
    return made


def test_a_finished_optimised_input_survives_a_feature_space_of_the_same_browser(
    monkeypatch, fresh
) -> None:
    monkeypatch.setattr(backends, "backend_from_env", lambda **kwargs: ThreadBackend())
    monkeypatch.setattr(browser_jobs, "owner_id", lambda: OWNER)
    m = feature_space_panel.manager()
    fresh.append(m)
    grid = _finished(m, vis_job.JOB_KIND, "grid")
    first = _finished(m, feature_space_panel.JOB_KIND, "space 1")
    second = _finished(m, feature_space_panel.JOB_KIND, "space 2")
    # one finished job per kind: the older feature space goes, the grid stays
    assert m.jobs_of(OWNER) == [grid, second] and first not in m.jobs_of(OWNER)
    assert vis_job.current() is grid and feature_space_panel._current() is second
    # the training manager's rule is unchanged: one finished job per browser, whatever its kind
    training = JobManager()
    _finished(training, vis_job.JOB_KIND, "grid")
    last = _finished(training, feature_space_panel.JOB_KIND, "space")
    assert training.jobs_of(OWNER) == [last]


def test_both_kinds_of_analysis_job_run_in_a_worker_process(monkeypatch, fresh) -> None:
    """A transfer panel's feature spaces (a SourceWeights with its state dict in the recipe) and
    a hierarchy grid cross the process boundary as JobSpecs and come back whole."""
    from explorer.probe import feature_vis as fv
    from explorer.probe.feature_vis_job import HIERARCHY_TARGET, model_payload
    from explorer.training import feature_space_job as fsj
    from explorer.training.fit import build_model
    from explorer.training.transfer_weights import bundled_source

    m = feature_space_panel.manager()
    fresh.append(m)
    assert type(m.backend) is ProcessBackend
    request = fsj.pretrained_vs_scratch(bundled_source("lenet5"), "digits", n=40)
    kwargs = {"models": list(request.models), "data": dict(request.data), "layer": None}
    space = m.submit(
        OWNER, "cpu", JobSpec(fsj.TARGET, kwargs | {"method": "pca"}), kind="feature_space"
    )
    assert space.wait(180), space.state
    assert space.state is JobState.FINISHED, space.error
    titles = [t for t, _ in space.result.spaces]
    assert titles == [
        "Pretrained: " + request.models[0][1]["source"].describe(),
        request.models[1][0],
    ]
    assert [s.points.shape for _, s in space.result.spaces] == [(40, 2), (40, 2)]

    net, build = build_model("lenet5", 1, 10, 28, seed=0)
    rows = [(r.depth, r.layer, r.channels) for r in fv.hierarchy(net, (1, 28, 28), per_layer=2)]
    vis_kwargs = {
        "model": model_payload("lenet5", build, net),
        "rows": rows,
        "input_shape": (1, 28, 28),
        "settings": fv.VisSettings(steps=2, preview_every=0),
    }
    grid = m.submit(OWNER, "cpu", JobSpec(HIERARCHY_TARGET, vis_kwargs), kind=vis_job.JOB_KIND)
    assert grid.wait(180), grid.state
    assert grid.state is JobState.FINISHED, grid.error
    assert [len(images) for images in grid.result] == [len(r[2]) for r in rows]
    assert m.jobs_of(OWNER) == [space, grid]  # both kept: one finished job per kind
