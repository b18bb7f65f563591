"""fit(): learns on a tiny task, reports what it promises, stops cleanly, catches divergence."""

from __future__ import annotations

import math

import pytest
import torch

from explorer.training.events import (
    EpochEnd,
    Finished,
    History,
    Progress,
    Snapshot,
    Started,
    Tick,
    drain,
)
from explorer.training.fit import DivergedError, fit, run_training
from explorer.training.settings import TrainSettings
from explorer.training.steps import augment_batch, confusion_matrix
from tests.explorer.training.conftest import bars_splits, tiny_cnn


def settings(**kw) -> TrainSettings:
    base = dict(
        model="lenet5",
        dataset="shapes",
        optimizer="adam",
        lr=0.02,
        batch_size=32,
        epochs=3,
        device="cpu",
        train_samples=230,
        val_samples=76,
    )
    return TrainSettings(**{**base, **kw})


def test_fit_lowers_the_loss_and_beats_chance(splits):
    torch.manual_seed(0)
    model = tiny_cnn()
    events, result = drain(fit(model, splits, settings(), snapshot_every_s=0.0))
    progress = [e for e in events if isinstance(e, Progress)]
    epochs = [e for e in events if isinstance(e, EpochEnd)]
    assert len(epochs) == 3
    assert progress[-1].train_loss < progress[0].train_loss * 0.5
    assert epochs[-1].val_acc > 0.8  # chance is 1/3
    assert result.metrics["test_accuracy"] > 0.8
    finished = events[-1]
    assert isinstance(finished, Finished) and not finished.stopped_early
    assert finished.confusion.shape == (3, 3) and int(finished.confusion.sum()) == len(
        splits.y_test
    )
    assert len(finished.per_class_acc) == 3
    assert (
        len(finished.misclassified)
        == len(finished.mis_true)
        == int(finished.confusion.sum() - finished.confusion.trace())
    )


def test_events_carry_steps_grad_norms_lr_and_snapshots(splits):
    torch.manual_seed(0)
    model = tiny_cnn()
    events, _ = drain(
        fit(model, splits, settings(epochs=2, schedule="cosine"), log_every=2, snapshot_every_s=0.0)
    )
    started = events[0]
    assert isinstance(started, Started)
    assert started.steps_per_epoch == math.ceil(230 / 32) == 8 and started.total_steps == 16
    ticks = [e for e in events if isinstance(e, Tick)]
    assert [t.step for t in ticks] == list(range(1, 17))
    progress = [e for e in events if isinstance(e, Progress)]
    assert progress[0].step == 1 and progress[-1].step == 16
    assert set(progress[0].grad_norms) == {
        "conv1_1 (Conv2d)",
        "fc (Linear)",
    }  # names the other pages use
    assert all(v > 0 for v in progress[0].grad_norms.values())
    assert progress[-1].lr < progress[0].lr  # cosine decays
    snaps = [e for e in events if isinstance(e, Snapshot)]
    assert snaps and snaps[0].filters.shape == (4, 1, 3, 3)
    assert snaps[0].filters_layer == "conv1_1"  # the readable name of module 0
    assert all(m.dim() == 3 for m in snaps[-1].feature_maps.values())
    # Filters change with training.
    assert not torch.equal(snaps[0].filters, snaps[-1].filters)


def test_grad_norms_match_a_manual_computation(splits):
    torch.manual_seed(0)
    model = tiny_cnn()
    reference = tiny_cnn()
    reference.load_state_dict(model.state_dict())
    s = settings(epochs=1, optimizer="sgd", lr=0.0001)
    gen = fit(model, splits, s, log_every=1000, snapshot_every_s=1e9)
    events = [next(gen) for _ in range(3)]  # Started, Snapshot, Progress at step 1
    first = next(e for e in events if isinstance(e, Progress))
    # Redo step 1 by hand: same batch order (the generator was seeded with settings.seed).
    g = torch.Generator().manual_seed(s.seed)
    idx = torch.randperm(len(splits.x_train), generator=g)[: s.batch_size]
    loss = torch.nn.functional.cross_entropy(reference(splits.x_train[idx]), splits.y_train[idx])
    loss.backward()
    assert first.train_loss == pytest.approx(loss.item(), rel=1e-5)
    assert first.grad_norms["conv1_1 (Conv2d)"] == pytest.approx(
        reference[0].weight.grad.norm().item(), rel=1e-5
    )
    assert first.grad_norms["fc (Linear)"] == pytest.approx(
        reference[4].weight.grad.norm().item(), rel=1e-5
    )
    gen.close()


def test_binary_task_uses_one_logit_and_bce():
    data = bars_splits(task="binary")
    torch.manual_seed(0)
    model = tiny_cnn(num_classes=1)
    events, result = drain(fit(model, data, settings(), snapshot_every_s=1e9))
    assert result.metrics["val_accuracy"] > 0.85
    finished = events[-1]
    assert finished.confusion.shape == (2, 2)


def test_polite_stop_evaluates_and_returns(splits):
    torch.manual_seed(0)
    calls = {"n": 0}

    def stop_after_three() -> bool:
        calls["n"] += 1
        return calls["n"] >= 3

    events, result = drain(
        fit(tiny_cnn(), splits, settings(epochs=5), should_stop=stop_after_three)
    )
    finished = events[-1]
    assert finished.stopped_early and finished.step == 3 and result.stopped_early
    assert [e.epoch for e in events if isinstance(e, EpochEnd)] == [1]


def test_nan_loss_stops_with_a_hint_about_the_learning_rate(splits):
    data = bars_splits()
    data.x_train[5] = float("nan")  # poisons the loss of the batch that holds it
    with pytest.raises(
        DivergedError,
        match=r"loss became NaN at step \d+ .*Lower the learning rate \(it was 0.02; try 0.002\)",
    ):
        drain(fit(tiny_cnn(), data, settings(), log_every=1))


def test_history_csv_has_one_row_per_progress_and_val_on_epoch_ends(splits):
    torch.manual_seed(0)
    events, _ = drain(fit(tiny_cnn(), splits, settings(epochs=2), log_every=4))
    history = History.from_events(events)
    lines = history.to_csv().strip().splitlines()
    assert lines[0] == "step,epoch,train_loss,train_acc,val_loss,val_acc,lr,samples_per_s,elapsed_s"
    assert len(lines) - 1 == len(history.steps) == sum(isinstance(e, Progress) for e in events)
    with_val = [line for line in lines[1:] if line.split(",")[4] != ""]
    assert len(with_val) == 2  # one per epoch end


def test_augmentation_shifts_within_bounds_and_keeps_shape():
    x = torch.zeros(16, 1, 8, 8)
    x[:, :, 3:5, 3:5] = 1
    g = torch.Generator().manual_seed(0)
    out = augment_batch(x, hflip=True, g=g)
    assert out.shape == x.shape
    assert torch.allclose(
        out.sum((1, 2, 3)), x.sum((1, 2, 3))
    )  # a 1-pixel shift keeps the blob inside
    assert not torch.equal(out, x)


def test_confusion_matrix_counts():
    y = torch.tensor([0, 0, 1, 2, 2, 2])
    p = torch.tensor([0, 1, 1, 2, 0, 2])
    assert confusion_matrix(y, p, 3).tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]


def test_run_training_builds_a_catalog_model_from_settings():
    s = TrainSettings(
        model="lenet5",
        dataset="digits",
        epochs=1,
        batch_size=32,
        train_samples=64,
        val_samples=16,
        device="cpu",
        lr=1e-3,
    )
    events, result = drain(run_training(s))
    assert isinstance(events[-1], Finished)
    assert result.arch == "lenet5" and result.build == {
        "in_channels": 1,
        "num_classes": 10,
        "image_size": 28,
    }
    assert result.classes == tuple(str(d) for d in range(10))
    assert next(result.model.parameters()).device.type == "cpu"


class _OutOfMemoryNet(torch.nn.Module):
    """Raises CUDA's out-of-memory error on any batch larger than 8 (as a too-big batch would)."""

    def __init__(self) -> None:
        super().__init__()
        self.net = tiny_cnn()

    def forward(self, x):
        if x.shape[0] > 8:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return self.net(x)


def test_out_of_memory_stops_and_names_a_smaller_batch_size(splits):
    from explorer.training.fit import OutOfMemoryTrainingError

    with pytest.raises(
        OutOfMemoryTrainingError, match=r"ran out of memory with batch size 32\. Try batch size 16"
    ):
        drain(fit(_OutOfMemoryNet(), splits, settings()))


def test_a_seeded_build_repeats_its_weights_and_leaves_the_global_stream_alone():
    from explorer.training.fit import build_model

    before = torch.get_rng_state()
    a, build = build_model("lenet5", 1, 10, 28, seed=4)
    b, _ = build_model("lenet5", 1, 10, 28, seed=4)
    c, _ = build_model("lenet5", 1, 10, 28, seed=5)
    assert torch.equal(torch.get_rng_state(), before)
    assert build == {"in_channels": 1, "num_classes": 10, "image_size": 28}
    assert all(torch.equal(v, b.state_dict()[n]) for n, v in a.state_dict().items())
    assert not torch.equal(a[0].weight, c[0].weight)


def test_a_catalog_model_reports_layers_by_its_papers_names(splits):
    """LeNet-5's gradient norms and snapshots are named C1, C3, ... as on Feature maps."""
    from explorer.models import get_spec

    model = get_spec("lenet5").build(
        in_channels=1, num_classes=3, image_size=splits.x_train.shape[-1]
    )
    events, _ = drain(
        fit(model, splits, settings(epochs=1), log_every=4, snapshot_every_s=0.0, arch="lenet5")
    )
    progress = next(e for e in events if isinstance(e, Progress))
    assert [n.split(" ")[0] for n in progress.grad_norms] == ["C1", "C3", "C5", "F6", "output"]
    snap = next(e for e in events if isinstance(e, Snapshot))
    assert list(snap.feature_maps)[0] == "relu_C1" and snap.filters_layer == "C1"
