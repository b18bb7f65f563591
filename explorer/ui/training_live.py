"""The Training page's live view of a run: status, progress, curves, snapshots, results.

The page's fragment polls a background job (explorer.ui.browser_jobs) and calls these once a second;
each keeps what it draws in the session (the history folded incrementally, figures and snapshot
montages rebuilt only when new points arrived), so a poll costs little. Figures come from
explorer.viz.training.
"""

from __future__ import annotations

import html

import streamlit as st

from explorer.bounded import BoundedStore
from explorer.training.checkpoints import checkpoint_of, meta_from_result
from explorer.training.events import Finished, History, Preparing, Snapshot
from explorer.training.fit import FitResult
from explorer.ui import browser_jobs
from explorer.ui.registry import register_finished_training
from explorer.ui.state import escape_text
from explorer.viz import training as viz

# What the progress line says of a run that has ended, instead of a time left.
ENDINGS = {
    browser_jobs.JobState.FINISHED: "finished",
    browser_jobs.JobState.CANCELLED: "stopped",
    browser_jobs.JobState.FAILED: "failed",
}
DOWNLOAD_RUNS = 1  # the finished run's download files only: each holds a full checkpoint


def history_of(job: browser_jobs.Job) -> History:
    """Fold the job's new events into this session's history (incremental, cheap)."""
    job_id, cursor, history = st.session_state.get("tr_history", (None, 0, History()))
    if job_id != job.id:
        cursor, history = 0, History()
    events, cursor = job.events_since(cursor)
    for event in events:
        history.add(event)
    st.session_state["tr_history"] = (job.id, cursor, history)
    return history


def controls(job: browser_jobs.Job) -> None:
    """Pause / resume and stop buttons of a running job."""
    # Callbacks run before the rerun the click causes, so the buttons redraw in the new state.
    c1, c2, _ = st.columns([1, 1, 4])
    if job.state is browser_jobs.JobState.PAUSED:
        c1.button("Resume", key="tr_resume", on_click=job.resume)
    else:
        c1.button(
            "Pause",
            key="tr_pause",
            on_click=job.pause,
            disabled=job.state is not browser_jobs.JobState.RUNNING,
        )
    c2.button(
        "Stop",
        key="tr_stop",
        on_click=job.stop,
        help="Ends the run after this step and evaluates the model.",
    )


def _live_figures(job: browser_jobs.Job, h: History) -> list:
    """The five live curves, from a compact history, rebuilt only when new points arrived."""
    key = (job.id, len(h.steps), len(h.epochs), job.done)  # the end of a run relabels the curves
    cached = st.session_state.get("tr_live_figs")
    if cached is None or cached[0] != key:
        c = browser_jobs.compact_history(h)
        figs = [
            viz.loss_figure(c, not job.done),
            viz.accuracy_figure(c, not job.done),
            viz.grad_norm_figure(c),
            viz.lr_figure(c),
            viz.throughput_figure(c),
        ]
        cached = (key, figs)
        st.session_state["tr_live_figs"] = cached
    return cached[1]


def _snapshot_images(job: browser_jobs.Job, snap: Snapshot) -> dict:
    """Montages of a snapshot, made once per new snapshot (a poll without one reuses them)."""
    cached = st.session_state.get("tr_live_snap")
    if cached is None or cached[0] != (job.id, snap.step):
        images = {
            "filters": viz.filters_image(snap.filters) if snap.filters is not None else None,
            "probe": viz.images_uint8(snap.probe_image[None], min_side=96)[0],
            "maps": {
                name: viz.feature_maps_image(maps, max_channels=32, min_width=480)
                for name, maps in list(snap.feature_maps.items())[:2]
            },
        }
        cached = ((job.id, snap.step), images)
        st.session_state["tr_live_snap"] = cached
    return cached[1]


def snapshot_view(job: browser_jobs.Job, snap: Snapshot | None) -> None:
    """The newest snapshot: first-layer filters, the probe image and two layers' feature maps."""
    if snap is None:
        return
    images = _snapshot_images(job, snap)
    c1, c2 = st.columns([1, 2])
    with c1:
        st.markdown(f"**First-layer filters** (step {snap.step})")
        if images["filters"] is not None:
            st.image(
                images["filters"], caption=f"{snap.filters_layer}: {tuple(snap.filters.shape)}"
            )
        st.image(
            images["probe"],
            caption="probe image (" + escape_text(str(snap.probe_label), limit=60) + ")",
        )
    with c2:
        for name, maps in list(snap.feature_maps.items())[:2]:
            st.markdown(
                f"**Feature maps of `{name}`** ({maps.shape[0]} x {maps.shape[1]} x {maps.shape[2]})"
            )
            st.image(images["maps"][name])


def results(job: browser_jobs.Job, h: History) -> None:
    """A finished run: scores, confusion matrix, misclassified images, and its files to download."""
    fin: Finished | None = h.finished
    if fin is None:
        return
    _scores(fin)
    _misclassified(fin)
    result = job.result
    if result is None:
        return
    name = register_finished_training().name
    st.caption(
        'Saved for this session as "' + escape_text(name, limit=120) + '": the Feature maps page '
        "can inspect it."
    )
    _downloads(job, h, result)


def _scores(fin: Finished) -> None:
    """How the run ended, its accuracies, the confusion matrix and the per-class accuracy."""
    how = "stopped early" if fin.stopped_early else "finished"
    st.success(
        f"Run {how} after {fin.epochs_done:.2f} epoch(s) in {fin.elapsed_s:.0f} s: validation accuracy "
        f"{fin.val_acc:.1%}, test accuracy {fin.test_acc:.1%}."
    )
    c1, c2 = st.columns(2)
    # plotly renders <a href> in labels: text only
    shown = [html.escape(str(c)) for c in fin.classes]
    c1.plotly_chart(viz.confusion_figure(fin.confusion, shown))
    c2.plotly_chart(viz.per_class_figure(fin.per_class_acc, shown))


def _misclassified(fin: Finished) -> None:
    """The first misclassified test images, captioned true -> predicted."""
    if not len(fin.misclassified):
        st.markdown("**No test image was misclassified.**")
        return
    st.markdown(
        f"**Misclassified test images** (first {len(fin.misclassified)}: true -> predicted)"
    )
    # class names may be a zip's folder names: shown as text, never Markdown (captions render it)
    captions = [
        escape_text(c, limit=90)
        for c in viz.misclassified_captions(fin.mis_true, fin.mis_pred, fin.classes)
    ]
    st.image(viz.images_uint8(fin.misclassified, min_side=64), caption=captions, width=80)


def _downloads(job: browser_jobs.Job, h: History, result: FitResult) -> None:
    """The checkpoint, its metadata and the history, made once per run (bounded store)."""
    blobs = st.session_state.setdefault("tr_blobs", BoundedStore(DOWNLOAD_RUNS, "run downloads"))
    if job.id not in blobs:
        meta = meta_from_result(result)
        # what ran, not what was asked
        if h.started is not None and isinstance(meta.settings, dict):
            meta.settings["bf16"] = bool(h.started.mixed_precision)
        blobs[job.id] = (checkpoint_of(result, meta), meta.to_json(), h.to_csv())
    ckpt, meta_json, csv = blobs[job.id]
    d1, d2, d3 = st.columns(3)
    d1.download_button(
        "Download checkpoint (.safetensors)",
        ckpt,
        file_name=f"{result.arch}-run{job.id}.safetensors",
        mime="application/octet-stream",
        on_click="ignore",
    )
    d2.download_button(
        "Download its metadata (.json)",
        meta_json,
        file_name=f"{result.arch}-run{job.id}.json",
        mime="application/json",
        on_click="ignore",
        help="The same JSON is stored inside the checkpoint under the key 'explorer'.",
    )
    d3.download_button(
        "Download history (.csv)",
        csv,
        file_name=f"history-run{job.id}.csv",
        mime="text/csv",
        on_click="ignore",
    )


def status(job: browser_jobs.Job) -> None:
    """How the run ended or what it waits for, as one message."""
    if job.state is browser_jobs.JobState.FAILED:
        st.error("The run stopped: " + escape_text(str(job.error), limit=800))
    elif job.state is browser_jobs.JobState.CANCELLED:
        st.warning(job.note or "The run was cancelled.")
    elif job.note:
        st.info(job.note)  # the time limit was reached, or a Ray worker is being placed


def progress(job: browser_jobs.Job, h: History) -> None:
    """The progress bar with its ETA and what runs where; the preparation step before that."""
    started, last = h.started, h.last
    if started is None:
        if not job.done:
            prep = job.latest(Preparing)
            st.caption(prep.message if prep else "Starting...")
        return
    step = last.step if last else 0
    ended = ENDINGS.get(job.state) if job.done else None
    st.progress(
        min(step / max(started.total_steps, 1), 1.0),
        text=viz.progress_text(
            step,
            started.total_steps,
            h.eta_s(started.total_steps),
            last.samples_per_s if last else 0.0,
            ended=ended,
            elapsed_s=h.elapsed_s[-1] if ended and h.elapsed_s else None,
        ),
    )
    st.caption(
        f"{started.device}{' (bf16)' if started.mixed_precision else ''} · {started.parameters:,} "
        f"parameters · {started.train_size} training / {started.val_size} validation images · "
        f"state: {job.state.value}"
    )


def curves(job: browser_jobs.Job, h: History) -> None:
    """Loss, accuracy, gradient norms, learning rate and throughput, once there are steps."""
    if not h.steps:
        return
    loss, acc, grad, lr, speed = _live_figures(job, h)
    c1, c2 = st.columns(2)
    c1.plotly_chart(loss, key="tr_loss")
    c2.plotly_chart(acc, key="tr_acc")
    c3, c4 = st.columns([3, 2])
    c3.plotly_chart(grad, key="tr_grad")
    c4.plotly_chart(lr, key="tr_lr_fig")
    c4.plotly_chart(speed, key="tr_speed")


# The empty loss chart's top: cross-entropy at initialisation is ln(classes), 0.69 to 2.3 here.
EMPTY_LOSS_TOP = 2.5


def waiting_curves(epochs: int) -> None:
    """Before any run: the loss and accuracy charts, labelled and empty over the run's epochs, where
    Start will draw the curves (the course's Training step opens on them; the lecturer presses Start)."""
    empty = History()
    figures = (viz.loss_figure(empty, running=False), viz.accuracy_figure(empty, running=False))
    for col, fig, key in zip(st.columns(2), figures, ("tr_loss", "tr_acc"), strict=True):
        fig.update_xaxes(range=[0, max(int(epochs), 1)])
        if key == "tr_loss":  # plotly's default range for no data runs from -1: a loss is >= 0
            fig.update_yaxes(range=[0, EMPTY_LOSS_TOP])
        fig.add_annotation(
            text="Press Start: the run's curves are drawn here",
            showarrow=False,
            xref="paper",
            yref="paper",
            x=0.5,
            y=0.5,
            font=dict(size=16, color="#666"),
        )
        col.plotly_chart(fig, key=key)
