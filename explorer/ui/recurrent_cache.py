"""Caching and per-user state for the Recurrent page.

Traces and gradient flows are cached by their real inputs (network shape, seed or weight
digest, the text or signal), so a widget that only changes the view - a quantity, a layer,
a unit, a scale - reruns the page without recomputing them. Randomly initialised models are
process-wide read-only resources; models a user trained live in that user's session only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import streamlit as st
import torch

from explorer.bounded import BoundedStore
from explorer.data.sequences import (
    VOCAB_SIZE,
    display_char,
    encode_text,
    make_signal,
    task_for_input,
)
from explorer.device import pick_device
from explorer.models.init import build_seeded
from explorer.models.recurrent_cells import CELL_SPECS, CELLS
from explorer.models.sequence_model import SequenceModel, SequenceModelConfig
from explorer.probe.recurrent import RecurrentTrace, gradient_flow, trace
from explorer.training.sequence import (
    TASK_TITLES,
    SequenceRun,
    SequenceSettings,
    TrainedSequenceModel,
)

EMBED_DIM = SequenceModelConfig.embed_dim  # the learned embedding's width (a class default)
_RUNS_KEY = "_recurrent_runs"
MAX_RUNS = 3  # per user: one run per training task (three), each up to three small models


@dataclass(frozen=True)
class InputSpec:
    """What the network reads, as plain hashable values (the cache key)."""

    kind: str  # "text" or "signal"
    text: str = ""
    encoding: str = "onehot"  # text: "onehot" or "embedding"
    signal: str = "sine"
    steps: int = 200
    seed: int = 0

    @property
    def task_kind(self) -> str:
        """Which training task reads inputs like these (the engine's ``task_for_input``)."""
        return task_for_input(self.kind, self.signal)


@dataclass
class PreparedInput:
    """The sequence as a tensor, one hover label per step, notes for the student."""

    values: torch.Tensor  # T ids (text) or T x F features (signal)
    labels: list[str]
    notes: list[str] = field(default_factory=list)
    features: int = 1  # F for signals
    feature_names: list[str] = field(default_factory=list)

    @property
    def steps(self) -> int:
        return int(self.values.shape[0])


def prepare_input(spec: InputSpec) -> PreparedInput:
    """Text or signal -> tensor; raises SequenceInputError (with a message) on empty text."""
    if spec.kind == "text":
        enc = encode_text(spec.text)
        labels = [display_char(ch) for ch in enc.chars]
        return PreparedInput(enc.ids, labels, enc.notes, VOCAB_SIZE, ["character"])
    sig = make_signal(spec.signal, spec.steps, seed=spec.seed)
    return PreparedInput(
        sig.values, sig.labels, sig.notes, sig.values.shape[1], list(sig.feature_names)
    )


def model_config(
    cell: str,
    hidden_size: int,
    num_layers: int,
    bidirectional: bool,
    nonlinearity: str,
    spec: InputSpec,
    features: int,
) -> SequenceModelConfig:
    """The page's network for this kind of input (the head is unused by traces)."""
    encoding = spec.encoding if spec.kind == "text" else "signal"
    return SequenceModelConfig(
        cell=cell,
        hidden_size=hidden_size,
        num_layers=num_layers,
        bidirectional=bidirectional,
        nonlinearity=nonlinearity,
        encoding=encoding,
        vocab_size=VOCAB_SIZE,
        input_features=features,
        output_size=1,
    )


@st.cache_resource(max_entries=24, show_spinner=False)
def random_model(config: SequenceModelConfig, seed: int) -> SequenceModel:
    """A randomly initialised model (read-only, shared: it holds nothing of any user)."""
    return build_seeded(lambda: SequenceModel(config, fused=False), seed).eval()  # local generator


@st.cache_data(max_entries=32, show_spinner="Running the network over the sequence...")
def random_trace(config: SequenceModelConfig, seed: int, spec: InputSpec) -> RecurrentTrace:
    """Trace of a randomly initialised network; keyed by shape, seed and input."""
    prepared = prepare_input(spec)
    return trace(random_model(config, seed), prepared.values, prepared.labels)


def state_digest(state_dict: dict[str, torch.Tensor]) -> str:
    """A content hash of a state dict: the cache key of a trained model's weights."""
    h = hashlib.sha1()
    for name in sorted(state_dict):
        h.update(name.encode())
        h.update(state_dict[name].detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


@st.cache_data(max_entries=16, show_spinner="Running the trained network over the sequence...")
def trained_trace(digest: str, _model: TrainedSequenceModel, spec: InputSpec) -> RecurrentTrace:
    """Trace of a trained model; ``digest`` (its weights) stands for the unhashed model."""
    prepared = prepare_input(spec)
    return trace(_model.instantiate(), prepared.values, prepared.labels)


@st.cache_data(max_entries=16, show_spinner="Back-propagating through time...")
def init_gradient_flows(
    hidden_size: int,
    num_layers: int,
    spec: InputSpec,
    length: int,
    wrt: str,
    seed: int,
    cells: tuple[str, ...] = CELLS,
) -> dict[str, np.ndarray]:
    """||d y_T/d s_t|| for RNN, GRU and LSTM at initialisation on the same (cut) sequence."""
    prepared = prepare_input(spec)
    values = prepared.values[:length]
    out = {}
    for cell in cells:
        if wrt == "c" and not CELL_SPECS[cell].has_memory:
            continue
        config = model_config(cell, hidden_size, num_layers, False, "tanh", spec, prepared.features)
        out[f"{cell.upper()} at init"] = gradient_flow(random_model(config, seed), values, wrt)
    return out


@st.cache_data(max_entries=16, show_spinner="Back-propagating through the trained models...")
def trained_gradient_flows(
    digests: tuple[str, ...],
    _models: tuple[TrainedSequenceModel, ...],
    spec: InputSpec,
    length: int,
    wrt: str,
) -> dict[str, np.ndarray]:
    """The same measurement for trained models and for the very weights each started from.

    Keyed by the models' weight digests (the models themselves are not hashed).
    """
    prepared = prepare_input(spec)
    values = prepared.values[:length]
    out = {}
    for model in _models:
        if wrt == "c" and not CELL_SPECS[model.config.cell].has_memory:
            continue
        name = model.config.cell.upper()
        out[f"{name} at init"] = gradient_flow(model.initial(), values, wrt)
        out[f"{name} trained"] = gradient_flow(model.instantiate(), values, wrt)
    return out


# --- per-user trained runs (session state) -----------------------------------------------


def saved_runs() -> BoundedStore[str, SequenceRun]:
    """This user's finished runs by task, in the order they finished (the oldest dropped first).

    A history, not LRU: the views read it on every rerun, which must not reorder the run list.
    """
    return st.session_state.setdefault(
        _RUNS_KEY, BoundedStore(MAX_RUNS, "recurrent runs", refresh_on_read=False)
    )


def save_run(run: SequenceRun) -> None:
    """Keep a finished run as its task's run (a newer run of the same task replaces it)."""
    saved_runs()[run.settings.task] = run


def trained_models() -> list[TrainedSequenceModel]:
    """Every model this user trained, newest run last."""
    return [m for run in saved_runs().values() for m in run.models.values()]


# --- live training through the shared job machinery (explorer/ui/jobs.py) -------------------

_JOB_SETTINGS_KEY = "_recurrent_job_settings"
_COLLECTED_KEY = "_recurrent_collected_jobs"


class JobUnavailableError(RuntimeError):
    """Training cannot start (no job machinery, or this user already has a job)."""


def _ui_jobs():
    try:
        from explorer.ui import jobs
    except ImportError as err:  # the shared machinery is another module's; say so plainly
        raise JobUnavailableError(
            "Live training is not available: explorer/ui/jobs.py is missing."
        ) from err
    return jobs


def job_settings() -> SequenceSettings | None:
    """Settings of this user's latest recurrent training job."""
    return st.session_state.get(_JOB_SETTINGS_KEY)


JOB_KIND = "recurrent"


def current_job():  # -> explorer.training.jobs.Job | None
    """This session's newest recurrent training job (jobs of other pages are not shown here)."""
    try:
        return _ui_jobs().current_job(JOB_KIND)
    except JobUnavailableError:
        return None


def queue_position(job) -> int | None:  # noqa: ANN001
    return _ui_jobs().queue_position(job)


def status_line(job) -> str:  # noqa: ANN001
    return _ui_jobs().status_line(job)


def start_training(settings: SequenceSettings) -> None:
    """Queue a comparison run for this session on the app's device; raises JobUnavailableError."""
    jobs = _ui_jobs()
    device = str(pick_device())
    title = (
        f"{', '.join(c.upper() for c in settings.cells)} on {TASK_TITLES[settings.task].lower()}"
    )
    try:
        jobs.submit(  # a job spec, not a closure: it runs in a worker process (or on Ray)
            jobs.JobSpec(
                "explorer.training.sequence:train_sequence_models",
                {"settings": settings, "device": device},
            ),
            device=device,
            title=title,
            kind=JOB_KIND,
        )
    except jobs.JobBusyError as err:
        raise JobUnavailableError(str(err)) from err
    st.session_state[_JOB_SETTINGS_KEY] = settings


def collect_result(job) -> bool:  # noqa: ANN001
    """Keep a finished job's models in this session once; True when they were new."""
    collected: set[int] = st.session_state.setdefault(_COLLECTED_KEY, set())
    if job.id in collected or not isinstance(job.result, SequenceRun):
        return False
    collected.add(job.id)
    save_run(job.result)
    return True
