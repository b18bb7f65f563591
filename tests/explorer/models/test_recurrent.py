"""The explicit cells against torch.nn.RNN/GRU/LSTM with the very same weights."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from explorer.models.recurrent import (
    CELLS,
    RecurrentConfigError,
    build_recurrent,
    from_torch,
    parameter_count,
    torch_parameter_count,
    torch_twin,
    weight_shapes,
)
from explorer.models.recurrent_cells import CELL_SPECS
from explorer.models.sequence_model import SequenceModel, SequenceModelConfig

CASES = [
    (cell, layers, bidirectional, batch_first)
    for cell, layers, bidirectional, batch_first in itertools.product(
        CELLS, (1, 2, 3), (False, True), (False, True)
    )
]


def _torch_module(
    cell: str, layers: int, bidirectional: bool, batch_first: bool, **kw
) -> nn.Module:
    cls = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[cell]
    return cls(5, 7, num_layers=layers, bidirectional=bidirectional, batch_first=batch_first, **kw)


@pytest.mark.parametrize(("cell", "layers", "bidirectional", "batch_first"), CASES)
def test_matches_torch_with_torchs_weights(cell, layers, bidirectional, batch_first):
    reference = _torch_module(cell, layers, bidirectional, batch_first)
    net = build_recurrent(cell, 5, 7, layers, bidirectional, batch_first=batch_first)
    net.load_state_dict(reference.state_dict())  # strict: same names and shapes
    x = torch.randn(3, 11, 5) if batch_first else torch.randn(11, 3, 5)
    directions = 2 if bidirectional else 1
    h0 = torch.randn(layers * directions, 3, 7)
    hx = (h0, torch.randn_like(h0)) if cell == "lstm" else h0
    out, state = net(x, hx)
    ref_out, ref_state = reference(x, hx)
    assert out.shape == ref_out.shape
    torch.testing.assert_close(out, ref_out, atol=1e-5, rtol=0)
    states = state if cell == "lstm" else (state,)
    ref_states = ref_state if cell == "lstm" else (ref_state,)
    for mine, theirs in zip(states, ref_states, strict=True):
        torch.testing.assert_close(mine, theirs, atol=1e-5, rtol=0)
    # The recording (no-grad, fused-bias) path gives the same output.
    with torch.no_grad():
        rec_out, _, _, records = net.run(x, hx, record=True)
    torch.testing.assert_close(rec_out, ref_out, atol=1e-5, rtol=0)
    assert len(records) == layers * directions


@pytest.mark.parametrize("cell", CELLS)
def test_state_dict_loads_into_torch_and_parameter_count_matches(cell):
    net = build_recurrent(cell, 4, 6, num_layers=2, bidirectional=True)
    cls = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[cell]
    reference = cls(4, 6, num_layers=2, bidirectional=True)
    ref_state = reference.state_dict()
    assert list(net.state_dict()) == list(ref_state)
    for name, tensor in net.state_dict().items():
        assert tensor.shape == ref_state[name].shape, name
    twin = torch_twin(net)
    assert type(twin) is type(reference)
    reference.load_state_dict(net.state_dict())
    count = sum(p.numel() for p in reference.parameters())
    assert sum(p.numel() for p in net.parameters()) == count == parameter_count(net.config)


def test_weight_shapes_lstm_at_chosen_sizes():
    net = build_recurrent("lstm", 10, 20, num_layers=2, bidirectional=True)
    shapes = dict(weight_shapes(net.config))
    assert shapes["weight_ih_l0"] == (80, 10)
    assert shapes["weight_hh_l0_reverse"] == (80, 20)
    assert shapes["weight_ih_l1"] == (80, 40)  # layer 2 reads both directions
    assert shapes["bias_hh_l1_reverse"] == (80,)
    # Published count: 4 * (H * (I + H) + 2H) per layer and direction.
    expected = 2 * 4 * (20 * (10 + 20) + 40) + 2 * 4 * (20 * (40 + 20) + 40)
    assert parameter_count(net.config) == expected


def test_relu_rnn_matches_torch():
    reference = nn.RNN(3, 5, num_layers=2, nonlinearity="relu")
    net = from_torch(reference)
    x = torch.randn(9, 2, 3)
    torch.testing.assert_close(net(x)[0], reference(x)[0], atol=1e-5, rtol=0)


def test_unbatched_input_like_torch():
    reference = nn.GRU(3, 4, batch_first=True)
    net = from_torch(reference)
    x = torch.randn(6, 3)
    out, h = net(x)
    ref_out, ref_h = reference(x)
    assert out.shape == (6, 4) and h.shape == (1, 4)
    torch.testing.assert_close(out, ref_out, atol=1e-5, rtol=0)
    torch.testing.assert_close(h, ref_h, atol=1e-5, rtol=0)


def test_gradients_match_torch():
    reference = nn.LSTM(3, 4, num_layers=2)
    net = from_torch(reference)
    x = torch.randn(7, 2, 3)
    net(x)[0].pow(2).sum().backward()
    reference(x)[0].pow(2).sum().backward()
    for name, p in net.named_parameters():
        torch.testing.assert_close(p.grad, dict(reference.named_parameters())[name].grad)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            dict(cell="cnn", input_size=3, hidden_size=4),
            "Unknown cell 'cnn': choose one of rnn, gru, lstm.",
        ),
        (
            dict(cell="lstm", input_size=3, hidden_size=0),
            "Hidden size must be between 1 and 512, got 0.",
        ),
        (
            dict(cell="gru", input_size=3, hidden_size=4, num_layers=5),
            "Number of layers must be between 1 and 4, got 5.",
        ),
        (
            dict(cell="rnn", input_size=3, hidden_size=4, nonlinearity="gelu"),
            "Nonlinearity must be 'tanh' or 'relu', got 'gelu'.",
        ),
    ],
)
def test_out_of_range_sizes_give_clear_errors(kwargs, message):
    with pytest.raises(RecurrentConfigError) as err:
        build_recurrent(**kwargs)
    assert str(err.value) == message


def test_wrong_input_width_is_explained():
    net = build_recurrent("rnn", 3, 4)
    with pytest.raises(
        RecurrentConfigError, match="has 5 features per step but the network expects 3"
    ):
        net(torch.randn(2, 1, 5))


def test_catalog_builds_the_explicit_network():
    from explorer.models import get_spec

    model = get_spec("birnn").build(input_size=3, hidden_size=5)
    assert model.bidirectional and model.cell == "rnn"
    assert model(torch.randn(4, 1, 3))[0].shape == (4, 1, 10)


@pytest.mark.parametrize("encoding", ["onehot", "embedding"])
def test_sequence_model_fused_and_explicit_agree(encoding):
    config = SequenceModelConfig(
        "lstm", 8, num_layers=2, encoding=encoding, vocab_size=12, output_size=12
    )
    fused = SequenceModel(config, fused=True)
    explicit = fused.explicit()
    assert isinstance(fused.rnn, nn.LSTM)
    ids = torch.randint(0, 12, (10, 3))
    torch.testing.assert_close(explicit(ids)[0], fused(ids)[0], atol=1e-5, rtol=0)


# torch's classes and gate orders, from torch's documentation (not from the specs under test).
TORCH_GATES = {
    "rnn": (nn.RNN, ("h",)),
    "gru": (nn.GRU, ("r", "z", "n")),
    "lstm": (nn.LSTM, ("i", "f", "g", "o")),
}


@pytest.mark.parametrize("cell", CELLS)
def test_every_cell_spec_is_complete_and_matches_torch(cell):
    spec = CELL_SPECS[cell]
    torch_class, blocks = TORCH_GATES[cell]
    assert spec.key == cell and spec.torch_class is torch_class and spec.blocks == blocks
    assert set(spec.titles) == set(spec.ranges) == set(spec.quantities)
    assert spec.quantities[-1] == "h" and spec.states[0] == "h"
    from explorer.viz.recurrent_cells import CELL_COLOURS, cell_diagram, cell_text

    assert cell_text(cell).equations and spec.stacking and CELL_COLOURS[cell].startswith("#")
    dot = "\n".join(cell_diagram(cell, 5, 7, "tanh"))
    assert all(f"{b} [" in dot for b in spec.blocks)  # one node per gate block
    # Parameter count from the spec's blocks equals torch's own module at odd sizes.
    config = build_recurrent(cell, 5, 7, num_layers=2, bidirectional=True).config
    assert parameter_count(config) == torch_parameter_count(config)
    with pytest.raises(KeyError, match="Unknown cell"):
        from explorer.models.recurrent_cells import cell_spec

        cell_spec("cnn")


def test_from_torch_rejects_an_unknown_module():
    class NotACell(nn.RNN):
        pass

    with pytest.raises(
        RecurrentConfigError, match="Not a recurrent module the explorer knows: NotACell."
    ):
        from_torch(NotACell(2, 3))
