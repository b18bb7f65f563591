"""Train and compare, on the Recurrent page: RNN, GRU and LSTM learn one task side by side.

The widgets describe a comparison run (``training_settings``); ``training_section`` starts it as a
background job of the shared job machinery, follows it live in a polling fragment (progress,
controls, curves, samples) and shows each finished run, whose models feed the page's views.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from explorer.data.sequences import input_kind_for_task
from explorer.models.recurrent_cells import CELLS
from explorer.training.job_manager import JobState
from explorer.training.sequence import (
    SeqSample,
    SeqStep,
    SequenceRun,
    SequenceSettings,
    SequenceTrainingError,
    sample_text,
)
from explorer.training.sequence_events import compare_curves, compare_val_curves
from explorer.training.sequence_tasks import (
    TASK_BASELINE,
    TASK_DEFAULTS,
    TASK_LENGTH_NAME,
    TASK_METRIC,
    TASK_TITLES,
    TASKS,
)
from explorer.ui import browser_jobs
from explorer.ui import recurrent_cache as rc
from explorer.viz.recurrent_curves import learning_curves


def _schedule_settings(task: str) -> tuple[int, int, float, str]:
    """The run's second row: steps, window (or sequence length), learning rate and, for text,
    how characters enter; each defaults to the task's own value."""
    s1, s2, s3, s4 = st.columns(4)
    defaults = TASK_DEFAULTS[task]
    steps = s1.select_slider(
        "Steps",
        [50, 100, 200, 400, 800, 1500, 3000],
        defaults.steps,
        key=f"rec_train_steps_{task}",
    )
    seq_len = s2.slider(
        TASK_LENGTH_NAME[task],
        10,
        200,
        defaults.seq_len,
        step=5,
        key=f"rec_train_len_{task}",
    )
    lr = s3.select_slider(
        "Learning rate", [1e-3, 3e-3, 1e-2, 3e-2], defaults.lr, key=f"rec_train_lr_{task}"
    )
    encoding = "onehot"
    if input_kind_for_task(task) == "text":
        encoding = s4.radio(
            "Characters enter as ",
            ["onehot", "embedding"],
            key="rec_train_enc",
            format_func={"onehot": "one-hot", "embedding": "embedding"}.get,
        )
    return steps, seq_len, lr, encoding


def _stability_settings() -> tuple[float, float]:
    """The run's third row: gradient clipping and the LSTM's forget-gate bias at the start."""
    k1, k2, _ = st.columns([1, 1, 2])
    clip = k1.select_slider(
        "Gradient clipping (max norm)",
        [0.0, 0.25, 1.0, 5.0, 25.0],
        1.0,
        key="rec_train_clip",
        format_func=lambda v: "off" if v == 0 else f"{v:g}",
    )
    forget_bias = k2.radio(
        "LSTM forget-gate bias at start",
        [0.0, 1.0],
        horizontal=True,
        key="rec_train_fb",
        help="1.0 as in Jozefowicz et al. (2015): the LSTM starts by remembering.",
    )
    return clip, forget_bias


def training_settings() -> SequenceSettings:
    """The comparison run the widgets describe (bounded widgets; validated by the engine): the
    task and the networks, then the schedule, then the stabilisers, one row each."""
    t1, t2, t3, t4 = st.columns(4)
    task = t1.selectbox("Task", TASKS, format_func=TASK_TITLES.get, key="rec_task")
    hidden0 = TASK_DEFAULTS[task].hidden_size
    cells = t2.multiselect(
        "Cells", CELLS, default=list(CELLS), format_func=str.upper, key="rec_train_cells"
    )
    hidden_size = t3.select_slider(
        "Hidden size ", [8, 16, 32, 64, 128], hidden0, key=f"rec_train_hidden_{task}"
    )
    num_layers = t4.slider("Layers ", 1, 2, 1, key="rec_train_layers")
    steps, seq_len, lr, encoding = _schedule_settings(task)
    clip, forget_bias = _stability_settings()
    return SequenceSettings(
        task=task,
        cells=tuple(cells),
        hidden_size=hidden_size,
        num_layers=num_layers,
        steps=steps,
        seq_len=seq_len,
        lr=lr,
        encoding=encoding,
        clip=clip,
        forget_bias=forget_bias,
    )


def show_run_results(run: SequenceRun) -> None:
    """Curves, final numbers and (for text) a sample from each finished model."""
    task = run.settings.task
    st.plotly_chart(
        learning_curves(
            run.curves,
            TASK_METRIC[task],
            TASK_BASELINE[task],
            title=f"{TASK_TITLES[task]}: learning curves",
            val_curves=getattr(run, "val_curves", None),
        ),
        width="stretch",
        key=f"rec_final_curves_{task}",
    )
    held_out = getattr(run, "val_curves", None) or {}
    metric = TASK_METRIC[task]
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "cell": m.config.cell.upper(),
                    f"held-out {metric}": round(held_out[cell][-1][1], 4)
                    if held_out.get(cell)
                    else None,
                    f"training {metric} (last batch)": round(m.metric, 4),
                    "steps": m.steps,
                    "parameters": sum(v.numel() for v in m.state_dict.values()),
                }
                for cell, m in run.models.items()
            ]
        ),
        hide_index=True,
    )
    st.caption(
        f"Held-out: {metric} on data the models never trained on (the judge of what they learnt); "
        "training: the last batch, which a model can memorise."
    )
    if input_kind_for_task(task) != "text":
        return
    st.markdown("**Let the character models write**")
    w1, w2, w3 = st.columns([2, 1, 1])
    prime = w1.text_input("Start with", "The ", max_chars=100, key="rec_prime")
    temperature = w2.slider("Temperature", 0.1, 2.0, 0.8, step=0.1, key="rec_temperature")
    length = w3.slider("Characters", 50, 600, 200, step=50, key="rec_sample_len")
    if st.button("Write", key="rec_write"):
        samples = {}
        for cell, model in run.models.items():
            try:
                samples[cell] = sample_text(model.instantiate(), prime, length, temperature)
            except SequenceTrainingError as err:
                samples[cell] = str(err)
        st.session_state["rec_samples"] = samples
    if st.session_state.get("rec_samples"):
        st.caption(
            "Every model draws with the same random numbers: the differences are the models'."
        )
    for cell, text in st.session_state.get("rec_samples", {}).items():
        st.caption(cell.upper())
        st.text(text)  # plain text: model output is never rendered as HTML/Markdown


def _progress(job) -> None:
    """The job's status line and, once it has steps, its progress bar."""
    latest = job.latest(SeqStep)
    total = rc.job_settings().steps if rc.job_settings() else None
    line = f"{job.title}: {browser_jobs.status_line(job)}"
    if latest is not None and total:
        line += f" Step {latest.step} of {total}."
    st.markdown(line)
    if latest is not None and total:
        st.progress(min(latest.step / total, 1.0))


def _controls(job) -> None:
    """Pause or resume, stop (keeping the models), cancel."""
    b1, b2, b3 = st.columns(3)
    if job.state is JobState.PAUSED:
        if b1.button("Resume", key="rec_resume"):
            job.resume()
            st.rerun(scope="fragment")
    elif b1.button("Pause", key="rec_pause", disabled=job.state is not JobState.RUNNING):
        job.pause()
        st.rerun(scope="fragment")
    if b2.button("Stop (keep the models)", key="rec_stop"):
        job.stop()
        st.rerun(scope="fragment")
    if b3.button("Cancel", key="rec_cancel"):
        job.cancel()
        st.rerun(scope="fragment")


def _live_curves(job) -> None:
    """The curves so far and the latest text a character model wrote."""
    curves = compare_curves(job.log)
    if curves and rc.job_settings() is not None:
        task = rc.job_settings().task
        st.plotly_chart(
            learning_curves(
                curves,
                TASK_METRIC[task],
                TASK_BASELINE[task],
                val_curves=compare_val_curves(job.log),
            ),
            width="stretch",
            key="rec_live_curves",
        )
    sample = job.latest(SeqSample)
    if sample is not None:
        st.caption(f"{sample.cell.upper()} writes at step {sample.step}:")
        st.text(sample.text)


def _live(running: bool, queued: bool) -> None:
    """One poll of this user's job: its progress, and its controls and curves while it runs."""
    current = browser_jobs.current_job(rc.JOB_KIND)
    if current is None:
        return
    if queued and current.state is not JobState.QUEUED:
        st.rerun(scope="app")  # its turn came: switch to the running view's polling rate
    _progress(current)
    if current.done:
        if current.state is JobState.FAILED:
            st.error(f"Training failed: {current.error}")
        new_models = rc.collect_result(current)
        if new_models or running:
            st.rerun(scope="app")  # stop polling; new models appear under Weights
        return
    _controls(current)
    _live_curves(current)


def training_section() -> None:
    """Start a comparison run, follow it live, keep its models for the views above."""
    settings = training_settings()
    job = browser_jobs.current_job(rc.JOB_KIND)
    running = job is not None and not job.done
    queued = running and job.state is JobState.QUEUED

    # A queued view polls every 5 s (it only waits for its turn); a running one every second.
    @st.fragment(run_every=(5.0 if queued else 1.0) if running else None)
    def live() -> None:
        _live(running, queued)

    if st.button("Train and compare", type="primary", disabled=running, key="rec_train"):
        try:
            settings.validate()
            rc.start_training(settings)
        except (SequenceTrainingError, rc.JobUnavailableError) as err:
            st.error(str(err))
        else:
            st.rerun()
    live()
    for run in reversed(list(rc.saved_runs().values())):
        with st.expander(f"Finished: {TASK_TITLES[run.settings.task]}", expanded=True):
            show_run_results(run)
