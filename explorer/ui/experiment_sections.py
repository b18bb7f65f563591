"""The sections of the Experiments page: the chosen experiment's card, its run button and the
live view of its runs (one background job per user that trains the runs one after another)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from explorer.training.experiments import EXPERIMENTS, Experiment, experiment_spec
from explorer.ui import browser_jobs
from explorer.ui.runs_panel import grad_panels, my_runs, overlay_charts

KIND = "comparison"  # the job kind of an experiment (runs_panel folds it into compared runs)
SEQUENCE_NOTE = (
    "Mean squared error of each cell (training batches, and fresh held-out sequences when "
    "measured). Answering the mean scores 1/6 ~ 0.167."
)


def experiment_card(exp: Experiment) -> None:
    """The question, the explanation and quote, the optional measurement at initialisation and
    how long it takes."""
    with st.container(border=True):
        st.markdown(f"**{exp.question}**")
        st.write(exp.explanation)
        if exp.quote:
            st.markdown(f"> {exp.quote}")
        if exp.measured is not None and st.toggle(
            "Measure the gradients at initialisation (about 20 s of CPU)",
            key=f"ex_measure_{exp.key}",
        ):
            with st.spinner("Measuring..."):
                st.dataframe(pd.DataFrame(list(exp.measured())), hide_index=True)
            st.caption(exp.measured_caption)
        st.caption(f"Takes {exp.minutes} on two CPU cores.")


def run_button(exp: Experiment, active: bool) -> None:
    """Submit the experiment as this browser's job (disabled while one runs); a busy slot's
    message is shown on the page."""
    if not st.button("Run this experiment", type="primary", disabled=active, key="ex_start"):
        return
    from explorer.device import pick_device

    target, kwargs = experiment_spec(exp.key)
    try:
        browser_jobs.submit(
            browser_jobs.JobSpec(target, kwargs),
            device=str(pick_device("auto")),
            title=exp.title,
            kind=KIND,
        )
    except browser_jobs.JobBusyError as err:
        st.error(str(err))
    else:
        st.rerun()


def _run_charts(job: browser_jobs.Job, chosen: Experiment) -> bool:
    """The runs of ``job`` so far on shared axes, and the result's final metrics when done;
    False when it has no run yet (nothing drawn)."""
    book = my_runs()
    keys = [r.key for r in book.records() if r.job_id == job.id]
    if not keys:
        return False
    x = st.radio(
        "x axis",
        ["step", "seconds"],
        horizontal=True,
        key="ex_x",
        format_func={"step": "steps", "seconds": "seconds"}.get,
    )
    if "sequence" in chosen.charts:
        overlay_charts(book, keys, x, "ex", ("train_loss", "val_loss"))
        st.caption(SEQUENCE_NOTE)
    else:
        overlay_charts(book, keys, x, "ex", ("train_loss", "val_loss", "train_acc", "val_acc"))
    if "grad_norms" in chosen.charts:
        grad_panels(book, keys, "ex")
    result = job.result
    if result is not None and getattr(result, "metrics", None):
        rows = [
            {"run": name, **{k: round(v, 4) for k, v in m.items()}}
            for name, m in result.metrics.items()
        ]
        st.dataframe(pd.DataFrame(rows), hide_index=True)
    return True


def live_results(job: browser_jobs.Job | None, exp: Experiment, active: bool) -> None:
    """This browser's latest experiment job, redrawn while it runs (a fragment polling at the
    job's interval); ``active`` says whether it was running when the page ran, so the page
    reruns once when it ends (the run button comes back)."""

    @st.fragment(run_every=browser_jobs.poll_interval(job))
    def live_view() -> None:
        job = browser_jobs.current_job(KIND)
        if job is None:
            st.info("Press the button to run the comparison; its runs appear here as they train.")
            return
        st.subheader(job.title)
        st.caption(browser_jobs.status_line(job))
        if not job.done:
            st.button(
                "Stop",
                key="ex_stop",
                on_click=job.stop,
                help="Ends the current run politely and skips the rest.",
            )
        chosen = next((e for e in EXPERIMENTS.values() if e.title == job.title), exp)
        if _run_charts(job, chosen) and job.done and active:
            st.rerun()

    live_view()
