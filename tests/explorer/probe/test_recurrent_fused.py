"""The fused-kernel trace against the explicit cells (the reference), gate by gate and state by state."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from explorer.models.recurrent import CELLS, RecurrentConfigError, build_recurrent
from explorer.models.recurrent_cells import CELL_SPECS, linear_scan
from explorer.probe.recurrent import fused_run, trace

CONFIGS = list(itertools.product(CELLS, (1, 2, 3, 4), (False, True), (False, True)))


@pytest.mark.parametrize(("cell", "layers", "bidirectional", "batch_first"), CONFIGS)
def test_fused_run_equals_the_explicit_cells(cell, layers, bidirectional, batch_first):
    seed = CONFIGS.index((cell, layers, bidirectional, batch_first))  # random, reproducible
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    nonlinearity = "relu" if cell == "rnn" and layers % 2 == 0 else "tanh"
    net = build_recurrent(cell, 5, 6, layers, bidirectional, nonlinearity, batch_first)
    steps = int(torch.randint(1, 40, (1,), generator=gen))
    batch = int(torch.randint(1, 4, (1,), generator=gen))
    x = torch.randn((batch, steps, 5) if batch_first else (steps, batch, 5), generator=gen)
    states = layers * (2 if bidirectional else 1)
    hx = torch.randn(states, batch, 6, generator=gen)
    if cell == "lstm":
        hx = (hx, torch.randn(states, batch, 6, generator=gen))
    with torch.no_grad():
        out_ref, h_ref, c_ref, rec_ref = net.run(x, hx, record=True)
    out, h_n, c_n, rec = fused_run(net, x, hx)
    torch.testing.assert_close(out, out_ref, atol=1e-5, rtol=0)
    torch.testing.assert_close(h_n, h_ref, atol=1e-5, rtol=0)
    if cell == "lstm":
        torch.testing.assert_close(c_n, c_ref, atol=1e-5, rtol=0)
    else:
        assert c_n is None and c_ref is None
    assert sorted(rec) == sorted(rec_ref)
    for key, per in rec_ref.items():
        assert tuple(rec[key]) == CELL_SPECS[cell].quantities
        for name, expected in per.items():
            assert rec[key][name].shape == expected.shape == (steps, batch, 6)
            torch.testing.assert_close(
                rec[key][name],
                expected,
                atol=1e-5,
                rtol=0,
                msg=lambda m, k=key, n=name: f"{k} {n}: {m}",
            )


@pytest.mark.parametrize("cell", CELLS)
def test_trace_methods_agree_on_a_long_sequence(cell):
    torch.manual_seed(1)
    net = build_recurrent(cell, 4, 16, num_layers=2, bidirectional=True)
    x = torch.randn(300, 4)
    fused, explicit = trace(net, x, method="fused"), trace(net, x, method="explicit")
    np.testing.assert_allclose(fused.output, explicit.output, atol=1e-5)
    for key, per in explicit.values.items():
        for name, values in per.items():
            assert fused.values[key][name].dtype == np.float32
            np.testing.assert_allclose(
                fused.values[key][name], values, atol=1e-5, err_msg=f"{key} {name}"
            )


def test_trace_rejects_an_unknown_method():
    with pytest.raises(ValueError, match="method must be one of"):
        trace(build_recurrent("rnn", 1, 2), torch.zeros(3, 1), method="magic")


def test_fused_run_needs_a_batch_and_the_right_width():
    net = build_recurrent("gru", 3, 4)
    with pytest.raises(RecurrentConfigError, match="batched input"):
        fused_run(net, torch.zeros(5, 3))
    with pytest.raises(RecurrentConfigError, match="expects 3"):
        fused_run(net, torch.zeros(5, 1, 2))


def test_fused_run_leaves_the_network_unchanged():
    net = build_recurrent("lstm", 2, 3, num_layers=2)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    fused_run(net, torch.randn(7, 1, 2))
    for name, value in net.state_dict().items():
        assert torch.equal(value, before[name])
        assert getattr(net, name).device.type == "cpu"


@pytest.mark.parametrize("steps", [1, 2, 3, 7, 64, 100])
def test_linear_scan_equals_the_sequential_recurrence(steps):
    gen = torch.Generator().manual_seed(steps)
    a = torch.rand(steps, 2, 5, generator=gen, dtype=torch.float64)
    b = torch.randn(steps, 2, 5, generator=gen, dtype=torch.float64)
    c0 = torch.randn(2, 5, generator=gen, dtype=torch.float64)
    expected, c = [], c0
    for t in range(steps):
        c = a[t] * c + b[t]
        expected.append(c)
    a_before, b_before = a.clone(), b.clone()
    torch.testing.assert_close(linear_scan(a, b, c0), torch.stack(expected))
    assert torch.equal(a, a_before) and torch.equal(b, b_before)  # inputs are not overwritten
