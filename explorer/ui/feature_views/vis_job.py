"""Optimised inputs (one channel, or the hierarchy grid) as a background job of this browser,
with a progress bar, a preview and Stop (targets in explorer.probe.feature_vis_job); ``submit``
and ``follow`` also serve the dataset-examples pass (explorer.ui.feature_views.examples_panel).

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
from explorer.probe.feature_vis_job import complete, model_payload, progress
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


def current(kind: str = JOB_KIND) -> Job | None:
    """This browser's newest job of ``kind`` in the analysis manager, or None."""
    jobs = [j for j in manager().jobs_of(browser_jobs.owner_id()) if j.kind == kind]
    return jobs[-1] if jobs else None


def submit(ctx: ViewContext, kind: str, target: str, kwargs: dict, title: str) -> Job:
    """Queue ``target`` (an engine job generator) for this browser on the analysis manager, with
    the model's payload and the device added to ``kwargs``. Raises JobBusyError (its text says
    why) when it cannot start."""
    from explorer.device import pick_device

    device = str(pick_device())
    with ctx.lm.lock:
        payload = model_payload(
            ctx.lm.arch, ctx.lm.build, ctx.lm.model, imagenet=ctx.lm.kind == "imagenet"
        )
    return manager().submit(
        browser_jobs.owner_id(),
        device,
        JobSpec(target, {**kwargs, "model": payload, "device": device}),
        title=title,
        kind=kind,
    )


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
    try:
        job = submit(ctx, JOB_KIND, target, kwargs, title)
    except JobBusyError as err:
        return str(err)
    st.session_state[_JOB_KEY] = {"id": job.id, "key": key, "shared": shared, "rows": rows}
    return None


def follow(
    job: Job,
    event_type: type,
    progress: Callable[[object | None], tuple[float, str]],
    *,
    stop_key: str | None,
    preview: Callable[[Job], None] | None = None,
) -> None:
    """Follow a running job in a polling fragment: its status and ``progress`` (of its newest
    ``event_type`` event: fraction done, a sentence) as a progress bar, ``preview(job)`` below,
    and Stop (``stop_key``; None: no Stop, the job is another browser's). The whole page reruns
    once the job has ended."""

    @st.fragment(run_every=browser_jobs.poll_interval(job))
    def poll() -> None:
        if job.done:
            st.rerun(scope="app")
        done, text = progress(job.latest(event_type))
        st.progress(min(1.0, done), text=f"{_status(job)} {text}".rstrip())
        if preview is not None:
            preview(job)
        if stop_key is not None and st.button("Stop", key=stop_key):
            job.stop()  # ends between two steps (or batches) with what it has

    poll()


def _vis_preview(job: Job) -> None:
    event = job.latest(fv.VisEvent)
    if event is not None and event.previews:
        img = event.previews[0]
        st.image(
            enlarge(np.repeat(img, 3, axis=2) if img.shape[2] == 1 else img, 160),
            caption=f"Preview at step {event.step}",
        )


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

    follow(job, fv.VisEvent, progress, stop_key="fm_lf_stop", preview=_vis_preview)
    return True
