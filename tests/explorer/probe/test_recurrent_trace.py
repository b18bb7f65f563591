"""Traces of every gate, and gradient flow through time against independent computations."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from explorer.models.recurrent import CELLS, build_recurrent, from_torch
from explorer.models.recurrent_cells import CELL_SPECS
from explorer.models.sequence_model import SequenceModel, SequenceModelConfig
from explorer.probe.recurrent import gradient_flow, trace


@pytest.mark.parametrize("cell", CELLS)
def test_trace_has_every_quantity_per_layer_direction_and_step(cell):
    net = build_recurrent(cell, 3, 5, num_layers=2, bidirectional=True)
    x = torch.randn(9, 3)
    tr = trace(net, x)
    assert sorted(tr.values) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    for per in tr.values.values():
        assert tuple(per) == CELL_SPECS[cell].quantities
        assert all(v.shape == (9, 5) and v.dtype == np.float32 for v in per.values())
    reference = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[cell](
        3, 5, num_layers=2, bidirectional=True
    )
    reference.load_state_dict(net.state_dict())
    expected = reference(x.unsqueeze(1))[0][:, 0].detach().numpy()  # T x 2H
    np.testing.assert_allclose(tr.output, expected, atol=1e-5)
    # Top layer h of both directions is torch's output, backward half included (time order).
    np.testing.assert_allclose(tr.get("h", 1, 0), expected[:, :5], atol=1e-5)
    np.testing.assert_allclose(tr.get("h", 1, 1), expected[:, 5:], atol=1e-5)
    assert tr.labels[0] == "t=0" and tr.steps == 9


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-v))


def _recomputed(
    reference: nn.Module, cell: str, x: np.ndarray
) -> dict[tuple[int, int], dict[str, np.ndarray]]:
    """Every quantity of every (layer, direction), recomputed here in float64 from the torch
    module's weights with the equations of torch's documentation (gate blocks in torch's order:
    LSTM i, f, g, o; GRU r, z, n), one step at a time; the backward direction runs from the last
    step and is stored in time order, as a trace stores it."""
    hidden, steps = reference.hidden_size, len(x)
    out: dict[tuple[int, int], dict[str, np.ndarray]] = {}
    inputs = x
    for layer in range(reference.num_layers):
        halves = []
        for direction in range(2 if reference.bidirectional else 1):
            suffix = f"_l{layer}" + ("_reverse" if direction else "")
            w_ih, w_hh, b_ih, b_hh = (
                getattr(reference, n + suffix).detach().double().numpy()
                for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
            )
            rec = {q: np.zeros((steps, hidden)) for q in CELL_SPECS[cell].quantities}
            h, c = np.zeros(hidden), np.zeros(hidden)
            for t in range(steps) if direction == 0 else reversed(range(steps)):
                gi, gh = w_ih @ inputs[t] + b_ih, w_hh @ h + b_hh
                if cell == "lstm":
                    i, f, g, o = np.split(gi + gh, 4)
                    i, f, g, o = _sigmoid(i), _sigmoid(f), np.tanh(g), _sigmoid(o)
                    c = f * c + i * g
                    h = o * np.tanh(c)
                    now = {"i": i, "f": f, "g": g, "o": o, "c": c, "h": h}
                elif cell == "gru":
                    (xr, xz, xn), (hr, hz, hn) = np.split(gi, 3), np.split(gh, 3)
                    r, z = _sigmoid(xr + hr), _sigmoid(xz + hz)
                    n = np.tanh(xn + r * hn)
                    h = (1 - z) * n + z * h
                    now = {"r": r, "z": z, "n": n, "h": h}
                else:
                    h = np.tanh(gi + gh)
                    now = {"h": h}
                for q, v in now.items():
                    rec[q][t] = v
            out[(layer, direction)] = rec
            halves.append(rec["h"])
        inputs = np.concatenate(halves, axis=1)
    return out


@pytest.mark.parametrize("method", ["fused", "explicit"])
@pytest.mark.parametrize("cell", CELLS)
def test_every_gate_equals_its_value_recomputed_from_the_torch_weights(cell, method):
    """Each gate on its own (not only the equations tying them together, which two swapped
    gates can still satisfy): the trace of a network copied from a torch module, gate by gate,
    layer by layer and in both directions, against this test's own computation."""
    torch.manual_seed(3)
    reference = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[cell](
        3, 4, num_layers=2, bidirectional=True
    )
    net = from_torch(reference)
    x = torch.randn(11, 3)
    tr = trace(net, x, method=method)
    expected = _recomputed(reference, cell, x.double().numpy())
    assert sorted(tr.values) == sorted(expected)
    for (layer, direction), per in expected.items():
        for q, values in per.items():
            np.testing.assert_allclose(
                tr.get(q, layer, direction),
                values,
                atol=1e-5,
                err_msg=f"{cell} {method}: {q} of layer {layer}, direction {direction}",
            )
    if cell != "rnn":  # the gates differ from each other, so a swap cannot go unseen
        gates = CELL_SPECS[cell].blocks
        assert all(
            np.abs(expected[(0, 0)][a] - expected[(0, 0)][b]).max() > 0.05
            for a in gates
            for b in gates
            if a < b
        )


def test_trace_of_a_text_model_uses_its_encoder_and_labels():
    config = SequenceModelConfig("gru", 6, encoding="embedding", vocab_size=10, output_size=10)
    model = SequenceModel(config, fused=True)  # a fused model is traced through its explicit twin
    ids = torch.tensor([1, 2, 3, 4])
    tr = trace(model, ids, labels=list("abcd"))
    assert tr.labels == list("abcd") and tr.get("h").shape == (4, 6)
    expected = model.rnn(model.embedding(ids).unsqueeze(1))[0][:, 0].detach().numpy()
    np.testing.assert_allclose(tr.output, expected, atol=1e-5)


def test_saturation_and_norms():
    net = build_recurrent("lstm", 1, 3)
    with torch.no_grad():
        net.bias_ih_l0[3:6] = 20.0  # forget gate pinned at 1
    tr = trace(net, torch.zeros(5, 1))
    low, high = tr.saturation()["f"]
    assert (low, high) == (0.0, 1.0)
    norms = tr.state_norms("h")[(0, 0)]
    np.testing.assert_allclose(norms, np.linalg.norm(tr.get("h"), axis=1))


def test_unknown_quantity_message():
    tr = trace(build_recurrent("rnn", 1, 2), torch.zeros(3, 1))
    with pytest.raises(KeyError, match="A RNN has no 'c'; it has h."):
        tr.get("c")


# --- gradient flow -------------------------------------------------------------------------


def test_rnn_gradient_flow_equals_the_analytic_jacobian_product():
    """d h_T / d h_t = prod_k diag(1 - h_k^2) W_hh for a tanh RNN (computed by hand here)."""
    torch.manual_seed(1)
    net = build_recurrent("rnn", 2, 3).double()
    x = torch.randn(6, 2, dtype=torch.float64)
    flow = gradient_flow(net, x, wrt="h")
    with torch.no_grad():  # h in float64 (a trace keeps float32 copies)
        h = net(x.unsqueeze(1))[0][:, 0].numpy()
    w = net.weight_hh_l0.detach().numpy()
    steps = len(x)
    for t in range(steps):
        jac = np.eye(3)
        for k in range(t + 1, steps):
            jac = np.diag(1 - h[k] ** 2) @ w @ jac
        assert flow[t] == pytest.approx(np.linalg.norm(jac), rel=1e-9)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_gated_gradient_flow_against_torch_cells_and_autograd(cell):
    """Restart torch's own GRUCell/LSTMCell from h_t and differentiate h_T with jacobian()."""
    torch.manual_seed(2)
    reference = {"gru": nn.GRU, "lstm": nn.LSTM}[cell](2, 3).double()
    net = from_torch(reference)
    torch_cell = {"gru": nn.GRUCell, "lstm": nn.LSTMCell}[cell](2, 3).double()
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        getattr(torch_cell, name).data.copy_(getattr(reference, f"{name}_l0"))
    x = torch.randn(7, 2, dtype=torch.float64)
    with torch.no_grad():
        states = [(torch.zeros(1, 3, dtype=torch.float64),) * 2]
        for t in range(len(x)):
            h, c = states[-1]
            new = (
                torch_cell(x[t : t + 1], (h, c))
                if cell == "lstm"
                else (torch_cell(x[t : t + 1], h),) * 2
            )
            states.append(new)
    flow_h = gradient_flow(net, x, wrt="h")
    flow_x = gradient_flow(net, x, wrt="input")
    for t in range(len(x)):
        c_t = states[t + 1][1]

        def run_from(h_t, t=t, c_t=c_t):
            h, c = h_t, c_t
            for k in range(t + 1, len(x)):
                if cell == "lstm":
                    h, c = torch_cell(x[k : k + 1], (h, c))
                else:
                    h = torch_cell(x[k : k + 1], h)
            return h

        def run_input(x_t, t=t):
            h, c = states[t]
            if cell == "lstm":
                h, c = torch_cell(x_t, (h, c))
            else:
                h = torch_cell(x_t, h)
            for k in range(t + 1, len(x)):
                if cell == "lstm":
                    h, c = torch_cell(x[k : k + 1], (h, c))
                else:
                    h = torch_cell(x[k : k + 1], h)
            return h

        jac_h = torch.autograd.functional.jacobian(run_from, states[t + 1][0])
        jac_x = torch.autograd.functional.jacobian(run_input, x[t : t + 1])
        assert flow_h[t] == pytest.approx(float(jac_h.norm()), rel=1e-7)
        assert flow_x[t] == pytest.approx(float(jac_x.norm()), rel=1e-7)


@pytest.mark.parametrize("seed", range(4))
def test_lstm_carries_gradient_further_than_a_tanh_rnn(seed):
    """Over 100 steps the gradient of the last output reaching step 0 vanishes in a tanh RNN
    (below 1e-20 of its size at the last step) and survives in an LSTM whose forget gate starts
    at sigmoid(1) (Jozefowicz et al., 2015): same hidden size, input and seed for both."""
    torch.manual_seed(seed)
    x = torch.randn(100, 1)
    rnn = build_recurrent("rnn", 1, 16)
    lstm = build_recurrent("lstm", 1, 16)
    with torch.no_grad():  # gate order i, f, g, o: the f block of the biases
        lstm.bias_ih_l0[16:32] = 1.0
        lstm.bias_hh_l0[16:32] = 0.0
    rnn_flow, lstm_flow = gradient_flow(rnn, x), gradient_flow(lstm, x)
    assert rnn_flow.shape == lstm_flow.shape == (100,)
    # d h_T / d h_T is the identity for both: ||I_16|| = 4, so the first steps compare directly.
    assert rnn_flow[-1] == pytest.approx(4.0) and lstm_flow[-1] == pytest.approx(4.0)
    assert rnn_flow[0] < rnn_flow[-10] < rnn_flow[-1]  # it shrinks going back in time
    assert lstm_flow[0] > 1e6 * rnn_flow[0]  # the LSTM's reaches step 0 by many orders more


def test_gradient_flow_bad_arguments():
    net = build_recurrent("gru", 1, 2)
    with pytest.raises(ValueError, match="Only an LSTM has a memory cell c."):
        gradient_flow(net, torch.zeros(3, 1), wrt="c")
    with pytest.raises(ValueError, match="Layer 3 does not exist"):
        gradient_flow(net, torch.zeros(3, 1), layer=3)


def test_trace_and_gradient_flow_leave_the_thread_count_alone():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        net = build_recurrent("lstm", 1, 3)
        trace(net, torch.zeros(4, 1))
        gradient_flow(net, torch.zeros(4, 1))
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
