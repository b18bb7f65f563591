"""Explicit multi-layer RNN, GRU and LSTM networks whose every gate can be looked at.

The parameters carry exactly the names, shapes and gate order of ``torch.nn.RNN``,
``torch.nn.GRU`` and ``torch.nn.LSTM`` (``weight_ih_l{k}[_reverse]``, ``weight_hh_l...``,
``bias_ih_l...``, ``bias_hh_l...``; LSTM gates ``i, f, g, o``; GRU gates ``r, z, n``), so a
state_dict moves between the two in either direction. Training can use torch's fused
kernels; tracing uses the explicit loop below, which records every intermediate. What differs
between cells (their step, gates, torch class) is data in ``explorer.models.recurrent_cells``;
the task model around a network (encoder, head) is ``explorer.models.sequence_model``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from explorer.models.recurrent_cells import CELL_SPECS, CELLS, CellSpec

NONLINEARITIES = ("tanh", "relu")

# The initial or final state: h (L*D x N x H), or (h, c) for a cell with a memory.
State = Tensor | tuple[Tensor, Tensor] | None
# run()'s result: output, h_n, c_n or None, records[(layer, direction)][quantity] (T x N x H).
RunResult = tuple[Tensor, Tensor, Tensor | None, dict[tuple[int, int], dict[str, Tensor]]]

# Bounds the page and the builders share (a wrong size gets a message, not a crash).
MAX_LAYERS = 4
MAX_HIDDEN = 512


class RecurrentConfigError(ValueError):
    """A recurrent configuration that cannot be built; the message is shown to students."""


@dataclass(frozen=True)
class RecurrentConfig:
    """Everything that decides the shape of a recurrent network."""

    cell: str
    input_size: int
    hidden_size: int
    num_layers: int = 1
    bidirectional: bool = False
    nonlinearity: str = "tanh"
    batch_first: bool = False

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def cell_spec(self) -> CellSpec:
        """The cell's spec (gates, step, torch class); validate() first for a readable error."""
        return CELL_SPECS[self.cell]

    def validate(self) -> None:
        """Raise RecurrentConfigError with a student-readable message when out of range."""
        if self.cell not in CELLS:
            raise RecurrentConfigError(
                f"Unknown cell {self.cell!r}: choose one of {', '.join(CELLS)}."
            )
        if not 1 <= self.input_size <= 4096:
            raise RecurrentConfigError(
                f"Input size must be between 1 and 4096, got {self.input_size}."
            )
        if not 1 <= self.hidden_size <= MAX_HIDDEN:
            raise RecurrentConfigError(
                f"Hidden size must be between 1 and {MAX_HIDDEN}, got {self.hidden_size}."
            )
        if not 1 <= self.num_layers <= MAX_LAYERS:
            raise RecurrentConfigError(
                f"Number of layers must be between 1 and {MAX_LAYERS}, got {self.num_layers}."
            )
        if self.nonlinearity not in NONLINEARITIES:
            raise RecurrentConfigError(
                f"Nonlinearity must be 'tanh' or 'relu', got {self.nonlinearity!r}."
            )


def suffix(layer: int, direction: int) -> str:
    """Torch's parameter suffix: ``l0``, ``l1_reverse``..."""
    return f"l{layer}" + ("_reverse" if direction == 1 else "")


def weight_shapes(config: RecurrentConfig) -> list[tuple[str, tuple[int, ...]]]:
    """Name and shape of every parameter, in torch's order (for diagrams and counts)."""
    gates, hidden = len(config.cell_spec.blocks), config.hidden_size
    shapes = []
    for layer in range(config.num_layers):
        layer_in = config.input_size if layer == 0 else hidden * config.num_directions
        for direction in range(config.num_directions):
            s = suffix(layer, direction)
            shapes += [
                (f"weight_ih_{s}", (gates * hidden, layer_in)),
                (f"weight_hh_{s}", (gates * hidden, hidden)),
                (f"bias_ih_{s}", (gates * hidden,)),
                (f"bias_hh_{s}", (gates * hidden,)),
            ]
    return shapes


def parameter_count(config: RecurrentConfig) -> int:
    """Number of parameters, computed from shapes alone (equals torch's module)."""
    return sum(math.prod(shape) for _, shape in weight_shapes(config))


class RecurrentNet(nn.Module):
    """A multi-layer, optionally bidirectional RNN/GRU/LSTM written out step by step.

    ``forward`` has torch's signature and return value. ``run`` also returns every
    intermediate per layer, direction and step (used by ``explorer.probe.recurrent``).
    """

    def __init__(self, config: RecurrentConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        self.cell = config.cell
        self.input_size = config.input_size
        self.hidden_size = config.hidden_size
        self.num_layers = config.num_layers
        self.bidirectional = config.bidirectional
        self.batch_first = config.batch_first
        self.nonlinearity = config.nonlinearity
        self.cell_spec = config.cell_spec
        for name, shape in weight_shapes(config):
            setattr(self, name, nn.Parameter(torch.empty(shape)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Torch's initialisation: every weight and bias uniform in +-1/sqrt(hidden)."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def extra_repr(self) -> str:
        c = self.config
        extra = (
            f", nonlinearity={c.nonlinearity!r}" if len(self.cell_spec.nonlinearities) > 1 else ""
        )
        return (
            f"{c.cell}, {c.input_size}, {c.hidden_size}, num_layers={c.num_layers}, "
            f"bidirectional={c.bidirectional}, batch_first={c.batch_first}{extra}"
        )

    def weights(self, layer: int, direction: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        s = suffix(layer, direction)
        return (
            getattr(self, f"weight_ih_{s}"),
            getattr(self, f"weight_hh_{s}"),
            getattr(self, f"bias_ih_{s}"),
            getattr(self, f"bias_hh_{s}"),
        )

    def _initial_state(self, x: Tensor, hx: State) -> tuple[Tensor, Tensor | None]:
        n_states = self.num_layers * self.config.num_directions
        batch = x.shape[1]
        if hx is None:
            zeros = x.new_zeros(n_states, batch, self.hidden_size)
            return zeros, (zeros if self.cell_spec.has_memory else None)
        if self.cell_spec.has_memory:
            h0, c0 = hx
            return h0, c0
        return hx, None

    def run(
        self, x: Tensor, hx: State = None, record: bool = False, keep_states: dict | None = None
    ) -> RunResult:
        """Run the network; return (output T x N x D*H, h_n, c_n or None, records).

        ``x`` is T x N x input (or N x T x input with batch_first). ``records`` maps
        (layer, direction) to a dict of quantity -> T x N x H tensor in time order (also
        for the backward direction) when ``record`` is True, else it is empty.
        ``keep_states``, if given, receives (layer, direction) -> (list of h_t, list of c_t):
        the very tensors the recurrence used, so autograd can differentiate with respect to them.
        """
        if x.dim() == 2:  # unbatched T x input, as torch accepts
            return self._run_unbatched(x, hx, record, keep_states)
        if self.batch_first:
            x = x.transpose(0, 1)  # T x N x input
        if x.shape[-1] != self.input_size:
            raise RecurrentConfigError(
                f"The input has {x.shape[-1]} features per step but the network expects {self.input_size}."
            )
        h0, c0 = self._initial_state(x, hx)
        fast = record and not torch.is_grad_enabled()
        layer_input = x
        h_last: list[Tensor] = []
        c_last: list[Tensor] = []
        records: dict[tuple[int, int], dict[str, Tensor]] = {}
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.config.num_directions):
                index = layer * self.config.num_directions + direction
                c_init = c0[index] if c0 is not None else None
                hs, cs, recorded = self._run_direction(
                    layer, direction, layer_input, h0[index], c_init, record, fast
                )
                steps, batch = layer_input.shape[:2]
                outputs.append(
                    torch.stack(hs) if steps else layer_input.new_zeros(0, batch, self.hidden_size)
                )
                if keep_states is not None:
                    keep_states[(layer, direction)] = (hs, cs)
                end = (
                    0 if direction == 1 else -1
                )  # the final state: last step forwards, first backwards
                h_last.append(hs[end] if steps else h0[index])
                if c_init is not None:
                    c_last.append(cs[end] if steps else c_init)
                if record:
                    records[(layer, direction)] = {
                        name: torch.stack([r[k] for r in recorded])
                        for k, name in enumerate(self.cell_spec.quantities)
                    }
            layer_input = (
                torch.cat(outputs, dim=2) if len(outputs) > 1 else outputs[0]
            )  # T x N x D*H
        output = layer_input.transpose(0, 1) if self.batch_first else layer_input
        h_n = torch.stack(h_last)  # L*D x N x H
        c_n = torch.stack(c_last) if c_last else None
        return output, h_n, c_n, records

    def _run_unbatched(
        self, x: Tensor, hx: State, record: bool, keep_states: dict | None
    ) -> RunResult:
        if keep_states is not None:
            raise RecurrentConfigError("keep_states needs a batched input (T x N x features).")
        batch_dim = 0 if self.batch_first else 1
        out, h_n, c_n, recs = self.run(x.unsqueeze(batch_dim), _unsqueeze_state(hx), record)
        recs = {k: {q: t.squeeze(1) for q, t in v.items()} for k, v in recs.items()}
        c_n = None if c_n is None else c_n.squeeze(1)
        return out.squeeze(batch_dim), h_n.squeeze(1), c_n, recs

    def _run_direction(
        self,
        layer: int,
        direction: int,
        layer_input: Tensor,
        h: Tensor,
        c: Tensor | None,
        record: bool,
        fast: bool,
    ) -> tuple[list[Tensor], list, list]:
        """One layer in one direction: the states h_t and c_t in time order, and what was recorded."""
        w_ih, w_hh, b_ih, b_hh = self.weights(layer, direction)
        # Input projections of every step in one matmul; only W_hh h is stepped.
        steps, batch, _ = layer_input.shape
        xp = torch.addmm(b_ih, layer_input.reshape(steps * batch, -1), w_ih.t())
        xp = xp.view(steps, batch, -1)  # T x N x G*H
        step = self.cell_spec.step
        if fast and self.cell_spec.fast_step is not None:
            xp, step = xp + b_hh, self.cell_spec.fast_step  # fold the recurrent bias in once
        act = torch.tanh if self.nonlinearity == "tanh" else torch.relu
        order = range(steps - 1, -1, -1) if direction == 1 else range(steps)
        hs: list[Tensor] = [None] * steps  # type: ignore[list-item]
        cs: list = [None] * steps
        recorded: list = [None] * steps
        for t in order:
            h, c, inter = step(xp[t], h, c, w_hh, b_hh, act)
            hs[t], cs[t] = h, c
            if record:
                recorded[t] = inter
        return hs, cs, recorded

    def forward(self, x: Tensor, hx: State = None) -> tuple[Tensor, State]:
        """Same inputs and outputs as ``torch.nn.RNN/GRU/LSTM`` (no packed sequences)."""
        output, h_n, c_n, _ = self.run(x, hx)
        return output, ((h_n, c_n) if self.cell_spec.has_memory else h_n)


def _unsqueeze_state(hx: State) -> State:
    if hx is None:
        return None
    if isinstance(hx, tuple):
        return tuple(t.unsqueeze(1) for t in hx)
    return hx.unsqueeze(1)


def build_recurrent(
    cell: str,
    input_size: int,
    hidden_size: int,
    num_layers: int = 1,
    bidirectional: bool = False,
    nonlinearity: str = "tanh",
    batch_first: bool = False,
) -> RecurrentNet:
    """An explicit recurrent network with torch's parameter layout (the catalog's builder)."""
    config = RecurrentConfig(
        cell=cell.lower(),
        input_size=int(input_size),
        hidden_size=int(hidden_size),
        num_layers=int(num_layers),
        bidirectional=bool(bidirectional),
        nonlinearity=nonlinearity,
        batch_first=bool(batch_first),
    )
    return RecurrentNet(config)


def torch_twin(net: RecurrentNet) -> nn.RNNBase:
    """The matching ``torch.nn.RNN/GRU/LSTM`` carrying the same weights (for fast training)."""
    c = net.config
    module = c.cell_spec.torch_module(
        c.input_size,
        c.hidden_size,
        c.nonlinearity,
        num_layers=c.num_layers,
        bidirectional=c.bidirectional,
        batch_first=c.batch_first,
    )
    module.load_state_dict(net.state_dict())
    return module.to(next(net.parameters()).device)


def from_torch(module: nn.RNNBase) -> RecurrentNet:
    """An explicit network carrying the weights of a torch RNN/GRU/LSTM module."""
    if getattr(module, "proj_size", 0):
        raise RecurrentConfigError("LSTMs with proj_size are not supported by the explorer.")
    cell = next((s.key for s in CELL_SPECS.values() if type(module) is s.torch_class), None)
    if cell is None:
        raise RecurrentConfigError(
            f"Not a recurrent module the explorer knows: {type(module).__name__}."
        )
    nonlin = getattr(module, "nonlinearity", "tanh")
    net = build_recurrent(
        cell,
        module.input_size,
        module.hidden_size,
        module.num_layers,
        module.bidirectional,
        nonlin,
        module.batch_first,
    )
    net.load_state_dict(module.state_dict())
    return net


def torch_parameter_count(config: RecurrentConfig) -> int:
    """Parameters of torch's own fused module at these sizes, built on the meta device (no memory)."""
    module = config.cell_spec.torch_module(
        config.input_size,
        config.hidden_size,
        config.nonlinearity,
        num_layers=config.num_layers,
        bidirectional=config.bidirectional,
        device="meta",
    )
    return sum(p.numel() for p in module.parameters())
