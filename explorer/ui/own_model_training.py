"""Your imported model on the Training page: pick it, see what data fit it, send it to a job.

The Transfer learning panel and "Your own images" offer this browser's imported models (and
those fine-tuned from them) as ``own:<name>`` sources beside the catalog's weights. A job cannot
look up an imported model's key (it resolves in this web process only), so the source carries the
model: its spec's JSON and weights (:func:`explorer.training.spec_transfer.spec_source`), checked
again by the worker before it builds anything. The offline datasets offered are those whose
images fit the model's own input (:func:`~explorer.training.spec_transfer.fits_input`); when none
does, the panel says so. The course's Keras CNN loads here with one click, as on Architectures.
"""

from __future__ import annotations

import streamlit as st

from explorer.data.datasets import DATASETS
from explorer.models.imported_entry import ENTRIES, OWN_PREFIX, OwnEntry
from explorer.training.settings import OWN_SOURCE
from explorer.training.spec_transfer import fits_input, spec_source
from explorer.training.transfer_weights import SourceWeights, TransferError
from explorer.ui.registry import UserModel, get_user_model, user_models


def own_sources() -> dict[str, str]:
    """Source key -> label for every imported (or fine-tuned imported) model of this browser."""
    from explorer.ui.own_model import own_keys

    own_keys()  # re-registers this browser's entries, so their keys resolve
    return {
        OWN_SOURCE + m.name: f"Your imported model: {m.name}"
        for m in user_models("cnn")
        if m.arch.startswith(OWN_PREFIX) and m.arch in ENTRIES
    }


def _model_and_entry(key: str) -> tuple[UserModel, OwnEntry]:
    um = get_user_model(key.removeprefix(OWN_SOURCE))
    entry = ENTRIES.get(um.arch) if um is not None else None
    if um is None or entry is None:
        raise TransferError("That model is no longer in this session: import it again.")
    return um, entry


def own_arch(key: str) -> str:
    """The catalog-like key of the imported model ``key`` names (the settings' ``model``)."""
    return _model_and_entry(key)[0].arch


def input_shape(key: str) -> tuple[int, int, int]:
    """The imported model's own input (channels, height, width)."""
    return tuple(_model_and_entry(key)[1].arch.input_shape)  # type: ignore[return-value]


def own_source(key: str) -> SourceWeights:
    """The imported model as a job's source: its spec (as read from the file, output activation
    included), its weights and the pixel scale it expects, all plain data."""
    um, entry = _model_and_entry(key)
    return spec_source(
        entry.source_spec or entry.spec,
        um.state_dict,
        arch=um.arch,
        title=f'your imported model "{um.name}"',
        classes=tuple(um.classes),
        dataset=um.dataset,
        pixel_scale=float(entry.pixel_range[1]),
    )


def fitting_datasets(key: str, candidates: list[str]) -> list[str]:
    """The datasets among ``candidates`` whose images fit the imported model's input."""
    shape = input_shape(key)
    return [k for k in candidates if fits_input(DATASETS[k].input_shape, shape)]


def example_button(key: str) -> None:
    """The one-click course example (its Keras CNN, circles vs squares), when none is loaded."""
    st.button(
        "Load the course's Keras CNN (an example of your own model)",
        key=key,
        on_click=_load_example,
        help="The same file as on Architectures: a .keras model trained on circles vs squares.",
    )


def _load_example() -> None:
    from explorer.models.imports import ModelImportError
    from explorer.ui.own_model import EXAMPLE, adopt

    try:
        um = adopt(EXAMPLE.read_bytes(), EXAMPLE.name)
    except ModelImportError as err:
        st.session_state["_own_train_msg"] = str(err)
        return
    st.session_state["xf_source"] = OWN_SOURCE + um.name
    st.session_state.pop("_own_train_msg", None)
