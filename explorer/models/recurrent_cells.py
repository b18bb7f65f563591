"""The recurrent cells as data: one ``CellSpec`` per cell (RNN, GRU, LSTM), registered in ``CELL_SPECS``.

A spec holds everything that differs between cells: the gate blocks stacked in each weight
matrix (torch's order), the quantities a trace records, the matching torch module, one time
step (the reference the network runs and the tests verify against ``torch.nn.RNN/GRU/LSTM``),
every gate of all steps at once for the fused trace, and the names of its quantities. Adding a
cell is one spec here plus its test (and its equations, diagram and colour in
``explorer.viz.recurrent_cells``); the network (``explorer.models.recurrent``), the probe, the
figures and the page read the registry.

Equations (torch's documentation, d2l's names)::

    RNN   h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)          (or ReLU)
    GRU   r = s(W_ir x + b_ir + W_hr h + b_hr)      z = s(W_iz x + b_iz + W_hz h + b_hz)
          n = tanh(W_in x + b_in + r * (W_hn h + b_hn))     h_t = (1 - z) * n + z * h
    LSTM  i, f, o = s(...)   g = tanh(...)   c_t = f * c + i * g     h_t = o * tanh(c_t)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
from torch import Tensor, nn

Activation = Callable[[Tensor], Tensor]
# One time step: (xp = W_ih x_t + b_ih (N x G*H), h, c or None, W_hh, b_hh, activation)
# -> (new h, new c or None, the intermediates to record in the order of ``quantities``).
StepResult = tuple[Tensor, "Tensor | None", tuple[Tensor, ...]]
Step = Callable[[Tensor, Tensor, "Tensor | None", Tensor, Tensor, Activation], StepResult]
# Every gate of all steps at once: (xp, hp = W_hh h_{t-1} + b_hh (both T x N x G*H), the states
# h_t (T x N x H), c_{-1} or None, reverse) -> quantity -> T x N x H, in time order.
Recompute = Callable[[Tensor, Tensor, Tensor, "Tensor | None", bool], dict]

GATE_RANGE = (0.0, 1.0)  # a sigmoid gate
TANH_RANGE = (-1.0, 1.0)


@dataclass(frozen=True)
class CellSpec:
    """One recurrent cell: its parameters' layout, its step and its quantities (how a page shows it:
    :mod:`explorer.viz.recurrent_cells`)."""

    key: str  # "lstm": the name in configs, URLs and the catalog
    title: str  # "LSTM"
    torch_class: type[nn.RNNBase]
    blocks: tuple[str, ...]  # the gate blocks stacked in every weight matrix, torch's order
    quantities: tuple[str, ...]  # recorded per step, in the order the step computes them
    ranges: Mapping[
        str, tuple[float, float] | None
    ]  # the bounds of each quantity (None: unbounded)
    titles: Mapping[str, str]  # "f" -> "forget gate f"
    step: Step  # the reference step (autograd flows through it)
    recompute: Recompute | None  # all gates at once from every h_t; None: h is all there is
    stacking: str  # how the blocks stack, in a sentence
    fast_step: Step | None = None  # the same step with b_hh already added to xp (no autograd)
    nonlinearities: tuple[str, ...] = ("tanh",)

    @property
    def gated(self) -> bool:
        """Whether the cell has gates (an RNN has one block, its state)."""
        return len(self.blocks) > 1

    @property
    def states(self) -> tuple[str, ...]:
        """The states carried from step to step: h, and the memory c for an LSTM."""
        return tuple(q for q in ("h", "c") if q in self.quantities)

    @property
    def has_memory(self) -> bool:
        return "c" in self.quantities

    def bounds(self, name: str, nonlinearity: str = "tanh") -> tuple[float, float] | None:
        """The range of quantity ``name`` (None: unbounded, as a ReLU state)."""
        if name == "h" and nonlinearity == "relu":
            return None
        return self.ranges.get(name)

    def torch_module(
        self, input_size: int, hidden_size: int, nonlinearity: str = "tanh", **kwargs
    ) -> nn.RNNBase:
        """torch's fused module for this cell (``kwargs``: num_layers, bidirectional, device...)."""
        if len(self.nonlinearities) > 1:
            kwargs["nonlinearity"] = nonlinearity
        return self.torch_class(input_size, hidden_size, **kwargs)


# --- one time step of each cell -------------------------------------------------------------


def _rnn_step(
    xp: Tensor, h: Tensor, c: Tensor | None, w_hh: Tensor, b_hh: Tensor, act: Activation
) -> StepResult:
    h = act(torch.addmm(xp + b_hh, h, w_hh.t()))  # N x H
    return h, None, (h,)


def _rnn_step_fast(
    xp: Tensor, h: Tensor, c: Tensor | None, w_hh: Tensor, b_hh: Tensor, act: Activation
) -> StepResult:
    h = act(torch.addmm(xp, h, w_hh.t()))  # b_hh already folded into xp
    return h, None, (h,)


def _gru_gates(xp: Tensor, hp: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """r, z, n from the two projections (... x 3H each, torch's order r, z, n)."""
    x_r, x_z, x_n = xp.chunk(3, dim=-1)
    h_r, h_z, h_n = hp.chunk(3, dim=-1)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(torch.addcmul(x_n, r, h_n))  # the reset gate acts after the matrix, as torch
    return r, z, n


def _gru_step(
    xp: Tensor, h: Tensor, c: Tensor | None, w_hh: Tensor, b_hh: Tensor, act: Activation
) -> StepResult:
    r, z, n = _gru_gates(xp, torch.addmm(b_hh, h, w_hh.t()))  # N x 3H projections
    h = n + z * (h - n)  # (1 - z) * n + z * h
    return h, None, (r, z, n, h)


def _gru_recompute(xp: Tensor, hp: Tensor, hs: Tensor, c0: Tensor | None, reverse: bool) -> dict:
    r, z, n = _gru_gates(xp, hp)
    return {"r": r, "z": z, "n": n, "h": hs}


def _lstm_step(
    xp: Tensor, h: Tensor, c: Tensor, w_hh: Tensor, b_hh: Tensor, act: Activation
) -> StepResult:
    gates = torch.addmm(xp + b_hh, h, w_hh.t())  # N x 4H, order i, f, g, o
    i, f, g, o = gates.chunk(4, dim=1)
    i, f, o = torch.sigmoid(i), torch.sigmoid(f), torch.sigmoid(o)
    g = torch.tanh(g)
    c = torch.addcmul(f * c, i, g)
    h = o * torch.tanh(c)
    return h, c, (i, f, g, o, c, h)


def _lstm_step_fast(
    xp: Tensor, h: Tensor, c: Tensor, w_hh: Tensor, b_hh: Tensor, act: Activation
) -> StepResult:
    """The same LSTM step with fewer kernel launches (no autograd needed while tracing)."""
    gates = torch.addmm(xp, h, w_hh.t())  # b_hh already folded into xp; N x 4H
    sig = torch.sigmoid(gates)  # the g slice of this is unused, one kernel instead of three
    hidden = h.shape[1]
    i, f, o = sig[:, :hidden], sig[:, hidden : 2 * hidden], sig[:, 3 * hidden :]
    g = torch.tanh(gates[:, 2 * hidden : 3 * hidden])
    c = torch.addcmul(f * c, i, g)
    h = o * torch.tanh(c)
    return h, c, (i, f, g, o, c, h)


def linear_scan(a: Tensor, b: Tensor, c0: Tensor) -> Tensor:
    """c_t = a_t * c_{t-1} + b_t for every t (T x ...), with c_{-1} = c0, in log2(T) rounds.

    Hillis-Steele doubling: after the round of stride k, entry t holds the map from
    c_{t-2k} to c_t as a pair (A, B) with c_t = A c_{t-2k} + B. Element-wise only: no
    matrix product and no Python step per time step (the LSTM memory cell, given its gates).
    """
    b = b.clone()
    b[0] = torch.addcmul(b[0], a[0], c0)
    a = a.clone()
    steps, k = a.shape[0], 1
    while k < steps:
        b[k:] += a[k:] * b[:-k]  # the product is materialised before the in-place add
        if 2 * k < steps:
            a[k:] *= a[:-k].clone()
        k *= 2
    return b


def _lstm_recompute(xp: Tensor, hp: Tensor, hs: Tensor, c0: Tensor | None, reverse: bool) -> dict:
    pre = xp.add_(hp)  # T x N x 4H, gates in torch's order i, f, g, o
    hidden = hs.shape[-1]
    g = torch.tanh(pre[..., 2 * hidden : 3 * hidden])
    sig = pre.sigmoid_()  # one kernel over all four; the g slice of it is not used
    i, f, o = sig[..., :hidden], sig[..., hidden : 2 * hidden], sig[..., 3 * hidden :]
    if reverse:  # the backward recurrence runs from the last step to the first
        c = linear_scan(f.flip(0), (i * g).flip(0), c0).flip(0)
    else:
        c = linear_scan(f, i * g, c0)
    return {"i": i, "f": f, "g": g, "o": o, "c": c, "h": hs}


# --- the registry -----------------------------------------------------------------------------

_H = {"h": "hidden state h"}

RNN = CellSpec(
    key="rnn",
    title="RNN",
    torch_class=nn.RNN,
    blocks=("h",),
    quantities=("h",),
    ranges={"h": TANH_RANGE},
    titles=_H,
    step=_rnn_step,
    fast_step=_rnn_step_fast,
    recompute=None,
    nonlinearities=("tanh", "relu"),
    stacking="One block per matrix: the RNN has no gates.",
)

GRU = CellSpec(
    key="gru",
    title="GRU",
    torch_class=nn.GRU,
    blocks=("r", "z", "n"),
    quantities=("r", "z", "n", "h"),
    ranges={"r": GATE_RANGE, "z": GATE_RANGE, "n": TANH_RANGE, "h": TANH_RANGE},
    titles={"r": "reset gate r", "z": "update gate z", "n": "candidate n", **_H},
    step=_gru_step,
    recompute=_gru_recompute,  # no fast step: b_hn sits inside r * (...)
    stacking="Each matrix stacks the blocks of r, z, n (in this order, as torch does).",
)

LSTM = CellSpec(
    key="lstm",
    title="LSTM",
    torch_class=nn.LSTM,
    blocks=("i", "f", "g", "o"),
    quantities=("i", "f", "g", "o", "c", "h"),
    ranges={
        "i": GATE_RANGE,
        "f": GATE_RANGE,
        "g": TANH_RANGE,
        "o": GATE_RANGE,
        "c": None,
        "h": TANH_RANGE,
    },
    titles={
        "c": "memory cell c",
        "i": "input gate i",
        "f": "forget gate f",
        "g": "candidate g",
        "o": "output gate o",
        **_H,
    },
    step=_lstm_step,
    fast_step=_lstm_step_fast,
    recompute=_lstm_recompute,
    stacking="Each matrix stacks the blocks of i, f, g, o (in this order, as torch does).",
)

CELL_SPECS: dict[str, CellSpec] = {spec.key: spec for spec in (RNN, GRU, LSTM)}
CELLS = tuple(CELL_SPECS)
QUANTITY_TITLES: dict[str, str] = {
    q: t for spec in CELL_SPECS.values() for q, t in spec.titles.items()
}


def cell_spec(cell: str) -> CellSpec:
    """The spec of ``cell``; a KeyError that lists the known cells otherwise."""
    try:
        return CELL_SPECS[cell]
    except KeyError:
        raise KeyError(f"Unknown cell {cell!r}: choose one of {', '.join(CELLS)}.") from None
