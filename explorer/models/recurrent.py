"""Explicit RNN, GRU and LSTM networks whose every gate can be looked at.

The parameters carry exactly the names, shapes and gate order of ``torch.nn.RNN``,
``torch.nn.GRU`` and ``torch.nn.LSTM`` (``weight_ih_l{k}[_reverse]``, ``weight_hh_l...``,
``bias_ih_l...``, ``bias_hh_l...``; LSTM gates ``i, f, g, o``; GRU gates ``r, z, n``), so a
state_dict moves between the two in either direction. Training can use torch's fused
kernels; tracing uses the explicit loop below, which records every intermediate.

Equations (torch's documentation, d2l's names)::

    RNN   h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)          (or ReLU)
    GRU   r = s(W_ir x + b_ir + W_hr h + b_hr)      z = s(W_iz x + b_iz + W_hz h + b_hz)
          n = tanh(W_in x + b_in + r * (W_hn h + b_hn))     h_t = (1 - z) * n + z * h
    LSTM  i, f, o = s(...)   g = tanh(...)   c_t = f * c + i * g     h_t = o * tanh(c_t)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

CELLS = ("rnn", "gru", "lstm")
GATES: dict[str, int] = {"rnn": 1, "gru": 3, "lstm": 4}
# Intermediates recorded per step, in the order the equations compute them.
QUANTITIES: dict[str, tuple[str, ...]] = {
    "rnn": ("h",),
    "gru": ("r", "z", "n", "h"),
    "lstm": ("i", "f", "g", "o", "c", "h"),
}
GATE_NAMES: dict[str, tuple[str, ...]] = {
    "rnn": ("h",),
    "gru": ("r", "z", "n"),
    "lstm": ("i", "f", "g", "o"),
}
NONLINEARITIES = ("tanh", "relu")
TORCH_CLASSES: dict[str, type[nn.RNNBase]] = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}

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
    gates, hidden = GATES[config.cell], config.hidden_size
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


# --- one time step of each cell -------------------------------------------------------------
# Each step takes the precomputed input projection xp = W_ih x_t + b_ih (N x G*H), the state,
# and the recurrent weights; it returns the new state and the intermediates to record.


def _rnn_step(xp: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor, act: Callable[[Tensor], Tensor]):
    h = act(torch.addmm(xp + b_hh, h, w_hh.t()))  # N x H
    return h, None, (h,)


def _gru_step(xp: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor):
    hp = torch.addmm(b_hh, h, w_hh.t())  # N x 3H
    x_r, x_z, x_n = xp.chunk(3, dim=1)
    h_r, h_z, h_n = hp.chunk(3, dim=1)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(torch.addcmul(x_n, r, h_n))
    h = n + z * (h - n)  # (1 - z) * n + z * h
    return h, None, (r, z, n, h)


def _lstm_step(xp: Tensor, h: Tensor, c: Tensor, w_hh: Tensor, b_hh: Tensor):
    gates = torch.addmm(xp + b_hh, h, w_hh.t())  # N x 4H, order i, f, g, o
    i, f, g, o = gates.chunk(4, dim=1)
    i, f, o = torch.sigmoid(i), torch.sigmoid(f), torch.sigmoid(o)
    g = torch.tanh(g)
    c = torch.addcmul(f * c, i, g)
    h = o * torch.tanh(c)
    return h, c, (i, f, g, o, c, h)


def _lstm_step_fast(xp: Tensor, h: Tensor, c: Tensor, w_hh: Tensor, b_hh: Tensor):
    """The same LSTM step with fewer kernel launches (no autograd needed while tracing)."""
    gates = torch.addmm(xp, h, w_hh.t())  # b_hh already folded into xp; N x 4H
    sig = torch.sigmoid(gates)  # the g slice of this is unused, one kernel instead of three
    hidden = h.shape[1]
    i, f, o = sig[:, :hidden], sig[:, hidden : 2 * hidden], sig[:, 3 * hidden :]
    g = torch.tanh(gates[:, 2 * hidden : 3 * hidden])
    c = torch.addcmul(f * c, i, g)
    h = o * torch.tanh(c)
    return h, c, (i, f, g, o, c, h)


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
        extra = f", nonlinearity={c.nonlinearity!r}" if c.cell == "rnn" else ""
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

    def _initial_state(self, x: Tensor, hx) -> tuple[Tensor, Tensor | None]:
        n_states = self.num_layers * self.config.num_directions
        batch = x.shape[1]
        if hx is None:
            zeros = x.new_zeros(n_states, batch, self.hidden_size)
            return zeros, (zeros if self.cell == "lstm" else None)
        if self.cell == "lstm":
            h0, c0 = hx
            return h0, c0
        return hx, None

    def run(self, x: Tensor, hx=None, record: bool = False, keep_states: dict | None = None):
        """Run the network; return (output T x N x D*H, h_n, c_n or None, records).

        ``x`` is T x N x input (or N x T x input with batch_first). ``records`` maps
        (layer, direction) to a dict of quantity -> T x N x H tensor in time order (also
        for the backward direction) when ``record`` is True, else it is empty.
        ``keep_states``, if given, receives (layer, direction) -> (list of h_t, list of c_t):
        the very tensors the recurrence used, so autograd can differentiate with respect to them.
        """
        if x.dim() == 2:  # unbatched T x input, as torch accepts
            if keep_states is not None:
                raise RecurrentConfigError("keep_states needs a batched input (T x N x features).")
            batch_dim = 0 if self.batch_first else 1
            out, h_n, c_n, recs = self.run(x.unsqueeze(batch_dim), _unsqueeze_state(hx), record)
            recs = {k: {q: t.squeeze(1) for q, t in v.items()} for k, v in recs.items()}
            c_n = None if c_n is None else c_n.squeeze(1)
            return out.squeeze(batch_dim), h_n.squeeze(1), c_n, recs
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
        names = QUANTITIES[self.cell]
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.config.num_directions):
                w_ih, w_hh, b_ih, b_hh = self.weights(layer, direction)
                # Input projections of every step in one matmul; only W_hh h is stepped.
                steps, batch, _ = layer_input.shape
                xp = torch.addmm(b_ih, layer_input.reshape(steps * batch, -1), w_ih.t())
                xp = xp.view(steps, batch, -1)  # T x N x G*H
                if fast and self.cell != "gru":
                    xp = xp + b_hh  # fold the recurrent bias in once
                index = layer * self.config.num_directions + direction
                h = h0[index]
                c = c0[index] if c0 is not None else None
                order = range(steps - 1, -1, -1) if direction == 1 else range(steps)
                hs: list[Tensor] = [None] * steps  # type: ignore[list-item]
                cs: list[Tensor] = [None] * steps  # type: ignore[list-item]
                recorded: list[tuple[Tensor, ...]] = [None] * steps  # type: ignore[list-item]
                step = self._step_fn(fast)
                for t in order:
                    h, c, inter = step(xp[t], h, c, w_hh, b_hh)
                    hs[t] = h
                    cs[t] = c
                    if record:
                        recorded[t] = inter
                outputs.append(
                    torch.stack(hs) if steps else layer_input.new_zeros(0, batch, self.hidden_size)
                )
                if keep_states is not None:
                    keep_states[(layer, direction)] = (hs, cs)
                h_last.append(h)
                if c is not None:
                    c_last.append(c)
                if record:
                    records[(layer, direction)] = {
                        name: torch.stack([r[k] for r in recorded]) for k, name in enumerate(names)
                    }
            layer_input = (
                torch.cat(outputs, dim=2) if len(outputs) > 1 else outputs[0]
            )  # T x N x D*H
        output = layer_input.transpose(0, 1) if self.batch_first else layer_input
        h_n = torch.stack(h_last)  # L*D x N x H
        c_n = torch.stack(c_last) if c_last else None
        return output, h_n, c_n, records

    def _step_fn(self, fast: bool):
        if self.cell == "lstm":
            return _lstm_step_fast if fast else _lstm_step
        if self.cell == "gru":
            return lambda xp, h, c, w, b: _gru_step(xp, h, w, b)
        act = torch.tanh if self.nonlinearity == "tanh" else torch.relu
        if fast:
            return lambda xp, h, c, w, b: _rnn_step_fast(xp, h, w, act)
        return lambda xp, h, c, w, b: _rnn_step(xp, h, w, b, act)

    def forward(self, x: Tensor, hx=None):
        """Same inputs and outputs as ``torch.nn.RNN/GRU/LSTM`` (no packed sequences)."""
        output, h_n, c_n, _ = self.run(x, hx)
        return output, ((h_n, c_n) if self.cell == "lstm" else h_n)


def _rnn_step_fast(xp: Tensor, h: Tensor, w_hh: Tensor, act: Callable[[Tensor], Tensor]):
    h = act(torch.addmm(xp, h, w_hh.t()))  # b_hh already folded into xp
    return h, None, (h,)


def _unsqueeze_state(hx):
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
    kwargs = dict(
        input_size=c.input_size,
        hidden_size=c.hidden_size,
        num_layers=c.num_layers,
        bidirectional=c.bidirectional,
        batch_first=c.batch_first,
    )
    if c.cell == "rnn":
        kwargs["nonlinearity"] = c.nonlinearity
    module = TORCH_CLASSES[c.cell](**kwargs)
    module.load_state_dict(net.state_dict())
    return module.to(next(net.parameters()).device)


def from_torch(module: nn.RNNBase) -> RecurrentNet:
    """An explicit network carrying the weights of a torch RNN/GRU/LSTM module."""
    if getattr(module, "proj_size", 0):
        raise RecurrentConfigError("LSTMs with proj_size are not supported by the explorer.")
    cell = {nn.RNN: "rnn", nn.GRU: "gru", nn.LSTM: "lstm"}[type(module)]
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


# --- whole sequence models: an input encoder, the recurrent network, a head ------------------


@dataclass(frozen=True)
class SequenceModelConfig:
    """A recurrent network with what goes in and what comes out.

    ``encoding``: "onehot" (vocabulary-sized one-hot vectors), "embedding" (a learned table
    of ``embed_dim`` vectors) or "signal" (real-valued features, ``input_features`` per step).
    ``output_size``: the head's outputs (vocabulary for next-char, 1 for a regression).
    ``head``: "every" (a prediction per step) or "last" (one prediction from the last step).
    """

    cell: str
    hidden_size: int
    num_layers: int = 1
    bidirectional: bool = False
    nonlinearity: str = "tanh"
    encoding: str = "onehot"
    vocab_size: int = 0
    embed_dim: int = 16
    input_features: int = 1
    output_size: int = 1
    head: str = "every"

    @property
    def rnn_input_size(self) -> int:
        if self.encoding == "onehot":
            return self.vocab_size
        if self.encoding == "embedding":
            return self.embed_dim
        return self.input_features

    def rnn_config(self) -> RecurrentConfig:
        return RecurrentConfig(
            self.cell, self.rnn_input_size, self.hidden_size, self.num_layers,
            self.bidirectional, self.nonlinearity, batch_first=False,
        )  # fmt: skip


class SequenceModel(nn.Module):
    """Encoder -> recurrent network -> linear head; time-major (T x N) like torch's RNNs.

    ``rnn`` is an explicit ``RecurrentNet`` or torch's fused twin; both share parameter
    names, so a state_dict trained with one loads into the other.
    """

    def __init__(self, config: SequenceModelConfig, fused: bool = False) -> None:
        super().__init__()
        if config.encoding not in ("onehot", "embedding", "signal"):
            raise RecurrentConfigError(f"Unknown input encoding {config.encoding!r}.")
        self.config = config
        self.embedding = (
            nn.Embedding(config.vocab_size, config.embed_dim)
            if config.encoding == "embedding"
            else None
        )
        net = RecurrentNet(config.rnn_config())
        self.rnn: nn.Module = torch_twin(net) if fused else net
        directions = 2 if config.bidirectional else 1
        self.head = nn.Linear(config.hidden_size * directions, config.output_size)

    def encode(self, x: Tensor) -> Tensor:
        """Token ids T x N (int) or features T x N x F -> T x N x rnn_input_size."""
        if self.config.encoding == "onehot":
            return nn.functional.one_hot(x.long(), self.config.vocab_size).float()
        if self.config.encoding == "embedding":
            return self.embedding(x.long())
        return x.float()

    def forward(self, x: Tensor, hx=None):
        """Return (predictions, final state): T x N x out for "every", N x out for "last"."""
        out, state = self.rnn(self.encode(x), hx)  # T x N x D*H
        if self.config.head == "last":
            return self.head(out[-1]), state
        return self.head(out), state

    def explicit(self) -> SequenceModel:
        """A copy whose recurrent part is the explicit network (for traces)."""
        if isinstance(self.rnn, RecurrentNet):
            return self
        twin = SequenceModel(self.config, fused=False)
        twin.load_state_dict(self.state_dict())
        return twin.to(next(self.parameters()).device)


def torch_parameter_count(config: RecurrentConfig) -> int:
    """Parameters of torch's own fused module at these sizes, built on the meta device (no memory)."""
    kwargs = dict(num_layers=config.num_layers, bidirectional=config.bidirectional, device="meta")
    module = TORCH_CLASSES[config.cell](config.input_size, config.hidden_size, **kwargs)
    return sum(p.numel() for p in module.parameters())
