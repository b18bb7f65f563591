"""Compact heatmaps decode to the trace's values within the display rounding."""

from __future__ import annotations

import json

import numpy as np
import plotly.io as pio
import plotly.tools
import pytest
import torch

from explorer.models.recurrent import build_recurrent
from explorer.probe.recurrent import trace
from explorer.viz import recurrent as viz
from explorer.viz.compact import (
    bin_columns,
    bin_size,
    colorbar_ticks,
    decode_plotly_array,
    quantize,
)


def _sent(fig) -> str:
    """The JSON st.plotly_chart sends (streamlit/elements/plotly_chart.py does exactly this)."""
    figure = plotly.tools.return_figure_from_figure_or_data(fig, validate_figure=True)
    return pio.to_json(figure, validate=False)


@pytest.fixture(scope="module")
def long_trace():
    torch.manual_seed(0)
    net = build_recurrent("lstm", 8, 128, num_layers=2).eval()
    return trace(net, torch.randn(1000, 8), labels=[chr(97 + k % 26) for k in range(1000)])


def test_quantize_decodes_within_half_a_colour_step():
    rng = np.random.default_rng(0)
    v = rng.uniform(-1, 1, (50, 70)).astype(np.float32)
    q = quantize(v, -1.0, 1.0)
    assert q.codes.dtype == np.uint8
    assert np.abs(q.decode() - v).max() <= q.step / 2 + 1e-6
    assert q.step == pytest.approx(2 / 255)
    clipped = quantize(np.array([-5.0, 0.5, 5.0]), 0.0, 1.0)
    assert clipped.codes.tolist() == [0, 128, 255]  # out of range: drawn at the ends


def test_quantize_of_an_empty_range_is_all_zero_codes():
    q = quantize(np.ones((2, 3)), 1.0, 1.0)
    assert q.codes.tolist() == [[0, 0, 0], [0, 0, 0]]


def test_bin_columns_is_the_mean_of_each_group_including_a_short_last_one():
    v = np.arange(14, dtype=np.float32).reshape(2, 7)
    np.testing.assert_allclose(bin_columns(v, 3), [[1, 4, 6], [8, 11, 13]])
    assert bin_columns(v, 1).shape == (2, 7)
    assert bin_size(1000, 500) == 2 and bin_size(1001, 500) == 3 and bin_size(10, 500) == 1


def test_colour_bar_is_labelled_in_real_units():
    ticks = colorbar_ticks(quantize(np.zeros(1), -1.0, 1.0), count=3)
    assert ticks["ticktext"] == ["-1", "0", "1"]
    assert ticks["tickvals"] == pytest.approx([0.0, 127.5, 255.0])


def test_long_heatmap_decodes_to_the_binned_trace(long_trace):
    for name in ("f", "c", "h"):
        sent = json.loads(_sent(viz.state_heatmap(long_trace, name, layer=1)))["data"][0]
        codes = decode_plotly_array(sent["z"])
        assert codes.dtype == np.uint8 and codes.shape == (128, 500)
        full = long_trace.get(name, 1)
        lo, hi = (
            (0.0, 1.0)
            if name == "f"
            else ((-1.0, 1.0) if name == "h" else (-np.abs(full).max(), np.abs(full).max()))
        )
        assert sent["zmin"] == 0 and sent["zmax"] == 255
        decoded = lo + codes.astype(np.float64) * (hi - lo) / 255
        expected = full.T.reshape(128, 500, 2).mean(axis=2)  # two steps per column
        assert np.abs(decoded - expected).max() <= (hi - lo) / 510 + 1e-6
        assert len(sent["x"]) == 500 and sent["x"][0] == "0-1 ab"


def test_short_window_is_sent_exactly(long_trace):
    sent = json.loads(_sent(viz.state_heatmap(long_trace, "i", layer=0, window=(300, 450))))[
        "data"
    ][0]
    z = decode_plotly_array(sent["z"])
    assert z.dtype == np.float32
    np.testing.assert_array_equal(z, long_trace.get("i", 0)[300:450].T)
    assert list(sent["x"][:2]) == ["300 o", "301 p"]
    assert "%{z:.3f}" in sent["hovertemplate"]


def test_twelve_heatmaps_of_a_1000_by_128_trace_fit_in_1_5_mib(long_trace):
    sizes = [len(_sent(fig)) for fig in viz.all_heatmaps(long_trace).values()]
    assert len(sizes) == 12
    assert sum(sizes) <= 1.5 * 2**20


def test_windows_are_clamped_to_the_trace(long_trace):
    assert viz.clamp_window(long_trace, (-5, 5000)) == (0, 1000)
    assert viz.clamp_window(long_trace, (999, 10)) == (999, 1000)
    assert viz.is_exact(long_trace, (0, 200)) and not viz.is_exact(long_trace, (0, 201))


def test_stacked_and_two_direction_figures_use_the_same_encoding():
    torch.manual_seed(0)
    tr = trace(build_recurrent("gru", 3, 16, num_layers=2, bidirectional=True), torch.randn(600, 3))
    for fig in (viz.forward_backward(tr, "h", 0), viz.layers_stacked(tr, "z", 0)):
        data = json.loads(_sent(fig))["data"]
        assert len(data) == 2 and all(decode_plotly_array(d["z"]).dtype == np.uint8 for d in data)
