"""Experiments: the comparisons the course argues from, each launched with one click.

Each experiment is ONE background job that trains its runs one after another (one job per
user); the charts fill run by run as the events arrive.
"""

from __future__ import annotations

import streamlit as st

from explorer.training.experiments import EXPERIMENTS
from explorer.ui import browser_jobs
from explorer.ui.experiment_sections import KIND, experiment_card, live_results, run_button
from explorer.ui.state import PageState

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
experiment_card(exp)

job = browser_jobs.current_job(KIND)
active = job is not None and not job.done
run_button(exp, active)
live_results(job, exp, active)
url.done()
