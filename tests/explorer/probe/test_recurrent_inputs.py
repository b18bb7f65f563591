"""What the Recurrent page computes, without Streamlit: the prepared input, the network config
for it, the weight digest that keys trained traces, and the gradient-flow comparison."""

from __future__ import annotations

import numpy as np
import torch

from explorer.data.sequences import VOCAB_SIZE, InputSpec, prepare_input
from explorer.models.init import build_seeded
from explorer.models.sequence_model import SequenceModel, state_digest
from explorer.probe import recurrent as rp


def test_text_and_signal_inputs() -> None:
    text = prepare_input(InputSpec(kind="text", text="ab a"))
    assert text.steps == 4 and text.features == VOCAB_SIZE and text.feature_names == ["character"]
    assert text.values.dtype == torch.long and text.labels[2] == "␣"
    sig = prepare_input(InputSpec(kind="signal", signal="sine", steps=50))
    assert tuple(sig.values.shape) == (50, sig.features) and len(sig.labels) == 50


def test_model_config_follows_the_input() -> None:
    text = InputSpec(kind="text", text="hi", encoding="embedding")
    cfg = rp.model_config("gru", 8, 2, True, "tanh", text, VOCAB_SIZE)
    assert (cfg.cell, cfg.encoding, cfg.vocab_size, cfg.num_layers, cfg.bidirectional) == (
        "gru",
        "embedding",
        VOCAB_SIZE,
        2,
        True,
    )
    assert (
        rp.model_config("lstm", 8, 1, False, "tanh", InputSpec(kind="signal"), 3).encoding
        == "signal"
    )


def test_state_digest_is_the_weights_content() -> None:
    a = {"w": torch.ones(2, 3), "b": torch.zeros(3)}
    assert state_digest(a) == state_digest(
        {"b": torch.zeros(3), "w": torch.ones(2, 3)}
    )  # order-free
    assert state_digest(a) != state_digest(
        {"w": torch.ones(2, 3), "b": torch.tensor([0.0, 0.0, 1e-6])}
    )


def test_init_gradient_flows_one_curve_per_cell_with_memory_for_c() -> None:
    spec = InputSpec(kind="signal", steps=20)

    def model_for(config):
        return build_seeded(lambda: SequenceModel(config, fused=False), 0).eval()

    flows = rp.init_gradient_flows(model_for, 8, 1, spec, 12, "h")
    assert sorted(flows) == ["GRU at init", "LSTM at init", "RNN at init"]
    assert all(v.shape == (12,) and np.isfinite(v).all() for v in flows.values())
    assert sorted(rp.init_gradient_flows(model_for, 8, 1, spec, 12, "c")) == ["LSTM at init"]


def test_trace_chars_undo_the_visible_labels() -> None:
    spec = InputSpec(kind="text", text="a b\nc")
    prepared = prepare_input(spec)
    assert prepared.labels == ["a", "\u2423", "b", "\u21b5", "c"]  # what hover labels show
    config = rp.model_config("rnn", 4, 1, False, "tanh", spec, VOCAB_SIZE)
    model = build_seeded(lambda: SequenceModel(config, fused=False), 0).eval()
    assert rp.trace_chars(rp.trace(model, prepared.values, prepared.labels)) == list("a b\nc")
