"""The Training page's sections, in page order: the settings bound from the link, the settings
form, Start and the live view (the feature space after a run: training_feature_space.py; loading
a checkpoint: training_checkpoint.py). The page (app_pages/training.py) calls them one after
another, so it reads as a table of contents.
"""

from __future__ import annotations

import streamlit as st
import torch

from explorer.data.datasets import DATASETS, DatasetUnavailableError, is_available, preview
from explorer.models import get_spec
from explorer.training.events import History, Snapshot
from explorer.training.settings import (
    OPTIMIZER_TITLES,
    SCHEDULE_TITLES,
    TRAINABLE_MODELS,
    TrainSettings,
    datasets_for,
    default_settings,
)
from explorer.ui import browser_jobs
from explorer.ui import training_live as live
from explorer.ui.code_panel import code_panel
from explorer.ui.own_model_training import own_sources
from explorer.ui.state import PageState
from explorer.ui.training_url import FIELDS, URL_FIELDS
from explorer.viz import training as viz

KIND = "training"


def page_header(projector: bool) -> None:
    """The title and, outside projector mode, what the page does."""
    st.title("Training")
    if not projector:
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
    return TrainSettings(
        model=st.session_state["tr_model"], dataset=st.session_state["tr_dataset"], **values
    )


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


def bind_settings(page_url: PageState) -> None:
    """Every setting from the link or this session; a link's model and dataset bring their
    measured defaults first, then whatever else the link says."""
    arrived = page_url.arriving("model") or page_url.arriving("dataset")
    model = page_url.bind("model", "tr_model", default="keras_cnn", valid=TRAINABLE_MODELS)
    dataset = page_url.bind(
        "dataset", "tr_dataset", default=default_settings(model).dataset, valid=datasets_for(model)
    )
    defaults = default_settings(model, dataset)
    if arrived:  # a link: its model's measured defaults, then whatever else the link says
        _apply_defaults(model, dataset)
    for key, name in FIELDS.items():
        if key in URL_FIELDS:
            page_url.bind(
                URL_FIELDS[key][0],
                key,
                default=getattr(defaults, name),
                valid=URL_FIELDS[key][1],
                check_current=False,
            )
        else:
            page_url.keep(key, getattr(defaults, name))
    # bf16 autocast runs on CUDA only: off, and greyed out, elsewhere
    if not torch.cuda.is_available():
        st.session_state["tr_bf16"] = False


# --------------------------------------------------------------------------- settings form


def _fold_label() -> str:
    """Projector mode: the run's recipe in one line (the settings are bound above, so it is current)."""
    ss = st.session_state
    return (
        f"{get_spec(ss['tr_model']).title} on {DATASETS[ss['tr_dataset']].title}  |  "
        f"{OPTIMIZER_TITLES.get(ss['tr_optimizer'], ss['tr_optimizer'])}, learning rate {ss['tr_lr']:g}, "
        f"batch {ss['tr_bs']}, {ss['tr_epochs']} epochs  (open to change)"
    )


def _model_and_data(active: bool) -> None:
    """Model and dataset, each with its one-line description."""
    c1, c2 = st.columns(2)
    c1.selectbox(
        "Model",
        TRAINABLE_MODELS,
        key="tr_model",
        on_change=_model_changed,
        disabled=active,
        format_func=lambda k: get_spec(k).title,
    )
    c2.selectbox(
        "Dataset",
        datasets_for(st.session_state["tr_model"]),
        key="tr_dataset",
        on_change=_dataset_changed,
        disabled=active,
        format_func=lambda k: DATASETS[k].title,
    )
    spec = get_spec(st.session_state["tr_model"])
    c1.caption(f"{spec.dated_title}: {spec.idea}")
    c2.caption(DATASETS[st.session_state["tr_dataset"]].description)
    if own_sources():  # an imported model starts from its own weights: a transfer
        c1.caption('Your imported model: fine-tune it in "Transfer learning" below.')


def _hyperparameters(active: bool) -> None:
    """The recipe: optimiser, rates, sizes, device, seed, augmentation and precision."""
    cuda = torch.cuda.is_available()
    a, b, c, d = st.columns(4)
    a.selectbox(
        "Optimiser",
        list(OPTIMIZER_TITLES),
        key="tr_optimizer",
        disabled=active,
        format_func=OPTIMIZER_TITLES.get,
    )
    b.number_input("Learning rate", key="tr_lr", format="%.5f", step=0.0005, disabled=active)
    c.number_input("Batch size", key="tr_bs", step=16, disabled=active)
    d.number_input("Epochs", key="tr_epochs", step=1, disabled=active)
    a.selectbox(
        "Schedule",
        list(SCHEDULE_TITLES),
        key="tr_schedule",
        disabled=active,
        format_func=SCHEDULE_TITLES.get,
    )
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
        d.checkbox(
            "Download if missing",
            key="tr_download",
            disabled=active,
            help="Fetches the dataset into ./data with torchvision (needs the internet).",
        )
    t1, t2 = st.columns(2)
    t1.checkbox(
        "Augmentation (shifts" + (", flips)" if info.hflip else ")"),
        key="tr_augment",
        disabled=active,
    )
    t2.checkbox(
        "Mixed precision (bf16, CUDA only)",
        key="tr_bf16",
        disabled=active or not cuda,
        help=None if cuda else "No CUDA device here: training runs in float32.",
    )


def _dataset_preview(projector: bool) -> None:
    """Sixteen images of the chosen dataset (expanders do not nest: inside the projector's fold
    the preview is a plain section)."""
    with st.container() if projector else st.expander("Preview of the dataset"):
        if projector:
            st.caption("Preview of the dataset")
        try:
            dataset = DATASETS[st.session_state["tr_dataset"]].key
            imgs, names = _preview(
                dataset, int(st.session_state["tr_seed"]), float(st.session_state["tr_difficulty"])
            )
            st.image(imgs, caption=names, width=72)
        except DatasetUnavailableError as err:
            st.warning(str(err))


def settings_form(page_url: PageState, projector: bool, active: bool) -> bool:
    """The settings (locked while a run is active), the copy link, Start and Default settings.
    Returns whether Start was pressed in this run."""
    form = st.expander(_fold_label()) if projector else st.container(border=True)
    with form:
        _model_and_data(active)
        _hyperparameters(active)
        if not projector:  # in projector mode beside Start, in sight
            page_url.copy_link()  # filled by page_url.done() at the end, with every setting bound
        _dataset_preview(projector)
        code_panel(st.session_state["tr_model"])
    with st.container() if projector else form:  # projector mode: Start below the fold, in sight
        b_start, b_reset, b_link = st.columns([1, 2, 3])
        if projector:
            with b_link:
                page_url.copy_link()
        start = b_start.button("Start", type="primary", disabled=active, key="tr_start")
        b_reset.button(
            "Default settings",
            disabled=active,
            on_click=_reset_to_defaults,
            help="The measured defaults of this model on this dataset.",
        )
    return start


def start_run() -> None:
    """Start pressed: the settings' problems as one message, or a submitted job and a rerun."""
    settings = _settings_from_widgets()
    problems = _start_problems(settings)
    if problems:
        st.error("Cannot start: " + " ".join(problems))
        return
    from explorer.device import pick_device

    device = pick_device(settings.device)
    title = f"{get_spec(settings.model).title} on {DATASETS[settings.dataset].title}"
    try:
        # A job spec, not a closure: the run happens in a worker process (or on a Ray cluster).
        job = browser_jobs.submit(
            browser_jobs.JobSpec("explorer.training.fit:run_training", {"settings": settings}),
            device=str(device),
            title=title,
            kind=KIND,
        )
    except browser_jobs.JobBusyError as err:
        st.error(str(err))
    else:
        st.session_state["tr_history"] = (job.id, 0, History())
        st.rerun()  # redraw with the settings locked and the live view polling


# --------------------------------------------------------------------------- live view


def live_section(job: browser_jobs.Job | None, active: bool) -> None:
    """The current run, polled by a fragment: rarely (5 s) while queued, once a second while
    running, not at all once done."""
    queued = job is not None and job.state is browser_jobs.JobState.QUEUED

    @st.fragment(run_every=browser_jobs.poll_interval(job))
    def live_view() -> None:
        job = browser_jobs.current_job(KIND)
        if job is None:
            st.info(
                "Choose a model and a dataset, then press Start. The defaults train the course's "
                "Keras CNN on circles vs squares in about a minute."
            )
            # the first screen's figure before a run
            live.waiting_curves(st.session_state["tr_epochs"])
            return
        if job.state is browser_jobs.JobState.QUEUED:
            # A queued view only waits for its turn: a line and one button, nothing heavy to draw.
            st.subheader(job.title)
            st.info(browser_jobs.status_line(job))
            st.button("Leave the queue", key="tr_leave", on_click=job.cancel)
            return
        if queued:
            st.rerun()  # its turn came: one full rerun switches to the running view's polling rate
        h = live.history_of(job)
        st.subheader(job.title)
        live.status(job)
        if not job.done:
            live.controls(job)
        live.progress(job, h)
        live.curves(job, h)
        live.snapshot_view(job, job.latest(Snapshot))
        if job.state is browser_jobs.JobState.FINISHED:
            live.results(job, h)
        if job.done and active:
            st.rerun()  # one full rerun: stop polling, re-enable the settings

    live_view()
