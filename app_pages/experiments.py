"""Experiments: the comparisons the course argues from, each launched with one click.

Each experiment is ONE background job that trains its runs one after another (one job per
user); the charts fill run by run as the events arrive.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from explorer.training.experiments import EXPERIMENTS, experiment_spec
from explorer.ui import browser_jobs
from explorer.ui.runs_panel import grad_panels, my_runs, overlay_charts
from explorer.ui.state import PageState

KIND = "comparison"

st.title("Experiments")
st.caption(
    "The claims of the course, tested by experiment: each button trains the runs of one comparison "
    "one after another in the background and draws them on the same axes. On a one-slot CPU they "
    "queue behind other users' runs; the charts fill as each run goes."
)

url = PageState("experiments")  # ?exp=<key>: the Course page's tips link an experiment
url.copy_link()  # filled by url.done() at the end, with every setting bound
url.bind("exp", "ex_key", default=next(iter(EXPERIMENTS)), valid=list(EXPERIMENTS))
key = st.radio(
    "Experiment",
    list(EXPERIMENTS),
    format_func=lambda k: EXPERIMENTS[k].title,
    horizontal=True,
    key="ex_key",
)
exp = EXPERIMENTS[key]
with st.container(border=True):
    st.markdown(f"**{exp.question}**")
    st.write(exp.explanation)
    if exp.quote:
        st.markdown(f"> {exp.quote}")
    if exp.measured is not None and st.toggle(
        "Measure the gradients at initialisation (about 20 s of CPU)", key=f"ex_measure_{exp.key}"
    ):
        with st.spinner("Measuring..."):
            st.dataframe(pd.DataFrame(list(exp.measured())), hide_index=True)
        st.caption(exp.measured_caption)
    st.caption(f"Takes {exp.minutes} on two CPU cores.")

job = browser_jobs.current_job(KIND)
active = job is not None and not job.done
if st.button("Run this experiment", type="primary", disabled=active, key="ex_start"):
    from explorer.device import pick_device

    target, kwargs = experiment_spec(key)
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
    book = my_runs()
    keys = [r.key for r in book.records() if r.job_id == job.id]
    if not keys:
        return
    chosen = next((e for e in EXPERIMENTS.values() if e.title == job.title), exp)
    x = st.radio(
        "x axis",
        ["step", "seconds"],
        horizontal=True,
        key="ex_x",
        format_func={"step": "steps", "seconds": "seconds"}.get,
    )
    if "sequence" in chosen.charts:
        overlay_charts(book, keys, x, "ex", ("train_loss", "val_loss"))
        st.caption(
            "Mean squared error of each cell (training batches, and fresh held-out sequences when "
            "measured). Answering the mean scores 1/6 ~ 0.167."
        )
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
    if job.done and active:
        st.rerun()


live_view()
url.done()
