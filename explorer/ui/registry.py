"""Per-user model registry: models a user trained (or loaded) in this browser session.

Lives in ``st.session_state``, so no user ever sees another user's models. Bounded: a
:class:`~explorer.bounded.BoundedStore` kept in the order the models were registered (the
order the pickers show), the oldest registered dropped past :data:`MAX_MODELS`. Weights are kept as CPU tensors; pages
rebuild the module through the one checkpoint -> model path
(:func:`explorer.models.checkpoint.model_from_state`: build arguments and size checked on the
meta device, strict shapes, finite values).
"""

from __future__ import annotations

import streamlit as st

from explorer.bounded import BoundedStore
from explorer.models.imported_entry import OwnEntry, kind_of, own_entry
from explorer.models.spec import ModelSpec
from explorer.models.user_model import UserModel as UserModel  # re-exported: its home is the engine

MAX_MODELS = 8  # per user: a picker stays short, and each entry holds a full copy of its weights
_KEY = "_explorer_user_models"
_ENTRIES = "_own_entries"  # session: model name -> OwnEntry of an imported model


def _store() -> BoundedStore[str, UserModel]:
    # A history, not LRU: looking at a model must not reorder the pickers or save it from eviction.
    return st.session_state.setdefault(
        _KEY, BoundedStore(MAX_MODELS, "user models", refresh_on_read=False)
    )


def own_entries() -> BoundedStore[str, OwnEntry]:
    """This browser's imported models' catalog-like entries, by model name (beside the models:
    pages re-register them, so their keys resolve whatever the process-wide table dropped)."""
    return st.session_state.setdefault(_ENTRIES, BoundedStore(MAX_MODELS, "imported models"))


def _adopt_trained(name: str, spec_json: str, pixel_scale: float) -> str:
    """A model fine-tuned on the Training page from an imported one (its trained spec, checked
    again here) kept as this browser's under ``name``; returns its key."""
    spec = ModelSpec.from_json(spec_json)
    entry = own_entry(spec, spec.title[:100], (0.0, float(pixel_scale)), "fine-tuned")
    own_entries()[name] = entry
    return entry.key


def register_model(model: UserModel) -> None:
    """Add (or replace, by name: it becomes the newest) a model; drops the oldest past the cap."""
    _store()[model.name] = model


def user_models(kind: str | None = None) -> list[UserModel]:
    """The current user's models, newest last; ``kind`` filters by catalog kind (cnn / rnn)."""
    return [m for m in _store().values() if kind is None or kind_of(m.arch) == kind]


def get_user_model(name: str) -> UserModel | None:
    return _store().get(name)


def register_finished_training() -> UserModel | None:
    """Register the user's finished training run, once, whichever page is open.

    Called by the app shell on every rerun, so a model trained while the user looked at
    another page is already on the Feature maps page when they get there.
    """
    from explorer.ui import browser_jobs

    job = browser_jobs.current_job("training")
    if job is None or job.state is not browser_jobs.JobState.FINISHED or job.result is None:
        return None
    done = st.session_state.setdefault("_explorer_registered_jobs", set())
    name = f"{job.title} (run {job.id})"
    if job.id in done:
        return get_user_model(name)
    result = job.result
    arch, build = result.arch, dict(result.build)
    if getattr(result, "spec_json", ""):  # a fine-tuned imported model: its trained spec's entry
        arch = _adopt_trained(name, result.spec_json, float(result.metrics.get("pixel_scale", 1.0)))
    model = UserModel(
        name=name,
        arch=arch,
        build=build,
        state_dict={k: v.detach().cpu().clone() for k, v in result.model.state_dict().items()},
        classes=list(result.classes),
        dataset=result.dataset or "",
        metrics=dict(result.metrics),
        source="trained on the Training page",
    )
    register_model(model)
    done.add(job.id)
    return model
