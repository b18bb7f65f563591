"""Transfer learning on the Training page: pick trained weights, a target dataset and what trains.

The run is an ordinary training job (kind "training"), so the page's live view, results, model
registry and downloads serve it unchanged; with "compare with the same model from scratch" it is
one comparison job (kind "comparison") of both runs, followed in "Compare runs".
"""

from __future__ import annotations

import streamlit as st

from explorer.data.datasets import DATASETS, DatasetInfo, available_keys
from explorer.models import get_spec
from explorer.models.imported_entry import OWN_PREFIX
from explorer.training.freezing import FREEZE_MODES, FREEZE_TITLES, count_by_mode
from explorer.training.settings import (
    OWN_SOURCE,
    TRAINABLE_MODELS,
    TrainSettings,
    is_own_source,
)
from explorer.training.spec_transfer import SPEC_KIND, build_spec_transfer, no_fit_message
from explorer.training.spec_transfer import memory_problems as spec_memory_problems
from explorer.training.transfer import (
    DEFAULT_PAIR,
    SCRATCH_LR,
    TransferInfo,
    head_size,
    transfer_title,
    transfer_vs_scratch_runs,
    user_source,
)
from explorer.training.transfer_weights import (
    SourceWeights,
    TransferError,
    build_transfer_model,
    bundled_source,
    cached_imagenet_archs,
    imagenet_source,
)
from explorer.ui import browser_jobs
from explorer.ui import own_model_training as own
from explorer.ui.state import escape_text
from explorer.ui.transfer_feature_space import transfer_space_section

KIND = "training"
INTRO = (
    "Reuse what a network learnt on one dataset for another: a new classifier head is built "
    "for the new classes (and the first layer adapted to the new number of colour channels); "
    "you choose which layers train. The default pair (compact ResNet trained on six shapes, 64 "
    "images of circles vs squares, head only) reaches about 100% test accuracy in 16 steps "
    "where the same model from scratch, at its own tuned learning rate, stays far behind "
    "(bench/bench_transfer.py). Circle and square were among the source's six shapes: the target "
    "is a subset of its classes, the easiest case. Features transfer less well as tasks drift "
    "apart and as more, later layers are copied (Yosinski et al., How transferable are features "
    "in deep neural networks?, NIPS 2014). Your own Keras or ONNX model (imported on Architectures "
    "or Feature maps, or the course's example here) fine-tunes the same way, on the datasets that "
    "fit its input."
)
_D = DEFAULT_PAIR["settings"]
_DEFAULTS = {
    "xf_target": _D["dataset"],
    "xf_freeze": _D["freeze"],
    "xf_lr": _D["lr"],
    "xf_bs": _D["batch_size"],
    "xf_epochs": _D["epochs"],
    "xf_train": _D["train_samples"],
    "xf_val": _D["val_samples"],
    "xf_backbone": 1.0,
    "xf_source": f"bundled:{DEFAULT_PAIR['source_arch']}",
    "xf_twin": False,
}


def _sources() -> dict[str, str]:
    """Source key -> label: the bundled weights, ImageNet weights in the local cache, then this
    browser's trained or loaded CNNs."""
    from explorer.models.weights import bundled_keys
    from explorer.ui.registry import user_models

    out = {
        f"bundled:{k}": f"{get_spec(k).title}: bundled weights"
        for k in bundled_keys()
        if k in TRAINABLE_MODELS
    }
    for k in cached_imagenet_archs():
        out[f"imagenet:{k}"] = f"{get_spec(k).title}: ImageNet weights (cached)"
    for m in user_models("cnn"):
        if m.arch in TRAINABLE_MODELS:
            out[f"user:{m.name}"] = f"Yours: {m.name}"
    return out | own.own_sources()


def _source(key: str) -> SourceWeights:
    if is_own_source(key):
        return own.own_source(key)
    kind, _, name = key.partition(":")
    if kind == "bundled":
        return bundled_source(name)
    if kind == "imagenet":
        return imagenet_source(name)
    from explorer.ui.registry import get_user_model

    m = get_user_model(name)
    if m is None:
        raise TransferError("That model is no longer in this session: train or load it again.")
    return user_source(m)


@st.cache_data(max_entries=32, show_spinner=False)
def _counts(source_key: str, stamp: float, num_classes: int, in_channels: int) -> dict[str, int]:
    """Trainable parameters per freeze mode for this source and target (built once, cached)."""
    source = _source(source_key)
    build = build_spec_transfer if source.kind == SPEC_KIND else build_transfer_model
    model, _, _ = build(source, num_classes, in_channels)
    return count_by_mode(model)


def _stamp(source_key: str) -> float:
    if source_key.startswith(("user:", OWN_SOURCE)):
        from explorer.ui.registry import get_user_model

        m = get_user_model(source_key.partition(":")[2])
        return m.created if m is not None else 0.0
    return 0.0


def transfer_settings() -> TrainSettings:
    """The settings the widgets describe (validated by the engine before a start)."""
    ss = st.session_state
    arch = ss["xf_source"].partition(":")[2]
    if is_own_source(ss["xf_source"]):
        try:
            arch = own.own_arch(ss["xf_source"])
        except TransferError:
            arch = OWN_PREFIX + "gone"  # the start refuses it: the model is no longer here
    elif ss["xf_source"].startswith("user:"):
        from explorer.ui.registry import get_user_model

        m = get_user_model(arch)
        arch = m.arch if m is not None else "lenet5"
    return TrainSettings(
        model=arch,
        dataset=ss["xf_target"],
        optimizer="adam",
        lr=float(ss["xf_lr"]),
        batch_size=int(ss["xf_bs"]),
        epochs=int(ss["xf_epochs"]),
        train_samples=int(ss["xf_train"]),
        val_samples=int(ss["xf_val"]),
        source=ss["xf_source"],
        freeze=ss["xf_freeze"],
        backbone_lr=float(ss["xf_backbone"]) if ss["xf_freeze"] != "head" else 1.0,
        difficulty=0.3,
    )


def _info_line(job: browser_jobs.Job | None) -> None:
    """What the running or last transfer did: the source and how many parameters trained."""
    if job is None:
        return
    info = next((e for e in job.log if isinstance(e, TransferInfo)), None)
    if info is not None:
        st.caption(
            f"Run {job.id}: from {info.source}; {FREEZE_TITLES.get(info.mode, info.mode).lower()}: "
            f"{info.trainable:,} of {info.total:,} parameters train; images resized to "
            f"{info.image_size} x {info.image_size}."
        )


def _info_and_space(job: browser_jobs.Job | None, src: SourceWeights) -> None:
    """What the last transfer did, then this source's features of the target's classes against
    features from scratch (explorer/ui/transfer_feature_space.py)."""
    _info_line(job)
    transfer_space_section(src, st.session_state["xf_target"])


def transfer_section() -> None:
    """The Transfer learning panel (an expander on the Training page)."""
    for key, value in _DEFAULTS.items():
        st.session_state.setdefault(key, value)
    job = browser_jobs.current_job(KIND)
    active = job is not None and not job.done
    with st.expander("Transfer learning: start from trained weights", expanded=False):
        st.caption(INTRO)
        picked = _source_and_target(active)
        if picked is None:
            return
        src, counts = picked
        _what_trains(counts, active)
        _run_numbers(active)
        _twin_choice(src, active)
        go = st.button("Start transfer", type="primary", disabled=active, key="xf_start")
        if src.kind == SPEC_KIND:
            _info_line(job)  # the feature-space comparison needs a catalog architecture
        else:
            _info_and_space(job, src)
    if go:
        _start(src)


def _source_and_target(active: bool) -> tuple[SourceWeights, dict[str, int]] | None:
    """The source ("Start from"), the target ("Fine-tune on": the datasets that fit the source),
    their captions and the parameters each freeze mode trains; None (after the message) when
    nothing can start."""
    ss = st.session_state
    sources = _sources()
    if ss["xf_source"] not in sources:
        ss["xf_source"] = next(iter(sources))
    c1, c2 = st.columns(2)
    c1.selectbox(
        "Start from", list(sources), key="xf_source", format_func=sources.get, disabled=active
    )
    if not any(is_own_source(k) for k in sources):
        with c1:
            own.example_button("xf_own_example")
    try:
        targets = _targets(ss["xf_source"])
        if not targets:
            st.info(no_fit_message(own.input_shape(ss["xf_source"])))
            return None
        if ss["xf_target"] not in targets:
            ss["xf_target"] = targets[0]
        c2.selectbox(
            "Fine-tune on",
            targets,
            key="xf_target",
            format_func=lambda k: DATASETS[k].title,
            disabled=active,
        )
        info = DATASETS[ss["xf_target"]]
        src = _source(ss["xf_source"])
        # a loaded checkpoint's or file's names: text, not Markdown
        c1.caption(
            escape_text(
                f"Trained on {src.dataset or 'unknown data'}: {', '.join(src.classes[:10])}",
                limit=400,
            )
        )
        channels = own.input_shape(ss["xf_source"])[0] if is_own_source(ss["xf_source"]) else None
        counts = _counts(
            ss["xf_source"],
            _stamp(ss["xf_source"]),
            head_size(info),
            channels or info.input_shape[0],
        )
    except (TransferError, OSError, ValueError) as err:
        st.error(escape_text(str(err), limit=800))
        return None
    c2.caption(_target_caption(src, info))
    if not any(k.startswith("imagenet:") for k in sources):
        c1.caption(
            "No ImageNet weights are in the local cache: download them on the Feature maps page "
            "(when a network is there) and they appear here."
        )
    return src, counts


def _targets(source_key: str) -> list[str]:
    """The datasets offered: those that load without a download, and for an imported model only
    those whose images fit its input."""
    targets = available_keys()
    return own.fitting_datasets(source_key, targets) if is_own_source(source_key) else targets


def _target_caption(src: SourceWeights, info: DatasetInfo) -> str:
    """The new head, and what the images become on their way in."""
    n = head_size(info)
    head = (
        f"New head: {n} output{'s' if n > 1 else ''} "
        f"({'one sigmoid logit' if info.task == 'binary' else 'softmax over ' + str(n)}); "
    )
    grey = info.input_shape[0] == 1
    if src.kind == "imagenet":
        return (
            head
            + "images resized to 224 x 224"
            + (", grey repeated into R, G and B" if grey else "")
            + ", normalised as for ImageNet."
        )
    if src.kind == SPEC_KIND:
        c, h, w = own.input_shape(st.session_state["xf_source"])
        return (
            f"{head.replace('New head', 'Head (new only if the number of classes differs)')}"
            f"images resized to {h} x {w}, the model's own input"
            + (", grey repeated into R, G and B" if grey and c == 3 else "")
            + (
                ", pixels 0-255 as the model rescales them itself"
                if src.build.get("pixel_scale", 1.0) != 1.0
                else ""
            )
            + "."
        )
    return head + f"input {info.input_shape[0]} channel(s)."


def _what_trains(counts: dict[str, int], active: bool) -> None:
    st.radio(
        "What trains",
        FREEZE_MODES,
        key="xf_freeze",
        disabled=active,
        format_func=lambda m: (
            f"{FREEZE_TITLES[m]}: {counts[m]:,} parameters train "
            f"({counts[m] / max(counts['all'], 1):.2%} of the model)"
        ),
    )


def _run_numbers(active: bool) -> None:
    """Learning rate, batch, epochs and set sizes; the backbone's rate when it trains."""
    a, b, c, d, e = st.columns(5)
    a.number_input("Learning rate", key="xf_lr", format="%.4f", step=0.001, disabled=active)
    b.number_input("Batch size", key="xf_bs", step=8, disabled=active)
    c.number_input("Epochs", key="xf_epochs", step=1, disabled=active)
    d.number_input("Training images of the new task", key="xf_train", step=32, disabled=active)
    e.number_input("Validation images", key="xf_val", step=50, disabled=active)
    if st.session_state["xf_freeze"] != "head":
        st.select_slider(
            "Backbone learning rate (fraction of the head's)",
            [0.01, 0.03, 0.1, 0.3, 1.0],
            key="xf_backbone",
            disabled=active,
            help="A smaller step for the pretrained layers keeps what they learnt.",
        )


def _twin_choice(src: SourceWeights, active: bool) -> None:
    if src.kind == SPEC_KIND:
        st.caption(
            "Your imported model is fine-tuned on its own: the comparison with the same model from "
            "scratch is offered for the catalog's models."
        )
        return
    st.checkbox(
        f"Also train the same model from scratch at its own learning rate ({SCRATCH_LR:g}; one job, "
        "both runs compared below)",
        key="xf_twin",
        disabled=active,
    )


def _start(src: SourceWeights) -> None:
    settings = transfer_settings()
    problems = settings.errors()
    if not problems and src.kind == SPEC_KIND:  # the imported model's step, estimated on meta
        problems = spec_memory_problems(src, settings)
    if problems:
        st.error("Cannot start: " + " ".join(problems))
        return
    title = transfer_title(settings, src)
    from explorer.device import pick_device

    device = str(pick_device(settings.device))
    try:
        if st.session_state.get("xf_twin") and src.kind != SPEC_KIND:
            runs = transfer_vs_scratch_runs(settings, src)
            browser_jobs.submit(
                browser_jobs.JobSpec("explorer.training.runs:run_comparison", {"runs": runs}),
                device=device,
                title=title + " vs from scratch",
                kind="comparison",
            )
        else:
            browser_jobs.submit(
                browser_jobs.JobSpec(
                    "explorer.training.transfer:run_transfer", {"settings": settings, "source": src}
                ),
                device=device,
                title=title,
                kind=KIND,
            )
    except browser_jobs.JobBusyError as err:
        st.error(str(err))
        return
    st.rerun()
