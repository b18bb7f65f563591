"""The gradient-flow chart: every series its own colour from the theme (the course's step on
vanishing gradients draws the LSTM with forget bias 1 beside RNN, GRU and LSTM at init)."""

from __future__ import annotations

import numpy as np

from explorer.viz.gradient_flow import gradient_flow_figure, series_colours
from explorer.viz.theme import OKABE_ITO

CURVE = np.geomspace(1e-6, 1.0, 30)


def test_every_series_at_init_has_a_distinct_theme_colour() -> None:
    labels = ["RNN at init", "GRU at init", "LSTM at init", "LSTM, forget bias 1 (at start)"]
    fig = gradient_flow_figure({label: CURVE for label in labels})
    colours = [trace.line.color for trace in fig.data]
    assert [trace.name for trace in fig.data] == labels
    assert len(set(colours)) == len(labels)
    assert set(colours) <= set(OKABE_ITO)


def test_a_cells_curves_before_and_after_training_share_its_colour_and_differ_by_dash() -> None:
    labels = ["RNN at init", "RNN trained", "GRU at init", "GRU trained", "LSTM at init"]
    fig = gradient_flow_figure({label: CURVE for label in labels}, log_scale=False)
    style = {t.name: (t.line.color, t.line.dash) for t in fig.data}
    assert style["RNN at init"][0] == style["RNN trained"][0]
    assert (style["RNN at init"][1], style["RNN trained"][1]) == ("dot", "solid")
    assert len({style[f"{c} at init"][0] for c in ("RNN", "GRU", "LSTM")}) == 3
    assert len(set(style.values())) == len(labels)


def test_variants_never_take_a_cells_colour() -> None:
    colours = series_colours(["RNN at init", "a", "b", "c", "d", "e", "f"])
    assert colours[0] not in colours[1:]
    assert len(set(colours[1:6])) == 5  # five theme colours are left for variants
