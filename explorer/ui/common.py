"""Small shared widgets: the sidebar, error boxes, cached catalog summaries."""

from __future__ import annotations

import streamlit as st

from explorer.device import DeviceUnavailableError, describe, pick_device
from explorer.models import get_spec


@st.cache_resource(max_entries=1)
def _device_line() -> str:
    try:
        return describe(pick_device())
    except DeviceUnavailableError as err:
        return f"Device setting ignored: {err}"


def sidebar() -> None:
    """The sidebar shared by every page: the compute device, and the user's finished run."""
    from explorer.ui.registry import register_finished_training

    trained = register_finished_training()
    with st.sidebar:
        st.caption("Compute device")
        st.markdown(f"**{_device_line()}**")
        st.caption("Set EXPLORER_DEVICE=cpu|cuda|mps to override the automatic choice.")
        if trained is not None:
            st.caption(f"Your trained model \"{trained.name}\" is ready on the Feature maps page.")


@st.cache_data(max_entries=64, show_spinner=False)
def summary_records(key: str, input_shape: tuple[int, ...]) -> tuple[list[dict], dict]:
    """The layer table of a catalog entry, computed on the meta device (no real weights)."""
    from explorer.probe import summarize

    spec = get_spec(key)
    summary = summarize(spec.build, input_shape)
    totals = {
        "params": summary.total_params,
        "macs": summary.total_macs,
        "input": summary.input_shape,
        "output": summary.output_shape,
    }
    return summary.as_records(), totals


@st.cache_data(max_entries=4, show_spinner="Measuring every architecture on the meta device...")
def catalog_overview(input_shape: tuple[int, ...] = (3, 224, 224)) -> list[dict]:
    """One row per full-size CNN of the catalog: year, parameters, MACs, depth, receptive field."""
    from explorer.models import catalog
    from explorer.probe.summary import largest_field, summarize, weight_layers

    rows = []
    for spec in catalog(kind="cnn", compact=False):
        s = summarize(spec.build, input_shape)
        rows.append({"architecture": spec.title, "family": spec.family, "year": spec.year,
                     "params": s.total_params, "MACs": s.total_macs, "weight layers": weight_layers(s),
                     "largest RF": largest_field(s)})  # fmt: skip
    return rows


def human(n: float) -> str:
    """12_345_678 -> '12.3 M'."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n:g}"
