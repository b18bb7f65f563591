"""Look inside a recurrent network: every gate and state per step, and gradient flow in time.

``trace`` keeps every intermediate of one run over one sequence (RNN h; GRU r, z, n, h; LSTM
i, f, g, o, c, h) per layer and direction as numpy arrays (cheap to cache and to plot). By
default it takes the hidden states from torch's fused kernels (one call per layer) and then
recomputes every gate for all steps at once from (x_t, h_{t-1}) with batched matrix products;
the LSTM memory cell follows from its gates by a parallel scan of c_t = f_t c_{t-1} + i_t g_t.
``method="explicit"`` steps the explicit cells of ``explorer.models.recurrent`` instead: they
are the reference the fused path is tested against. ``gradient_flow`` measures how much
the last step's output still depends on each earlier step: the Frobenius norm of the
Jacobian d y_T / d s_t, the quantity that vanishes in a plain RNN.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import torch
from torch import Tensor, nn

from explorer.data.sequences import VOCAB_SIZE, InputSpec, plain_char, prepare_input
from explorer.models.recurrent import RecurrentConfigError, RecurrentNet, suffix
from explorer.models.recurrent_cells import CELL_SPECS, CELLS, CellSpec
from explorer.models.sequence_model import SequenceModel, SequenceModelConfig

SATURATION_MARGIN = 0.1  # "saturated" = within 0.1 of a bound (0/1 for sigmoid, -1/1 for tanh)
GRADIENT_TARGETS = ("h", "c", "input")


@dataclass
class RecurrentTrace:
    """Every intermediate of one run over one sequence (batch of one).

    ``values[(layer, direction)][name]`` is a T x H float32 array in time order, also for the
    backward direction (whose step t, counted from 0, has seen x_t..x_(T-1)).
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
    def cell_spec(self) -> CellSpec:
        return CELL_SPECS[self.cell]

    @property
    def quantities(self) -> tuple[str, ...]:
        return self.cell_spec.quantities

    def bounds(self, name: str) -> tuple[float, float] | None:
        """The range of quantity ``name`` in this cell (None: unbounded, as c or a ReLU state)."""
        return self.cell_spec.bounds(name, self.nonlinearity)

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
        for name in self.cell_spec.blocks:
            bounds = self.bounds(name)
            if bounds is None:
                continue  # ReLU has no upper bound to saturate against
            v = self.get(name, layer, direction)
            lo, hi = bounds
            out[name] = (
                float(np.mean(v <= lo + SATURATION_MARGIN)),
                float(np.mean(v >= hi - SATURATION_MARGIN)),
            )
        return out


def _as_batch(x: Tensor) -> Tensor:
    """T x F (or T ids) -> T x 1 x F (or T x 1 ids): the explorer traces one sequence."""
    return x.unsqueeze(1)


# --- the fused path: hidden states from torch's kernel, gates recomputed in bulk -------------

TRACE_METHODS = ("fused", "explicit")


def _fused_layer(net: RecurrentNet, layer: int, x: Tensor, h0: Tensor, c0: Tensor | None) -> Tensor:
    """One layer, both directions, through torch's fused kernel: T x N x F -> T x N x D*H.

    The torch module is built on the meta device (no allocation, no initialisation cost) and
    then borrows the explicit network's own tensors (``assign=True``): nothing is copied.
    """
    cfg = net.config
    module = cfg.cell_spec.torch_module(
        x.shape[-1],
        cfg.hidden_size,
        cfg.nonlinearity,
        num_layers=1,
        bidirectional=cfg.bidirectional,
        device="meta",
        dtype=x.dtype,
    )
    state = {}
    for direction in range(cfg.num_directions):
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        for name, tensor in zip(names, net.weights(layer, direction), strict=True):
            state[f"{name}_{suffix(0, direction)}"] = tensor.detach()
    module.load_state_dict(state, assign=True)
    hx = (h0, c0) if cfg.cell_spec.has_memory else h0
    out, _ = module(x, hx)
    return out


def _records_from_states(
    net: RecurrentNet,
    layer: int,
    direction: int,
    x: Tensor,
    hs: Tensor,
    h0: Tensor,
    c0: Tensor | None,
) -> dict[str, Tensor]:
    """Every gate of one layer and direction for all steps at once, from x_t and h_{t-1}."""
    recompute = net.cell_spec.recompute
    if recompute is None:  # no gates: the states are every quantity
        return {"h": hs}
    w_ih, w_hh, b_ih, b_hh = (w.detach() for w in net.weights(layer, direction))
    steps, batch, _ = x.shape
    # h_{t-1} in time order: the backward direction's previous state is h_{t+1}.
    prev = torch.cat([hs[1:], h0[None]]) if direction == 1 else torch.cat([h0[None], hs[:-1]])
    xp = torch.addmm(b_ih, x.reshape(steps * batch, -1), w_ih.t())  # T*N x G*H
    hp = torch.addmm(b_hh, prev.reshape(steps * batch, -1), w_hh.t())  # T*N x G*H
    return recompute(xp.view(steps, batch, -1), hp.view(steps, batch, -1), hs, c0, direction == 1)


def fused_run(net: RecurrentNet, x: Tensor, hx=None):
    """``net.run(x, hx, record=True)`` at the speed of torch's fused kernels (no autograd).

    Same return value: (output, h_n, c_n or None, records) with records[(layer, direction)]
    mapping each quantity to a T x N x H tensor in time order. ``x`` is T x N x F (N x T x F
    with batch_first).
    """
    if x.dim() != 3:
        raise RecurrentConfigError("fused_run needs a batched input (T x N x features).")
    if net.batch_first:
        x = x.transpose(0, 1)  # T x N x F
    if x.shape[-1] != net.input_size:
        raise RecurrentConfigError(
            f"The input has {x.shape[-1]} features per step but the network expects {net.input_size}."
        )
    h0, c0 = net._initial_state(x, hx)
    dirs = net.config.num_directions
    hidden = net.hidden_size
    records: dict[tuple[int, int], dict[str, Tensor]] = {}
    h_last, c_last = [], []
    layer_input = x
    with torch.no_grad():
        for layer in range(net.num_layers):
            states = slice(layer * dirs, (layer + 1) * dirs)
            layer_c0 = c0[states] if c0 is not None else None
            out = _fused_layer(net, layer, layer_input, h0[states], layer_c0)  # T x N x D*H
            for direction in range(dirs):
                hs = out[..., direction * hidden : (direction + 1) * hidden]  # T x N x H
                c_init = layer_c0[direction] if layer_c0 is not None else None
                per = _records_from_states(
                    net, layer, direction, layer_input, hs, h0[layer * dirs + direction], c_init
                )
                records[(layer, direction)] = per
                # The final state: last step forwards, first step backwards.
                end = 0 if direction == 1 else -1
                h_last.append(hs[end])
                if "c" in per:
                    c_last.append(per["c"][end])
            layer_input = out
    output = layer_input.transpose(0, 1) if net.batch_first else layer_input
    c_n = torch.stack(c_last) if c_last else None
    return output, torch.stack(h_last), c_n, records


def trace(
    model: RecurrentNet | SequenceModel,
    inputs: Tensor,
    labels: list[str] | None = None,
    method: str = "fused",
) -> RecurrentTrace:
    """Run ``model`` over one sequence and keep every intermediate.

    ``inputs``: T x F features for a bare ``RecurrentNet`` or a signal model; T token ids
    for a text model (one-hot or embedding). The model is not changed. ``method``: "fused"
    (torch's kernels, then batched gates) or "explicit" (the step-by-step reference cells).
    """
    if method not in TRACE_METHODS:
        raise ValueError(f"method must be one of {TRACE_METHODS}, got {method!r}.")
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
    if method == "fused":
        output, _, _, records = fused_run(net, x)
    else:
        with torch.no_grad():
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
    if wrt == "c" and not net.cell_spec.has_memory:
        raise ValueError("Only an LSTM has a memory cell c.")
    layer = net.num_layers - 1 if layer is None else layer
    if not 0 <= layer < net.num_layers:
        raise ValueError(f"Layer {layer} does not exist (the network has {net.num_layers}).")
    x = x.detach().double()
    if net.batch_first:
        x = x.transpose(0, 1)  # N x T x F
    x.requires_grad_(wrt == "input")
    kept: dict = {}
    with torch.enable_grad():
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


def trace_chars(tr: RecurrentTrace) -> list[str]:
    """The input characters of a text trace (its hover labels, made plain again)."""
    return [plain_char(label) for label in tr.labels]


# --------------------------------------------------------------------------- a page's networks


class TrainedRecurrent(Protocol):
    """What the gradient-flow comparison needs of a trained model
    (explorer.training.sequence.TrainedSequenceModel)."""

    config: SequenceModelConfig

    def initial(self) -> nn.Module: ...

    def instantiate(self) -> nn.Module: ...


def model_config(
    cell: str,
    hidden_size: int,
    num_layers: int,
    bidirectional: bool,
    nonlinearity: str,
    spec: InputSpec,
    features: int,
) -> SequenceModelConfig:
    """The network for this kind of input, as the Recurrent page draws it (the head is unused by
    traces)."""
    encoding = spec.encoding if spec.kind == "text" else "signal"
    return SequenceModelConfig(
        cell=cell,
        hidden_size=hidden_size,
        num_layers=num_layers,
        bidirectional=bidirectional,
        nonlinearity=nonlinearity,
        encoding=encoding,
        vocab_size=VOCAB_SIZE,
        input_features=features,
        output_size=1,
    )


def init_gradient_flows(
    model_for: Callable[[SequenceModelConfig], nn.Module],
    hidden_size: int,
    num_layers: int,
    spec: InputSpec,
    length: int,
    wrt: str,
    cells: tuple[str, ...] = CELLS,
) -> dict[str, np.ndarray]:
    """||d y_T/d s_t|| for each cell at initialisation on the same (cut) sequence;
    ``model_for(config)`` gives the initialised network (the ui caches them process-wide)."""
    prepared = prepare_input(spec)
    values = prepared.values[:length]
    out = {}
    for cell in cells:
        if wrt == "c" and not CELL_SPECS[cell].has_memory:
            continue
        config = model_config(cell, hidden_size, num_layers, False, "tanh", spec, prepared.features)
        out[f"{cell.upper()} at init"] = gradient_flow(model_for(config), values, wrt)
    return out


def trained_gradient_flows(
    models: Sequence[TrainedRecurrent], spec: InputSpec, length: int, wrt: str
) -> dict[str, np.ndarray]:
    """The same measurement for trained models and for the very weights each started from."""
    prepared = prepare_input(spec)
    values = prepared.values[:length]
    out = {}
    for model in models:
        if wrt == "c" and not CELL_SPECS[model.config.cell].has_memory:
            continue
        name = model.config.cell.upper()
        out[f"{name} at init"] = gradient_flow(model.initial(), values, wrt)
        out[f"{name} trained"] = gradient_flow(model.instantiate(), values, wrt)
    return out
