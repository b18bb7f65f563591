"""Caching and per-user state for the Recurrent page.

Traces and gradient flows are cached by their real inputs (network shape, seed or weight
digest, the text or signal), so a widget that only changes the view - a quantity, a layer,
a unit, a scale - reruns the page without recomputing them. Randomly initialised models are
process-wide read-only resources; models a user trained live in that user's session only.
The computing is the engine's: input preparation in :mod:`explorer.data.sequences`, the
page's network config and the gradient-flow loops in :mod:`explorer.probe.recurrent`, the
weight digest in :mod:`explorer.models.sequence_model` (re-exported here).
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from explorer.bounded import BoundedStore
from explorer.data.sequences import (  # re-exported (see __all__): their home is the engine
    VOCAB_SIZE,
    InputSpec,
    PreparedInput,
    prepare_input,
)
from explorer.device import pick_device
from explorer.models.init import build_seeded
from explorer.models.recurrent_cells import CELLS
from explorer.models.sequence_model import SequenceModel, SequenceModelConfig, state_digest
from explorer.probe import recurrent as rprobe
from explorer.probe.recurrent import RecurrentTrace, model_config, trace
from explorer.training.sequence import SequenceRun, SequenceSettings, TrainedSequenceModel
from explorer.training.sequence_tasks import TASK_TITLES
from explorer.ui import browser_jobs

__all__ = [
    "EMBED_DIM",
    "MAX_RUNS",
    "VOCAB_SIZE",
    "InputSpec",
    "PreparedInput",
    "model_config",
    "prepare_input",
    "state_digest",
    "trace",
]

EMBED_DIM = SequenceModelConfig.embed_dim  # the learned embedding's width (a class default)
_RUNS_KEY = "_recurrent_runs"
MAX_RUNS = 3  # per user: one run per training task (three), each up to three small models


@st.cache_resource(max_entries=24, show_spinner=False)
def random_model(config: SequenceModelConfig, seed: int) -> SequenceModel:
    """A randomly initialised model (read-only, shared: it holds nothing of any user)."""
    return build_seeded(lambda: SequenceModel(config, fused=False), seed).eval()  # local generator


@st.cache_data(max_entries=32, show_spinner="Running the network over the sequence...")
def random_trace(config: SequenceModelConfig, seed: int, spec: InputSpec) -> RecurrentTrace:
    """Trace of a randomly initialised network; keyed by shape, seed and input."""
    prepared = prepare_input(spec)
    return trace(random_model(config, seed), prepared.values, prepared.labels)


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
    """||d y_T/d s_t|| for RNN, GRU and LSTM at initialisation on the same (cut) sequence
    (:func:`explorer.probe.recurrent.init_gradient_flows` on the process-wide random models)."""
    return rprobe.init_gradient_flows(
        lambda config: random_model(config, seed), hidden_size, num_layers, spec, length, wrt, cells
    )


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
    return rprobe.trained_gradient_flows(_models, spec, length, wrt)


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


# --- live training through the shared job machinery (explorer/ui/browser_jobs.py) -------------------

_JOB_SETTINGS_KEY = "_recurrent_job_settings"
_COLLECTED_KEY = "_recurrent_collected_jobs"


class JobUnavailableError(RuntimeError):
    """Training cannot start: this user already has a job."""


def job_settings() -> SequenceSettings | None:
    """Settings of this user's latest recurrent training job."""
    return st.session_state.get(_JOB_SETTINGS_KEY)


JOB_KIND = "recurrent"  # this page's jobs: browser_jobs.current_job(JOB_KIND) finds the newest


def start_training(settings: SequenceSettings) -> None:
    """Queue a comparison run for this session on the app's device; raises JobUnavailableError."""
    device = str(pick_device())
    title = (
        f"{', '.join(c.upper() for c in settings.cells)} on {TASK_TITLES[settings.task].lower()}"
    )
    try:
        browser_jobs.submit(  # a job spec, not a closure: it runs in a worker process (or on Ray)
            browser_jobs.JobSpec(
                "explorer.training.sequence:train_sequence_models",
                {"settings": settings, "device": device},
            ),
            device=device,
            title=title,
            kind=JOB_KIND,
        )
    except browser_jobs.JobBusyError as err:
        raise JobUnavailableError(str(err)) from err
    st.session_state[_JOB_SETTINGS_KEY] = settings


def collect_result(job) -> bool:
    """Keep a finished job's models in this session once; True when they were new."""
    collected: set[int] = st.session_state.setdefault(_COLLECTED_KEY, set())
    if job.id in collected or not isinstance(job.result, SequenceRun):
        return False
    collected.add(job.id)
    save_run(job.result)
    return True
