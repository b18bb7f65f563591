"""Training: train a compact CNN live and watch it learn; keep the result.

The run happens in a background job (explorer.ui.jobs); this page only starts it, polls it
about once a second with a fragment, and draws what the events say (explorer.viz.training).
"""

from __future__ import annotations

import streamlit as st
import torch

from explorer.data.datasets import DATASETS, DatasetUnavailableError, is_available, preview
from explorer.models import get_spec
from explorer.models.checkpoint import CheckpointError, model_from_checkpoint, save_checkpoint
from explorer.training.checkpoints import meta_from_result
from explorer.training.events import Finished, History, Preparing, Snapshot
from explorer.training.settings import (
    OPTIMIZER_TITLES,
    SCHEDULE_TITLES,
    TRAINABLE_MODELS,
    TrainSettings,
    datasets_for,
    default_settings,
)
from explorer.ui import jobs
from explorer.ui.code_panel import code_panel
from explorer.ui.own_images import own_images_section
from explorer.ui.registry import UserModel, register_finished_training, register_model
from explorer.ui.runs_panel import runs_section
from explorer.ui.state import PageState, copy_link_control, escape_text
from explorer.ui.transfer_panel import transfer_section
from explorer.viz import training as viz

KIND = "training"
CUDA = torch.cuda.is_available()
# widget key -> TrainSettings field
FIELDS = {
    "tr_optimizer": "optimizer", "tr_lr": "lr", "tr_bs": "batch_size", "tr_epochs": "epochs",
    "tr_wd": "weight_decay", "tr_momentum": "momentum", "tr_schedule": "schedule", "tr_augment": "augment",
    "tr_seed": "seed", "tr_device": "device", "tr_bf16": "bf16", "tr_train": "train_samples",
    "tr_val": "val_samples", "tr_difficulty": "difficulty", "tr_download": "download",
}  # fmt: skip

st.title("Training")
st.caption(
    "Train a small network live and watch it learn: the loss falls, the accuracy climbs, and the "
    "first layer's filters and feature maps change step by step (small 3x3 filters trained for a "
    "minute still look noisy; what they respond to shows in the feature maps). The run continues "
    "in the background when you visit another page."
)


# --------------------------------------------------------------------------- settings state


def _apply_defaults(model: str, dataset: str | None = None) -> None:
    s = default_settings(model, dataset)
    st.session_state["tr_model"], st.session_state["tr_dataset"] = s.model, s.dataset
    for key, name in FIELDS.items():
        st.session_state[key] = getattr(s, name)


def _model_changed() -> None:
    _apply_defaults(st.session_state["tr_model"])


def _dataset_changed() -> None:
    _apply_defaults(st.session_state["tr_model"], st.session_state["tr_dataset"])


def _reset_to_defaults() -> None:
    """The button's callback: it runs before the widgets exist again, so it may set their state."""
    _apply_defaults(st.session_state["tr_model"], st.session_state["tr_dataset"])


def _settings_from_widgets() -> TrainSettings:
    values = {name: st.session_state[key] for key, name in FIELDS.items()}
    return TrainSettings(model=st.session_state["tr_model"], dataset=st.session_state["tr_dataset"], **values)


def _start_problems(s: TrainSettings) -> list[str]:
    """Everything that would stop the run before its first step, as sentences."""
    problems = s.errors()
    if str(s.device).startswith("cuda") and not torch.cuda.is_available():
        problems.append("CUDA is not available on this machine: choose auto or cpu.")
    info = DATASETS.get(s.dataset)
    if info is not None and not info.offline and not s.download and not is_available(s.dataset):
        problems.append(
            f"{info.title} is not downloaded yet. Tick 'Download if missing' (needs the internet) "
            "or pick an offline dataset."
        )
    return problems


@st.cache_data(max_entries=16, show_spinner=False)
def _preview(dataset: str, seed: int, difficulty: float) -> tuple[list, list[str]]:
    from explorer.data.datasets import load_dataset

    data = load_dataset(dataset, seed=seed, sizes=(16, 1, 1), difficulty=difficulty)
    images, names = preview(data, n=16)
    return viz.images_uint8(images, min_side=64), names


# The run's recipe in the URL (explorer/ui/state.py); device, bf16 and downloads are this
# machine's business and stay out of links.
URL_FIELDS = {
    "tr_optimizer": ("optimizer", list(OPTIMIZER_TITLES)), "tr_schedule": ("schedule", list(SCHEDULE_TITLES)),
    "tr_lr": ("lr", lambda v: 0 < v <= 10), "tr_bs": ("batch", range(1, 4097)), "tr_epochs": ("epochs", range(1, 101)),
    "tr_wd": ("wd", lambda v: 0 <= v <= 1), "tr_momentum": ("momentum", lambda v: 0 <= v < 1),
    "tr_train": ("train", range(1, 200_001)), "tr_val": ("val", range(1, 50_001)),
    "tr_seed": ("seed", range(0, 2**31)), "tr_augment": ("augment", (False, True)),
    "tr_difficulty": ("difficulty", lambda v: 0 <= v <= 1),
}  # fmt: skip
page_url = PageState("training")
_arrived = page_url.arriving("model") or page_url.arriving("dataset")
_model = page_url.bind("model", "tr_model", default="keras_cnn", valid=TRAINABLE_MODELS)
_dataset = page_url.bind("dataset", "tr_dataset", default=default_settings(_model).dataset,
                         valid=datasets_for(_model))
_defaults = default_settings(_model, _dataset)
if _arrived:  # a link: its model's measured defaults, then whatever else the link says
    _apply_defaults(_model, _dataset)
for _key, _name in FIELDS.items():
    if _key in URL_FIELDS:
        page_url.bind(URL_FIELDS[_key][0], _key, default=getattr(_defaults, _name), valid=URL_FIELDS[_key][1],
                      check_current=False)
    else:
        page_url.keep(_key, getattr(_defaults, _name))
if not CUDA:  # bf16 autocast runs on CUDA only: off, and greyed out, elsewhere
    st.session_state["tr_bf16"] = False

job = jobs.current_job(KIND)
active = job is not None and not job.done

# --------------------------------------------------------------------------- settings form

with st.container(border=True):
    c1, c2 = st.columns(2)
    c1.selectbox("Model", TRAINABLE_MODELS, key="tr_model", on_change=_model_changed, disabled=active,
                 format_func=lambda k: get_spec(k).title)  # fmt: skip
    c2.selectbox("Dataset", datasets_for(st.session_state["tr_model"]), key="tr_dataset",
                 on_change=_dataset_changed, disabled=active, format_func=lambda k: DATASETS[k].title)  # fmt: skip
    spec = get_spec(st.session_state["tr_model"])
    c1.caption(f"{spec.dated_title}: {spec.idea}")
    c2.caption(DATASETS[st.session_state["tr_dataset"]].description)

    a, b, c, d = st.columns(4)
    a.selectbox("Optimiser", list(OPTIMIZER_TITLES), key="tr_optimizer", disabled=active,
                format_func=OPTIMIZER_TITLES.get)  # fmt: skip
    b.number_input("Learning rate", key="tr_lr", format="%.5f", step=0.0005, disabled=active)
    c.number_input("Batch size", key="tr_bs", step=16, disabled=active)
    d.number_input("Epochs", key="tr_epochs", step=1, disabled=active)
    a.selectbox("Schedule", list(SCHEDULE_TITLES), key="tr_schedule", disabled=active,
                format_func=SCHEDULE_TITLES.get)  # fmt: skip
    b.number_input("Weight decay", key="tr_wd", format="%.5f", step=0.0001, disabled=active)
    c.number_input("Training images", key="tr_train", step=500, disabled=active)
    d.number_input("Validation images", key="tr_val", step=100, disabled=active)
    a.selectbox("Device", ["auto", "cpu", "cuda"], key="tr_device", disabled=active)
    b.number_input("Seed", key="tr_seed", step=1, disabled=active)
    if st.session_state["tr_optimizer"] == "sgd":
        c.number_input("Momentum", key="tr_momentum", step=0.05, format="%.2f", disabled=active)
    info = DATASETS[st.session_state["tr_dataset"]]
    if info.offline:
        d.slider("Difficulty", 0.0, 1.0, key="tr_difficulty", step=0.1, disabled=active)
    else:
        d.checkbox("Download if missing", key="tr_download", disabled=active,
                   help="Fetches the dataset into ./data with torchvision (needs the internet).")  # fmt: skip
    t1, t2 = st.columns(2)
    t1.checkbox("Augmentation (shifts" + (", flips)" if info.hflip else ")"), key="tr_augment", disabled=active)
    t2.checkbox("Mixed precision (bf16, CUDA only)", key="tr_bf16", disabled=active or not CUDA,
                help=None if CUDA else "No CUDA device here: training runs in float32.")
    copy_link_control("training")

    with st.expander("Preview of the dataset"):
        try:
            imgs, names = _preview(info.key, int(st.session_state["tr_seed"]), float(st.session_state["tr_difficulty"]))
            st.image(imgs, caption=names, width=72)
        except DatasetUnavailableError as err:
            st.warning(str(err))
    code_panel(st.session_state["tr_model"])

    b_start, b_reset, _ = st.columns([1, 2, 3])
    start = b_start.button("Start", type="primary", disabled=active)
    b_reset.button("Default settings", disabled=active, on_click=_reset_to_defaults,
                   help="The measured defaults of this model on this dataset.")  # fmt: skip

if start:
    settings = _settings_from_widgets()
    problems = _start_problems(settings)
    if problems:
        st.error("Cannot start: " + " ".join(problems))
    else:
        from explorer.device import pick_device

        device = pick_device(settings.device)
        title = f"{get_spec(settings.model).title} on {DATASETS[settings.dataset].title}"
        try:
            # A job spec, not a closure: the run happens in a worker process (or on a Ray cluster).
            job = jobs.submit(jobs.JobSpec("explorer.training.fit:run_training", {"settings": settings}),
                              device=str(device), title=title, kind=KIND)  # fmt: skip
        except jobs.JobBusyError as err:
            st.error(str(err))
        else:
            st.session_state["tr_history"] = (job.id, 0, History())
            st.rerun()  # redraw with the settings locked and the live view polling


# --------------------------------------------------------------------------- live view


def _history(job: jobs.Job) -> History:
    """Fold the job's new events into this session's history (incremental, cheap)."""
    job_id, cursor, history = st.session_state.get("tr_history", (None, 0, History()))
    if job_id != job.id:
        cursor, history = 0, History()
    events, cursor = job.events_since(cursor)
    for event in events:
        history.add(event)
    st.session_state["tr_history"] = (job.id, cursor, history)
    return history


def _controls(job: jobs.Job) -> None:
    # Callbacks run before the rerun the click causes, so the buttons redraw in the new state.
    c1, c2, _ = st.columns([1, 1, 4])
    if job.state is jobs.JobState.PAUSED:
        c1.button("Resume", key="tr_resume", on_click=job.resume)
    else:
        c1.button("Pause", key="tr_pause", on_click=job.pause, disabled=job.state is not jobs.JobState.RUNNING)
    c2.button("Stop", key="tr_stop", on_click=job.stop, help="Ends the run after this step and evaluates the model.")


def _live_figures(job: jobs.Job, h: History) -> list:
    """The five live curves, from a compact history, rebuilt only when new points arrived."""
    key = (job.id, len(h.steps), len(h.epochs))
    cached = st.session_state.get("tr_live_figs")
    if cached is None or cached[0] != key:
        c = jobs.compact_history(h)
        figs = [viz.loss_figure(c), viz.accuracy_figure(c), viz.grad_norm_figure(c), viz.lr_figure(c),
                viz.throughput_figure(c)]  # fmt: skip
        cached = (key, figs)
        st.session_state["tr_live_figs"] = cached
    return cached[1]


def _snapshot_images(job: jobs.Job, snap: Snapshot) -> dict:
    """Montages of a snapshot, made once per new snapshot (a poll without one reuses them)."""
    cached = st.session_state.get("tr_live_snap")
    if cached is None or cached[0] != (job.id, snap.step):
        images = {
            "filters": viz.filters_image(snap.filters) if snap.filters is not None else None,
            "probe": viz.images_uint8(snap.probe_image[None], min_side=96)[0],
            "maps": {name: viz.feature_maps_image(maps, max_channels=32, min_width=480)
                     for name, maps in list(snap.feature_maps.items())[:2]},
        }  # fmt: skip
        cached = ((job.id, snap.step), images)
        st.session_state["tr_live_snap"] = cached
    return cached[1]


def _snapshot_view(job: jobs.Job, snap: Snapshot | None) -> None:
    if snap is None:
        return
    images = _snapshot_images(job, snap)
    c1, c2 = st.columns([1, 2])
    with c1:
        st.markdown(f"**First-layer filters** (step {snap.step})")
        if images["filters"] is not None:
            st.image(images["filters"], caption=f"layer {snap.filters_layer}: {tuple(snap.filters.shape)}")
        st.image(images["probe"], caption=f"probe image ({snap.probe_label})")
    with c2:
        for name, maps in list(snap.feature_maps.items())[:2]:
            st.markdown(f"**Feature maps of `{name}`** ({maps.shape[0]} x {maps.shape[1]} x {maps.shape[2]})")
            st.image(images["maps"][name])


def _results(job: jobs.Job, h: History) -> None:
    fin: Finished | None = h.finished
    if fin is None:
        return
    how = "stopped early" if fin.stopped_early else "finished"
    st.success(
        f"Run {how} after {fin.epochs_done:.2f} epoch(s) in {fin.elapsed_s:.0f} s: validation accuracy "
        f"{fin.val_acc:.1%}, test accuracy {fin.test_acc:.1%}."
    )
    c1, c2 = st.columns(2)
    c1.plotly_chart(viz.confusion_figure(fin.confusion, fin.classes))
    c2.plotly_chart(viz.per_class_figure(fin.per_class_acc, fin.classes))
    if len(fin.misclassified):
        st.markdown(f"**Misclassified test images** (first {len(fin.misclassified)}: true -> predicted)")
        st.image(viz.images_uint8(fin.misclassified, min_side=64),
                 caption=viz.misclassified_captions(fin.mis_true, fin.mis_pred, fin.classes), width=80)  # fmt: skip
    else:
        st.markdown("**No test image was misclassified.**")
    result = job.result
    if result is None:
        return
    name = register_finished_training().name
    st.caption(f"Saved for this session as \"{name}\": the Feature maps page can inspect it.")
    blobs = st.session_state.setdefault("tr_blobs", {})
    if job.id not in blobs:
        blobs.clear()  # keep one run's files, not every run's
        meta = meta_from_result(result)
        if h.started is not None and isinstance(meta.settings, dict):  # what ran, not what was asked
            meta.settings["bf16"] = bool(h.started.mixed_precision)
        blobs[job.id] = (save_checkpoint(result.model, meta), meta.to_json(), h.to_csv())
    ckpt, meta_json, csv = blobs[job.id]
    d1, d2, d3 = st.columns(3)
    d1.download_button("Download checkpoint (.safetensors)", ckpt, file_name=f"{result.arch}-run{job.id}.safetensors",
                       mime="application/octet-stream", on_click="ignore")  # fmt: skip
    d2.download_button("Download its metadata (.json)", meta_json, file_name=f"{result.arch}-run{job.id}.json",
                       mime="application/json", on_click="ignore",
                       help="The same JSON is stored inside the checkpoint under the key 'explorer'.")  # fmt: skip
    d3.download_button("Download history (.csv)", csv, file_name=f"history-run{job.id}.csv", mime="text/csv",
                       on_click="ignore")  # fmt: skip


queued = job is not None and job.state is jobs.JobState.QUEUED


# Polled rarely (5 s) while queued, once a second while running, not at all once done.
@st.fragment(run_every=jobs.poll_interval(job))
def live_view() -> None:
    job = jobs.current_job(KIND)
    if job is None:
        st.info("Choose a model and a dataset, then press Start. The defaults train the course's "
                "Keras CNN on circles vs squares in about a minute.")  # fmt: skip
        return
    if job.state is jobs.JobState.QUEUED:
        # A queued view only waits for its turn: a line and one button, nothing heavy to draw.
        st.subheader(job.title)
        st.info(jobs.status_line(job))
        st.button("Leave the queue", key="tr_leave", on_click=job.cancel)
        return
    if queued:
        st.rerun()  # its turn came: one full rerun switches to the running view's polling rate
    h = _history(job)
    st.subheader(job.title)
    if job.state is jobs.JobState.FAILED:
        st.error(f"The run stopped: {job.error}")
    elif job.state is jobs.JobState.CANCELLED:
        st.warning(job.note or "The run was cancelled.")
    elif job.note:
        st.info(job.note)  # the time limit was reached, or a Ray worker is being placed
    if not job.done:
        _controls(job)
    started = h.started
    last = h.last
    if started is not None:
        step = last.step if last else 0
        st.progress(min(step / max(started.total_steps, 1), 1.0),
                    text=viz.progress_text(step, started.total_steps, h.eta_s(started.total_steps),
                                           last.samples_per_s if last else 0.0))  # fmt: skip
        st.caption(f"{started.device}{' (bf16)' if started.mixed_precision else ''} · {started.parameters:,} "
                   f"parameters · {started.train_size} training / {started.val_size} validation images · "
                   f"state: {job.state.value}")  # fmt: skip
    elif not job.done:
        prep = job.latest(Preparing)
        st.caption(prep.message if prep else "Starting...")
    if h.steps:
        loss, acc, grad, lr, speed = _live_figures(job, h)
        c1, c2 = st.columns(2)
        c1.plotly_chart(loss, key="tr_loss")
        c2.plotly_chart(acc, key="tr_acc")
        c3, c4 = st.columns([3, 2])
        c3.plotly_chart(grad, key="tr_grad")
        c4.plotly_chart(lr, key="tr_lr_fig")
        c4.plotly_chart(speed, key="tr_speed")
    _snapshot_view(job, job.latest(Snapshot))
    if job.state is jobs.JobState.FINISHED:
        _results(job, h)
    if job.done and active:
        st.rerun()  # one full rerun: stop polling, re-enable the settings


live_view()

# --------------------------------------------------------------------------- load a checkpoint


def _load_upload(name: str, data: bytes) -> tuple[str, str | None, dict | None]:
    """Read an uploaded checkpoint once per file (by digest); register it for this session.

    Returns (digest, error message or None, metadata to show). Every string from the file is
    shown as text by the caller, never as Markdown.
    """
    import hashlib

    digest = hashlib.sha256(data).hexdigest()
    done = st.session_state.get("tr_upload")
    if done is not None and done[0] == digest:
        return done
    try:
        model, meta = model_from_checkpoint(data)
    except CheckpointError as err:
        outcome = (digest, str(err), None)
    else:
        register_model(UserModel(
            name=name, arch=meta.arch, build=dict(meta.build),
            state_dict={k: v.clone() for k, v in model.state_dict().items()}, classes=list(meta.classes),
            dataset=meta.dataset, metrics=dict(meta.metrics), source="loaded from a checkpoint",
        ))  # fmt: skip
        outcome = (digest, None, {"arch": meta.arch, "build": meta.build, "classes": meta.classes,
                                  "dataset": meta.dataset, "settings": meta.settings, "metrics": meta.metrics})  # fmt: skip
    st.session_state["tr_upload"] = outcome
    return outcome


with st.expander("Load a checkpoint"):
    upload = st.file_uploader("A .safetensors checkpoint saved from this page", type=["safetensors"])
    if upload is not None:
        _, error, info = _load_upload(upload.name, upload.getvalue())
        if error is not None:
            st.error(escape_text(error, limit=800))
        else:
            acc = info["metrics"].get("test_accuracy")
            st.success(escape_text(
                f"Loaded {get_spec(info['arch']).title} trained on {info['dataset'] or 'unknown data'}"
                + (f" (test accuracy {acc:.1%})" if isinstance(acc, float) else "")
                + f" as \"{upload.name}\". It is now available on the Feature maps page.", limit=800))
            st.json(info)

# Transfer learning and your own images (runs like the others, shown by the live view above), and
# every run of this browser overlaid on one chart: widgets in explorer/ui/transfer_panel.py,
# own_images.py and runs_panel.py.
transfer_section()
own_images_section()
runs_section()
