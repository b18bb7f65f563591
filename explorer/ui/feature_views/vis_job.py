"""Optimised inputs (one channel, or the hierarchy grid) as a background job of this browser,
with a progress bar, a preview and Stop (targets in explorer.probe.feature_vis_job).

The jobs go to the process-wide analysis manager (explorer.ui.feature_space_panel.manager),
which also runs the feature-space jobs: one job at a time per device, in worker processes (or on
Ray) like the training runs, and one finished job kept per browser *and kind*, so a feature space
started later does not drop a finished, not yet shown grid. Not the training manager: that one
keeps one finished job per browser, so an optimised input there would drop the finished training
run the Training page shows. The job works on its own copy of the model, rebuilt from catalog
key + build arguments + state dict (ImageNet weights: the key only), never on the shared one; so
only catalog models run as jobs, and an imported model (explorer.models.imported_entry) gets the
bounded run in the page instead.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import streamlit as st

from explorer.probe import feature_vis as fv
from explorer.probe.feature_vis_job import complete, model_payload
from explorer.training.job_manager import Job, JobBusyError, JobSpec, JobState
from explorer.ui import browser_jobs
from explorer.ui.feature_space_panel import manager
from explorer.ui.feature_views.context import ViewContext
from explorer.ui.state import escape_text
from explorer.viz.montage import enlarge

JOB_KIND = "feature_vis"
_JOB_KEY = "fm_lf_job"  # session: the job's id and the cache key its result goes under


def _status(job: Job) -> str:
    if job.state is JobState.QUEUED:
        return f"Waiting for the analysis worker: position {manager().queue_position(job)}."
    return browser_jobs.status_line(job)


def current() -> Job | None:
    """This browser's newest optimised-input job in the analysis manager, or None."""
    jobs = [j for j in manager().jobs_of(browser_jobs.owner_id()) if j.kind == JOB_KIND]
    return jobs[-1] if jobs else None


def start(
    ctx: ViewContext,
    target: str,
    kwargs: dict,
    key: str,
    title: str,
    *,
    shared: bool = False,
    rows: int | None = None,
) -> str | None:
    """Queue ``target`` (explorer.probe.feature_vis_job) for this browser with the model's payload
    added to ``kwargs``; the reason as text when it cannot start. ``shared``: the finished result
    is nobody's own (a process-wide model), so every session may reuse it once it is complete
    (all steps; for the grid, all ``rows``)."""
    from explorer.device import pick_device

    device = str(pick_device())
    with ctx.lm.lock:
        payload = model_payload(
            ctx.lm.arch, ctx.lm.build, ctx.lm.model, imagenet=ctx.lm.kind == "imagenet"
        )
    try:
        job = manager().submit(
            browser_jobs.owner_id(),
            device,
            JobSpec(target, {**kwargs, "model": payload, "device": device}),
            title=title,
            kind=JOB_KIND,
        )
    except JobBusyError as err:
        return str(err)
    st.session_state[_JOB_KEY] = {"id": job.id, "key": key, "shared": shared, "rows": rows}
    return None


def live(remember: Callable[[str, object, bool], None]) -> bool:
    """Draw this browser's running optimisation (progress, preview, Stop); keep a finished one's
    result with ``remember(key, result, shared)`` (shared only when complete and nobody's own).
    True while a job runs."""
    info = st.session_state.get(_JOB_KEY)
    if not info:
        return False
    job = current()
    if job is None or job.id != info["id"]:
        st.session_state.pop(_JOB_KEY, None)
        return False
    if job.done:
        st.session_state.pop(_JOB_KEY, None)
        if job.result is not None:  # a VisEvent (one channel) or the images per row (the grid)
            shared = bool(info.get("shared")) and complete(job.result, info.get("rows"))
            remember(info["key"], job.result, shared)
        else:
            st.error(escape_text(_status(job)))
        return False

    @st.fragment(run_every=browser_jobs.poll_interval(job))
    def poll() -> None:
        if job.done:
            st.rerun(scope="app")
        event = job.latest(fv.VisEvent)
        done = event.step / event.steps if event else 0.0
        text = _status(job) + (
            f" Step {event.step} of {event.steps}, mean activation {event.objective:.3g}."
            if event
            else ""
        )
        st.progress(min(1.0, done), text=text)
        if event is not None and event.previews:
            img = event.previews[0]
            st.image(
                enlarge(np.repeat(img, 3, axis=2) if img.shape[2] == 1 else img, 160),
                caption=f"Preview at step {event.step}",
            )
        if st.button("Stop", key="fm_lf_stop"):
            job.stop()  # ends between two steps with the picture as it is

    poll()
    return True
