"""Feature spaces side by side, with their linear-probe accuracies: the one widget that the Training
page (a finished run against its random initialisation) and the transfer panel (pretrained
against from-scratch features of the new classes) show, and whose charts the Feature maps view
"What it looks for" draws too.

The computation (explorer.training.feature_space_job) runs as a background job of this browser
with a progress bar, so a rerun never waits for it. It goes to the server's *analysis* manager
(:func:`manager`), which runs both kinds of analysis job: these feature spaces and the optimised
inputs / hierarchy grids of Feature maps (explorer.ui.feature_views.vis_job). Like the training
runs, the jobs run outside the web process (local worker processes, or Ray), one at a time per
device for all browsers. It is not the training manager, which keeps one finished job per browser
(a job there would drop the run being looked at); this one keeps one per browser and kind.
Results are kept per session in a bounded store.
Plotly's hover shows text only (class and image index; a picture in ``customdata`` is not
rendered), so a click on a point shows that test image beside the chart (``on_select``).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import numpy as np
import streamlit as st

from explorer.bounded import BoundedStore
from explorer.probe import feature_space as fs
from explorer.training.feature_space_job import (
    TARGET,
    SpaceProgress,
    SpaceRequest,
    SpaceResult,
)
from explorer.training.job_manager import Job, JobBusyError, JobManager, JobSpec, JobState
from explorer.ui import browser_jobs, process_state
from explorer.ui.state import PageState, escape_text
from explorer.viz.feature_space import feature_scatter, selected_index
from explorer.viz.montage import enlarge

JOB_KIND = "feature_space"
KEPT = 4  # feature spaces (with their test images as thumbnails) kept per session
METHOD_LABELS = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
PROBE_NOTE = (
    "The linear probe is a logistic regression trained on 70% of these features and scored on "
    "the other 30%: how separable the classes are for a linear classifier."
)


def manager() -> JobManager:
    """The process-wide analysis manager (kept in ``process_state``): feature-space jobs
    (``JOB_KIND``) and optimised inputs / hierarchy grids (``vis_job.JOB_KIND``) of every browser,
    one job at a time per device, in worker processes (or on Ray) like the training runs
    (:func:`browser_jobs.start_manager`). A browser keeps its latest finished job of each kind, so
    a feature space started after a hierarchy grid does not drop the grid. Not the training
    manager: that one keeps one finished job per browser, so a job there would drop the run."""
    with process_state.feature_space_manager_lock:
        if process_state.feature_space_manager is None:
            process_state.feature_space_manager = browser_jobs.start_manager(
                "analysis", {"cpu": 1, "cuda": 1}, keep_per_kind=True, warm=False
            )
        return process_state.feature_space_manager


def _current() -> Job | None:
    """This browser's newest feature-space job (not an optimised input), or None."""
    jobs = [j for j in manager().jobs_of(browser_jobs.owner_id()) if j.kind == JOB_KIND]
    return jobs[-1] if jobs else None


def _status(job: Job) -> str:
    if job.state is JobState.QUEUED:
        return f"Waiting for the feature-space worker: position {manager().queue_position(job)}."
    return browser_jobs.status_line(job)


def _store() -> BoundedStore:
    return st.session_state.setdefault("fsp_results", BoundedStore(KEPT, "feature spaces"))


def _choices(
    prefix: str, request: SpaceRequest, page_url: PageState | None, name_of: Callable
) -> tuple[str | None, str]:
    """The layer (None: the penultimate) and the projection, bound to the URL when ``page_url``."""
    options = fs.methods()
    layer = None
    c1, c2 = st.columns([2, 3])
    if request.layers:
        default = request.default_layer or request.layers[-1]
        if page_url is not None:
            page_url.bind("fslayer", f"{prefix}_fs_layer", default=default, valid=request.layers)
        else:
            st.session_state.setdefault(f"{prefix}_fs_layer", default)
        layer = c1.selectbox(
            "Features of layer", list(request.layers), key=f"{prefix}_fs_layer", format_func=name_of
        )
    if page_url is not None:
        page_url.bind("fsproj", f"{prefix}_fs_proj", default="pca", valid=options)
    method = c2.radio(
        "Projection",
        options,
        key=f"{prefix}_fs_proj",
        format_func=METHOD_LABELS.get,
        horizontal=True,
    )
    return layer, method


def feature_space_compare(
    prefix: str,
    request: SpaceRequest,
    *,
    page_url: PageState | None = None,
    auto: bool = False,
    name_of: Callable[[str], str] = str,
) -> None:
    """Layer and projection choices, then the feature spaces of ``request`` side by side, each
    with its linear-probe accuracy; computed as a job on request (``auto``: as soon as shown)."""
    layer, method = _choices(prefix, request, page_url, name_of)
    key = f"{request.key}|{layer}|{method}"
    if _follow(prefix):
        return
    store = _store()
    if key not in store:
        if not auto and not st.button(
            "Compute the feature spaces", key=f"{prefix}_fs_go", type="primary"
        ):
            return
        _start(prefix, request, key, layer, method)
        if _follow(prefix):
            return
    result = store.get(key)
    if isinstance(result, str):
        st.error(escape_text(result, limit=600))
        if st.button("Try again", key=f"{prefix}_fs_retry"):
            del store[key]
            st.rerun()
    elif result is not None:
        show_spaces(prefix, result, name_of)


def _start(prefix: str, request: SpaceRequest, key: str, layer: str | None, method: str) -> None:
    """Queue the job for this browser; a refusal (its previous one still runs) is said once."""
    from explorer.device import pick_device

    device = str(pick_device())
    kwargs = {"models": list(request.models), "data": dict(request.data), "layer": layer}
    kwargs |= {"method": method, "seed": 0, "device": device}
    try:
        job = manager().submit(
            browser_jobs.owner_id(),
            device,
            JobSpec(TARGET, kwargs),
            title=request.title,
            kind=JOB_KIND,
        )
    except JobBusyError as err:
        st.info(escape_text(str(err), limit=400))
        return
    st.session_state[f"{prefix}_fs_job"] = {"id": job.id, "key": key}


def _follow(prefix: str) -> bool:
    """This browser's feature-space job of ``prefix``: a progress bar polled by a fragment while
    it runs (True); once done, its result (or its message) goes into the store (False)."""
    info = st.session_state.get(f"{prefix}_fs_job")
    if not info:
        return False
    job = _current()
    if job is None or job.id != info["id"]:
        st.session_state.pop(f"{prefix}_fs_job", None)
        return False
    if job.done:
        st.session_state.pop(f"{prefix}_fs_job", None)
        done = job.result is not None and job.state is JobState.FINISHED
        _store()[info["key"]] = job.result if done else (job.error or _status(job))
        return False

    @st.fragment(run_every=browser_jobs.poll_interval(job))
    def poll() -> None:
        if job.done:
            st.rerun(scope="app")
        event = job.latest(SpaceProgress)
        share = event.done / max(event.total, 1) if event else 0.0
        text = _status(job) + (f" {event.message}" if event else "")
        st.progress(min(1.0, share), text=text)

    poll()
    return True


def show_spaces(prefix: str, result: SpaceResult, name_of: Callable[[str], str] = str) -> None:
    """Each space in its column: its linear-probe accuracy, the scatter, and the image of a
    clicked point."""
    cols = st.columns(len(result.spaces))
    for i, (col, (title, space)) in enumerate(zip(cols, result.spaces, strict=True)):
        # class names may be a folder's names: plotly renders HTML in labels, so text only
        shown = [html.escape(str(c)) for c in space.classes]
        with col:
            # a title may hold a user's model name: text in the label, escaped HTML in the chart
            label = escape_text(title, limit=80) + ": linear-probe accuracy"
            st.metric(label, f"{space.probe_accuracy:.0%}")
            event = st.plotly_chart(
                feature_scatter(
                    space.points,
                    space.labels,
                    shown,
                    method=space.method,
                    title=html.escape(title),
                    height=420,
                ),
                key=f"{prefix}_fs_chart{i}",
                on_select="rerun",
                selection_mode="points",
            )
            _clicked_image(event, space, result.images)
    st.caption(
        f"Each point is one test image, placed by the features of {name_of(result.spaces[0][1].layer)} "
        "(pooled over positions), coloured by its class; hover names its class and index, a click "
        "shows the image. " + PROBE_NOTE
    )


def _clicked_image(event: Any, space: fs.FeatureSpace, images: np.ndarray) -> None:
    """The test image of the clicked point, enlarged, with its class."""
    points = ((event or {}).get("selection") or {}).get("points") or []
    index = selected_index(points, space.labels, space.classes)
    if index is None or not 0 <= index < len(images):
        return
    img = images[index]
    label = int(np.asarray(space.labels).reshape(-1)[index])
    name = space.classes[label] if 0 <= label < len(space.classes) else str(label)
    st.image(
        enlarge(np.repeat(img, 3, axis=2) if img.shape[2] == 1 else img, 160),
        caption=f"image {index}: " + escape_text(str(name), limit=60),
    )
