"""The Recurrent page's experiments: text shaded by one unit (units sorted by selectivity) and
the LSTM's gradient flow with a forget-gate bias of 1. Called from app_pages/recurrent.py."""

from __future__ import annotations

import numpy as np
import streamlit as st

from explorer.probe.recurrent import RecurrentTrace, trace_chars
from explorer.probe.selectivity import rank_units, unit_scores
from explorer.viz.unit_text import unit_text_figure, value_bounds

__all__ = [
    "forget_bias_flow",
    "trace_chars",
    "unit_text_section",
]  # trace_chars: re-exported from the engine


@st.cache_data(max_entries=16, show_spinner=False)
def _scores(values: np.ndarray, chars: tuple[str, ...]) -> dict[str, np.ndarray]:
    return unit_scores(values, chars)


def unit_text_section(tr: RecurrentTrace, layer: int = 0, direction: int = 0) -> None:
    """Pick a unit (sorted by a selectivity score) and read the text shaded by its value."""
    with st.expander("Text shaded by one unit (LSTMVis)", expanded=False):
        # Scores and the figure are made only on request: the page's other views stay as light.
        if not st.toggle("Shade the text by one unit", key="rec_ut_on"):
            st.caption(
                "Pick one hidden unit and read the text coloured by its value, with units sorted by "
                "how selective they are."
            )
            return
        chars = trace_chars(tr)
        names = [q for q in tr.quantities if q in ("h", "c")] or list(tr.quantities)
        c1, c2 = st.columns(2)
        name = c1.radio("Quantity", names, horizontal=True, key="rec_ut_q")
        values = tr.get(name, layer, direction)  # T x H
        scores = _scores(values, tuple(chars))
        by = c2.selectbox("Sort units by", list(scores), key="rec_ut_sort")
        order = rank_units(scores[by])
        unit = st.selectbox(
            "Unit",
            order,
            key=f"rec_ut_unit_{tr.hidden_size}",
            format_func=lambda k: f"unit {k} ({by}: {scores[by][k]:+.3f})",
        )
        st.plotly_chart(
            unit_text_figure(
                chars, values[:, unit], f"{name}[{unit}] over the text", bounds=value_bounds(values)
            ),
            key="rec_ut_fig",
        )
        st.caption(
            "Each character is shaded by the unit's value right after reading it (red positive, blue "
            "negative). Units are sorted by the chosen score: variance over time finds units that change a "
            "lot; a correlation finds units that follow a kind of character (quotes, spaces, digits...). "
            "A trained model has such units; random weights rarely do."
        )


@st.cache_data(max_entries=16, show_spinner="Back-propagating through the LSTM...")
def forget_bias_flow(
    config_args: tuple, seed: int, values: np.ndarray, wrt: str, bias: float
) -> np.ndarray:
    """||d y_T / d s_t|| of the LSTM at initialisation with its forget-gate bias set to ``bias``."""
    import torch

    from explorer.models.init import build_seeded
    from explorer.models.sequence_model import SequenceModel, SequenceModelConfig
    from explorer.probe.recurrent import gradient_flow
    from explorer.training.sequence import set_forget_bias

    model = build_seeded(
        lambda: SequenceModel(SequenceModelConfig(**dict(config_args)), fused=False), seed
    ).eval()
    set_forget_bias(model, bias)
    return gradient_flow(model, torch.as_tensor(values), wrt)
