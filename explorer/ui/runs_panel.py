"""Compare runs: every run of this browser (training, transfer, comparisons) on one chart.

Histories live in a process-wide :class:`~explorer.training.runs.RunStore` keyed by the browser
id (kept in :mod:`explorer.ui.process_state`, like the job manager), folded incrementally from
the owner's jobs, so they stay after a job has been forgotten and survive a reload; nobody sees
another browser's.
"""

from __future__ import annotations

import streamlit as st

from explorer.training.runs import METRICS, RunBook, RunStore, overlay_series, runs_csv
from explorer.ui import browser_jobs, process_state
from explorer.viz.runs import grad_norms_side_by_side, overlay_figure

KINDS = ("training", "comparison", "recurrent")  # a recurrent job gives one run per cell


def store() -> RunStore:
    """The process-wide run store (created once; expires books of browsers gone an hour)."""
    with process_state.run_store_lock:
        if process_state.run_store is None:
            keep_s = float(browser_jobs.server_settings()["keep_s"])
            process_state.run_store = RunStore(keep_s=keep_s)
        process_state.run_store.expire()
        return process_state.run_store


def my_runs() -> RunBook:
    """This browser's run book, brought up to date with its browser_jobs."""
    owner = browser_jobs.owner_id()
    mine = [j for j in browser_jobs.manager().jobs_of(owner) if j.kind in KINDS]
    return store().sync(owner, mine)


def runs_active() -> bool:
    owner = browser_jobs.owner_id()
    return any(not j.done for j in browser_jobs.manager().jobs_of(owner) if j.kind in KINDS)


def overlay_charts(
    book: RunBook, keys: list[str], x: str, prefix: str, metrics: tuple[str, ...]
) -> None:
    """Loss and accuracy (training and validation) of the chosen runs on shared axes."""
    records = [book.runs[k] for k in keys if k in book.runs]
    cols = st.columns(2)
    for i, metric in enumerate(metrics):
        series = overlay_series(records, metric, x)
        if not any(s.y for s in series):
            continue
        cols[i % 2].plotly_chart(overlay_figure(series, metric, x), key=f"{prefix}_{metric}_{x}")


def grad_panels(book: RunBook, keys: list[str], prefix: str) -> None:
    hist = {
        book.runs[k].name: book.runs[k].history
        for k in keys
        if k in book.runs and book.runs[k].history.grad_norms
    }
    if hist:
        st.plotly_chart(grad_norms_side_by_side(hist), key=f"{prefix}_grads")
        st.caption(
            "Mean gradient norm of each weight layer over the first quarter of logged steps, input on "
            "the left. Bars that fall away to the left: the gradient vanishes on its way down."
        )


def _panel() -> None:
    book = my_runs()
    records = [r for r in book.records() if r.history.steps or r.history.epochs]
    if not records:
        st.caption(
            "No runs yet. Every run you start here, on the Experiments page or on the Recurrent page "
            "is kept for this browser and can be overlaid."
        )
        return
    labels = {
        r.key: f"{r.name} (job {r.job_id}{'' if r.finished else ', running'})" for r in records
    }
    # The runs change while the panel polls: keep the user's choice where its runs still exist (a
    # stale key in the widget's state made Streamlit fail to serialise it), else the last two runs.
    prev = st.session_state.get("runs_chosen")
    kept = [k for k in prev if k in labels] if prev is not None else []
    cleared_by_user = prev is not None and not prev
    st.session_state["runs_chosen"] = (
        kept if (kept or cleared_by_user) else [r.key for r in records[-2:]]
    )
    chosen = st.multiselect(
        "Runs", list(labels), format_func=lambda k: labels.get(k, str(k)), key="runs_chosen"
    )
    x = st.radio(
        "x axis",
        ["step", "seconds"],
        horizontal=True,
        key="runs_x",
        format_func={"step": "steps", "seconds": "seconds"}.get,
    )
    overlay_charts(book, chosen, x, "runs", tuple(METRICS))
    chosen_records = [book.runs[k] for k in chosen if k in book.runs]
    if len(chosen_records) > 1:  # one run's own CSV is with its results above
        st.download_button(
            "Download these runs (.csv)",
            runs_csv(chosen_records),
            file_name="runs.csv",
            mime="text/csv",
            on_click="ignore",
            key="runs_csv",
        )


def runs_section() -> None:
    """The "Compare runs" panel: polls while one of this browser's runs is going."""
    with st.expander("Compare runs", expanded=False):
        every = browser_jobs.RUNNING_POLL_S * 2 if runs_active() else None

        @st.fragment(run_every=every)
        def live() -> None:
            _panel()

        live()
