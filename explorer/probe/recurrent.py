"""Look inside a recurrent network: every gate and state per step, and gradient flow in time.

``trace`` runs the explicit cells of ``explorer.models.recurrent`` once over one sequence and
keeps every intermediate (RNN h; GRU r, z, n, h; LSTM i, f, g, o, c, h) per layer and
direction as numpy arrays (cheap to cache and to plot). ``gradient_flow`` measures how much
the last step's output still depends on each earlier step: the Frobenius norm of the
Jacobian d y_T / d s_t, the quantity that vanishes in a plain RNN.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from explorer.models.recurrent import (
    GATE_NAMES,
    QUANTITIES,
    RecurrentConfigError,
    RecurrentNet,
    SequenceModel,
)

# Which quantities are squashed by a sigmoid (range 0..1) and which by tanh (range -1..1).
SIGMOID = {"i", "f", "o", "r", "z"}
SATURATION_MARGIN = 0.1  # "saturated" = within 0.1 of a bound (0/1 for sigmoid, -1/1 for tanh)
GRADIENT_TARGETS = ("h", "c", "input")


@dataclass
class RecurrentTrace:
    """Every intermediate of one run over one sequence (batch of one).

    ``values[(layer, direction)][name]`` is a T x H float32 array in time order, also for the
    backward direction (whose step t has seen x_t..x_T).
    """

    cell: str
    num_layers: int
    num_directions: int
    hidden_size: int
    nonlinearity: str
    labels: list[str]  # one hover label per step (the input character or the step)
    values: dict[tuple[int, int], dict[str, np.ndarray]]
    output: np.ndarray  # T x D*H, the top layer's output sequence
    notes: list[str] = field(default_factory=list)

    @property
    def steps(self) -> int:
        return len(self.labels)

    @property
    def quantities(self) -> tuple[str, ...]:
        return QUANTITIES[self.cell]

    def get(self, name: str, layer: int = 0, direction: int = 0) -> np.ndarray:
        """T x H array of one quantity; KeyError with a readable message if it does not exist."""
        if (layer, direction) not in self.values:
            raise KeyError(f"No layer {layer} / direction {direction} in this {self.cell} trace.")
        per = self.values[(layer, direction)]
        if name not in per:
            raise KeyError(f"A {self.cell.upper()} has no {name!r}; it has {', '.join(per)}.")
        return per[name]

    def state_norms(self, name: str = "h") -> dict[tuple[int, int], np.ndarray]:
        """Euclidean norm of a state per step (T), for every layer and direction."""
        return {key: np.linalg.norm(per[name], axis=1) for key, per in self.values.items()}

    def saturation(self, layer: int = 0, direction: int = 0) -> dict[str, tuple[float, float]]:
        """Per gate: fraction of values near the lower and near the upper bound."""
        out = {}
        for name in GATE_NAMES[self.cell]:
            if self.cell == "rnn" and self.nonlinearity == "relu":
                continue  # ReLU has no upper bound to saturate against
            v = self.get(name, layer, direction)
            lo, hi = (0.0, 1.0) if name in SIGMOID else (-1.0, 1.0)
            out[name] = (
                float(np.mean(v <= lo + SATURATION_MARGIN)),
                float(np.mean(v >= hi - SATURATION_MARGIN)),
            )
        return out


@contextmanager
def one_thread() -> Iterator[None]:
    """Run the time loop on one intra-op thread (the setting is per thread; restored after).

    Each step is a tiny matmul: extra threads only add synchronisation, and on a shared CPU
    they make a trace several times slower.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _as_batch(x: Tensor) -> Tensor:
    """T x F (or T ids) -> T x 1 x F (or T x 1 ids): the explorer traces one sequence."""
    return x.unsqueeze(1)


def trace(
    model: RecurrentNet | SequenceModel, inputs: Tensor, labels: list[str] | None = None
) -> RecurrentTrace:
    """Run ``model`` over one sequence and keep every intermediate.

    ``inputs``: T x F features for a bare ``RecurrentNet`` or a signal model; T token ids
    for a text model (one-hot or embedding). The model is not changed.
    """
    if isinstance(model, SequenceModel):
        model = model.explicit()
        with torch.no_grad():
            x = model.encode(_as_batch(inputs))  # T x 1 x F
        net = model.rnn
    else:
        x, net = _as_batch(inputs), model
    if not isinstance(net, RecurrentNet):
        raise RecurrentConfigError("Traces need the explicit recurrent network.")
    if net.batch_first:
        x = x.transpose(0, 1)  # 1 x T x F
    steps = x.shape[1] if net.batch_first else x.shape[0]
    if steps == 0:
        raise RecurrentConfigError("The sequence is empty: there is nothing to trace.")
    with torch.no_grad(), one_thread():
        output, _, _, records = net.run(x, record=True)
    if net.batch_first:
        output = output.transpose(0, 1)
    values = {
        key: {name: t[:, 0].float().cpu().numpy() for name, t in per.items()}
        for key, per in records.items()
    }
    cfg = net.config
    return RecurrentTrace(
        cell=cfg.cell,
        num_layers=cfg.num_layers,
        num_directions=cfg.num_directions,
        hidden_size=cfg.hidden_size,
        nonlinearity=cfg.nonlinearity,
        labels=list(labels) if labels is not None else [f"t={t}" for t in range(steps)],
        values=values,
        output=output[:, 0].float().cpu().numpy(),
    )


def gradient_flow(
    model: RecurrentNet | SequenceModel, inputs: Tensor, wrt: str = "h", layer: int | None = None
) -> np.ndarray:
    """||d y_T / d s_t||_F for every step t (a length-T array).

    ``y_T`` is the top layer's output at the last step (both directions when
    bidirectional). ``s_t`` is ``wrt``: the hidden state h_t (forward direction of
    ``layer``, default the top layer), the LSTM memory c_t, or the input x_t (after the
    one-hot/embedding encoder). The full Jacobian is back-propagated in one batched
    backward pass (one grad_output row per output unit).
    """
    if wrt not in GRADIENT_TARGETS:
        raise ValueError(f"wrt must be one of {GRADIENT_TARGETS}, got {wrt!r}.")
    if isinstance(model, SequenceModel):
        model = model.explicit()
        with torch.no_grad():
            x = model.encode(_as_batch(inputs))
        net = model.rnn
    else:
        x, net = _as_batch(inputs), model
    if not isinstance(net, RecurrentNet):
        raise RecurrentConfigError("Gradient flow needs the explicit recurrent network.")
    # float64: after a few hundred steps a vanishing gradient underflows float32 to exactly 0.
    net = copy.deepcopy(net).double()
    if wrt == "c" and net.cell != "lstm":
        raise ValueError("Only an LSTM has a memory cell c.")
    layer = net.num_layers - 1 if layer is None else layer
    if not 0 <= layer < net.num_layers:
        raise ValueError(f"Layer {layer} does not exist (the network has {net.num_layers}).")
    x = x.detach().double()
    if net.batch_first:
        x = x.transpose(0, 1)  # N x T x F
    x.requires_grad_(wrt == "input")
    kept: dict = {}
    with torch.enable_grad(), one_thread():
        output, _, _, _ = net.run(x, keep_states=kept)
        last = output[:, -1] if net.batch_first else output[-1]  # 1 x D*H
        width = last.shape[1]
        if wrt == "input":
            targets = [x]
        else:
            hs, cs = kept[(layer, 0)]
            targets = list(hs if wrt == "h" else cs)
        eye = torch.eye(width, dtype=last.dtype, device=last.device).unsqueeze(1)  # M x 1 x M
        # vmap over the rows of the identity: every row of the Jacobian in one backward pass.
        grads = torch.autograd.grad(
            last, targets, grad_outputs=eye, is_grads_batched=True, allow_unused=True
        )
    if wrt == "input":
        g = grads[0]  # M x T x 1 x F (or M x 1 x T x F)
        if net.batch_first:
            g = g.transpose(1, 2)
        return g.pow(2).sum(dim=(0, 2, 3)).sqrt().cpu().numpy()
    norms = [0.0 if g is None else float(g.pow(2).sum().sqrt()) for g in grads]  # each g: M x 1 x H
    return np.asarray(norms, dtype=np.float64)
