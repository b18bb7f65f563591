"""The catalog's recurrent networks as data (RNN, stacked and bidirectional RNN, GRU, LSTM),
built from the explicit cells of :mod:`explorer.models.recurrent`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from explorer.models.catalog_references import (
    CHO14,
    ELHIHI96,
    ELMAN90,
    GERS00,
    GRAVES13,
    HOCHREITER97,
    SCHMIDHUBER92,
    SCHUSTER97,
)
from explorer.models.catalog_types import ArchSpec

if TYPE_CHECKING:
    from torch import nn


def _recurrent(cell: str, **fixed: Any) -> Callable[..., nn.Module]:
    def build(**kwargs: Any) -> nn.Module:
        from explorer.models.recurrent import build_recurrent

        return build_recurrent(cell, **{**fixed, **kwargs})

    build.__name__ = f"recurrent_{cell}"
    return build


def recurrent_entries() -> list[ArchSpec]:
    """Every recurrent entry, in course order."""
    e: list[ArchSpec] = []

    def add(key, family, title, year, ref, idea, shape, classes, builder, **kw):
        e.append(
            ArchSpec(key, family, title, year, ref[0], ref[1], idea, shape, classes, builder, **kw)
        )

    seq = (("input_size", 32), ("hidden_size", 64))
    add(
        "rnn",
        "RNN",
        "Recurrent network (Elman)",
        1990,
        ELMAN90,
        "A hidden state carried through time: h_t = tanh(W_x x_t + W_h h_(t-1) + b).",
        (100, 32),
        0,
        _recurrent("rnn"),
        kind="rnn",
        task="sequence",
        compact=True,
        defaults=seq,
    )
    add(
        "stacked_rnn",
        "RNN",
        "Stacked RNN",
        1992,
        SCHMIDHUBER92,
        "Layers of recurrent units: each layer's hidden states are the next layer's inputs.",
        (100, 32),
        0,
        _recurrent("rnn", num_layers=2),
        kind="rnn",
        task="sequence",
        compact=True,
        defaults=seq,
        also=(ELHIHI96, GRAVES13),
        variant="Elman's network has one recurrent layer; stacks came with Schmidhuber's hierarchy of RNNs "
        "(1992) and El Hihi & Bengio (1996), and were popularised by Graves et al. (2013).",
    )
    add(
        "birnn",
        "RNN",
        "Bidirectional RNN",
        1997,
        SCHUSTER97,
        "Two RNNs read the sequence forwards and backwards; each step sees its past and its future.",
        (100, 32),
        0,
        _recurrent("rnn", bidirectional=True),
        kind="rnn",
        task="sequence",
        compact=True,
        defaults=seq,
    )
    add(
        "gru",
        "RNN",
        "GRU",
        2014,
        CHO14,
        "Reset and update gates decide what to forget and what to carry, so gradients survive long sequences.",
        (100, 32),
        0,
        _recurrent("gru"),
        kind="rnn",
        task="sequence",
        compact=True,
        defaults=seq,
    )
    add(
        "lstm",
        "RNN",
        "LSTM",
        1997,
        HOCHREITER97,
        "A memory cell with input, forget and output gates: an additive path for information and gradients.",
        (100, 32),
        0,
        _recurrent("lstm"),
        kind="rnn",
        task="sequence",
        compact=True,
        defaults=seq,
        also=(GERS00,),
        variant="The 1997 LSTM had input and output gates only; the forget gate came with Gers, Schmidhuber "
        "& Cummins (2000). The cell here is today's form, as torch.nn.LSTM.",
    )
    return e
