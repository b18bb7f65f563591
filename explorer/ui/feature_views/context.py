"""What every view of the Feature maps page is drawn from: one model's result on one image,
the page's URL state and the layer names; plus the small helpers several views share."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from explorer.data.images import DecodedImage, ModelInput
from explorer.models.catalog_types import ArchSpec
from explorer.probe.names import display_name
from explorer.probe.stats import ShapedLayer
from explorer.ui.image_results import FeatureResult
from explorer.ui.state import PageState
from explorer.ui.weight_sources import LoadedModel
from explorer.viz.cell_grid import clicked_cell

# Labels other views switch to (the Open button, a click on a unit); the registry uses them too.
LAYER_DETAIL = "Layer detail"
RECEPTIVE_FIELD = "Receptive field"
SORT_LABELS = {
    "index": "channel index",
    "mean": "mean activation",
    "max": "max activation",
    "variance": "variance",
}


@dataclass(frozen=True, eq=False)
class ViewContext:
    """The page's state when a view is drawn (nothing here changes while it draws)."""

    url: PageState
    lm: LoadedModel
    res: FeatureResult
    spec: ArchSpec
    image: DecodedImage
    names: list[str]  # the captured layers, in model order
    labels: dict[str, str]  # layer -> what a layer picker shows
    layer_tokens: dict[str, str]  # layer -> its paper-style name in the URL (may be empty)
    catalog_keys: list[str]  # CNN entries of the catalog, for a second model

    @property
    def mi(self) -> ModelInput:
        return self.res.model_input

    def name_of(self, layer: str) -> str:
        """The paper-style name of a captured layer ("relu_C3", "stage 2, block 1"), its module
        path only where the model's names are unknown."""
        return display_name(self.layer_tokens.get(layer, layer))


def paper_label(layer: ShapedLayer, names: dict[str, str]) -> str:
    """What a layer picker shows: the paper-style name, the layer's type and its output shape
    ("conv3_1 (Conv2d) - 256 x 56 x 56", "stage 2, block 1 (Residual) - ..."); the module path
    only for a layer the namer does not know (a raw index such as "4" means nothing to a reader)."""
    if layer.name not in names:
        return layer.label
    c, h, w = layer.shape
    return f"{display_name(names[layer.name])} ({layer.type}) - {c} x {h} x {w}"


def bounded_index(key: str, hi: int, default: int = 0) -> None:
    """Keep an index widget's stored value inside 0..hi before the widget is drawn."""
    v = st.session_state.get(key, default)
    st.session_state[key] = int(min(max(0, v if isinstance(v, int) else default), hi))


def open_layer(name: str) -> None:
    """The Open button of a layer: its detail view."""
    st.session_state["fm_layer"] = name
    st.session_state["fm_view"] = LAYER_DETAIL


def unit_clicked() -> None:
    """A click on a feature map selects that unit and opens its receptive field."""
    in_detail = st.session_state.get("fm_view") == LAYER_DETAIL
    cell = clicked_cell(
        st.session_state.get("fm_zoom") if in_detail else st.session_state.get("fm_rf_pick")
    )
    if cell is None:
        return
    if in_detail:
        st.session_state["fm_rf_layer"] = st.session_state.get("fm_layer")
        st.session_state["fm_view"] = RECEPTIVE_FIELD
    st.session_state["fm_rf_row"], st.session_state["fm_rf_col"] = cell
