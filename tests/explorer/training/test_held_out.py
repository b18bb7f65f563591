"""Held-out evaluation of the sequence tasks: nothing of the validation set occurs in training;
validation events arrive; the forget-gate bias and clipping are settings that do what they say."""

from __future__ import annotations

import pytest
import torch

from explorer.data.sequences import char_batch, corpus_split, decode, split_corpus_ids
from explorer.models.sequence_model import SequenceModel
from explorer.training.events import drain
from explorer.training.sequence import (
    SeqStep,
    SequenceSettings,
    SequenceTrainingError,
    SeqVal,
    _batch,
    set_forget_bias,
    train_sequence_models,
    validation_set,
)


def test_no_held_out_window_of_text_occurs_in_the_training_text():
    train, held = corpus_split()
    assert len(held) > 10_000 and len(train) > 100_000  # a corpus too large to memorise quickly
    x, y = validation_set(SequenceSettings(task="chars", seq_len=64))
    assert x.shape == (64, 64)
    for n in range(x.shape[1]):
        window = decode(torch.cat([x[:, n], y[-1:, n]]))
        assert window in held
        assert window not in train, window


def test_training_windows_come_from_the_training_text_only():
    train_ids, held_ids = split_corpus_ids()
    x, _ = char_batch(train_ids, 64, 256, torch.Generator().manual_seed(0))
    train = corpus_split()[0]
    for n in range(0, 256, 16):
        assert decode(x[:, n]) in train


@pytest.mark.parametrize("task", ["sine", "adding"])
def test_fresh_validation_sequences_never_appear_in_training_batches(task):
    s = SequenceSettings(task=task, seq_len=30, batch_size=32)
    xv, _ = validation_set(s)
    gen = torch.Generator().manual_seed(s.seed)
    val_rows = {tuple(xv[:, i].flatten().tolist()) for i in range(xv.shape[1])}
    for _ in range(50):
        xb, _ = _batch(s, None, gen)
        for i in range(xb.shape[1]):
            assert tuple(xb[:, i].flatten().tolist()) not in val_rows


def test_training_reports_held_out_loss_per_cell():
    s = SequenceSettings(
        task="adding", cells=("rnn", "lstm"), hidden_size=8, steps=6, seq_len=12, val_every=3
    )
    events, run = drain(train_sequence_models(s))
    vals = [(e.step, e.cell) for e in events if isinstance(e, SeqVal)]
    assert vals == [(3, "rnn"), (3, "lstm"), (6, "rnn"), (6, "lstm")]
    assert [st for st, _ in run.val_curves["lstm"]] == [3, 6]
    assert all(v.metric == pytest.approx(v.loss) for v in events if isinstance(v, SeqVal))  # MSE


def test_forget_gate_bias_is_set_on_the_f_slice_only():
    s = SequenceSettings(task="sine", cells=("lstm",), hidden_size=5)
    model = SequenceModel(s.model_config("lstm"), fused=True)
    set_forget_bias(model, 1.0)
    b_ih, b_hh = model.rnn.bias_ih_l0.detach(), model.rnn.bias_hh_l0.detach()
    assert torch.equal(b_ih[5:10], torch.ones(5)) and torch.equal(b_hh[5:10], torch.zeros(5))
    events, run = drain(
        train_sequence_models(
            SequenceSettings(
                task="sine",
                cells=("lstm",),
                hidden_size=5,
                steps=1,
                seq_len=10,
                forget_bias=1.0,
                lr=1e-9,
            )
        )
    )
    b = run.models["lstm"].state_dict
    f = next(v for k, v in b.items() if k.endswith("bias_ih_l0"))[5:10]
    torch.testing.assert_close(f, torch.ones(5), atol=1e-6, rtol=0)
    start = run.models["lstm"].initial()  # the weights it started from carry the bias too
    f0 = next(v for k, v in start.state_dict().items() if k.endswith("bias_ih_l0"))[5:10]
    assert torch.equal(f0, torch.ones(5))


def test_clipping_is_a_setting():
    with pytest.raises(SequenceTrainingError, match="clipping"):
        SequenceSettings(clip=-1).validate()
    s = dict(task="adding", cells=("rnn",), hidden_size=16, steps=3, seq_len=20, lr=1e-3)
    clipped, _ = drain(train_sequence_models(SequenceSettings(**s, clip=1e-3)))
    free, _ = drain(train_sequence_models(SequenceSettings(**s, clip=0.0)))
    norms_c = [e.grad_norm for e in clipped if isinstance(e, SeqStep)]
    norms_f = [e.grad_norm for e in free if isinstance(e, SeqStep)]
    assert norms_c[0] == pytest.approx(
        norms_f[0]
    )  # the norm before clipping is the same first step
    assert norms_c[1:] != norms_f[1:]  # and clipping changed the updates that followed


def test_gradient_flow_regimes_are_named():
    from explorer.viz.gradient_flow import flow_regime, regime_rows

    assert flow_regime([1e-9, 1e-3, 1.0])[0] == "vanishing"
    assert flow_regime([1e4, 10.0, 1.0]) == ("exploding", 1e4)
    assert flow_regime([0.5, 1.0])[0] == "stable"
    assert regime_rows({"RNN at init": [1e-6, 1.0]}) == [
        {
            "curve": "RNN at init",
            "regime": "vanishing",
            "first / last step (over 1 steps)": "1.0e-06",
        }
    ]
