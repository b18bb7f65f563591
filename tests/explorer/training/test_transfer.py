"""Transfer learning: freezing keeps frozen weights bit-identical, counts are honest, the new head
has the target's shape, and loading weights into another head fails or transfers as asked."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from explorer.data.datasets import Splits, load_dataset
from explorer.models import get_spec
from explorer.models.weights import load_bundled
from explorer.training.events import Finished, drain
from explorer.training.fit import fit
from explorer.training.freezing import (
    FREEZE_MODES,
    apply_freeze,
    count_by_mode,
    param_groups,
    trainable_names,
    trainable_parameters,
    unfreeze,
)
from explorer.training.settings import TrainSettings
from explorer.training.transfer import (
    TransferInfo,
    default_transfer_settings,
    resize_splits,
    run_transfer,
)
from explorer.training.transfer_weights import (
    SourceWeights,
    TransferError,
    build_transfer_model,
    bundled_source,
    head_name,
    load_weights,
)


@pytest.fixture(scope="module")
def circles() -> Splits:
    data = load_dataset("circles_squares", seed=0, sizes=(16, 8, 8), difficulty=0.3)
    return resize_splits(data, 32)


def _settings(**kw) -> TrainSettings:
    base = dict(
        model="resnet_small",
        dataset="circles_squares",
        optimizer="adam",
        lr=1e-2,
        batch_size=8,
        epochs=1,
        train_samples=16,
        val_samples=8,
        device="cpu",
        source="bundled:resnet_small",
    )
    return TrainSettings(**{**base, **kw})


@pytest.mark.parametrize("mode", FREEZE_MODES)
def test_frozen_parameters_stay_bit_identical_and_trainable_ones_change(mode, circles):
    model, _, _ = build_transfer_model(bundled_source("resnet_small"), num_classes=1, in_channels=3)
    reported = apply_freeze(model, mode)
    assert reported == sum(p.numel() for p in model.parameters() if p.requires_grad)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    buffers = {n: b.detach().clone() for n, b in model.named_buffers() if "running" in n}
    drain(fit(model, circles, _settings(freeze=mode), instrument=False))
    keep = set(trainable_names(model, mode))
    for name, p in model.named_parameters():
        if name in keep:
            assert not torch.equal(p.detach(), before[name]), f"{name} should have trained"
        else:
            assert torch.equal(p.detach(), before[name]), f"{name} is frozen but changed"
    # Frozen batch norms keep their running statistics (inference mode throughout).
    for name, b in model.named_buffers():
        owner = name.rsplit(".", 1)[0]
        if name in buffers and not any(n.startswith(owner + ".") for n in keep):
            assert torch.equal(b, buffers[name]), f"{name} drifted in a frozen layer"


def test_trainable_counts_by_mode_match_the_layers():
    model, _, _ = build_transfer_model(bundled_source("resnet_small"), num_classes=1, in_channels=3)
    counts = count_by_mode(model)
    assert counts["head"] == 128 * 1 + 1  # Linear(128 -> 1)
    # last stage: the last residual block (two 3x3 convs 128 -> 128 without bias, two BNs) + head
    assert counts["last_stage"] == 2 * 128 * 128 * 9 + 2 * 2 * 128 + 129
    assert counts["all"] == sum(p.numel() for p in model.parameters())
    for mode in FREEZE_MODES:
        assert apply_freeze(model, mode) == counts[mode] == trainable_parameters(model)


def test_lenet_last_stage_is_the_last_conv_and_the_classifier():
    model, _ = load_bundled("lenet5")
    names = trainable_names(model, "last_stage")
    assert sorted({n.split(".")[0] for n in names}, key=int) == ["3", "7", "9", "11"]
    assert trainable_names(model, "head") == ["11.weight", "11.bias"]


@pytest.mark.parametrize(
    ("num_classes", "in_channels"),
    [(1, 3), (10, 1), (2, 3), (6, 1)],
)
def test_new_head_has_the_target_shape_and_the_rest_is_copied(num_classes, in_channels):
    source_model, _ = load_bundled("resnet_small")
    src = source_model.state_dict()
    model, build, report = build_transfer_model(
        bundled_source("resnet_small"), num_classes, in_channels
    )
    head = model.get_submodule(head_name(model))
    assert tuple(head.weight.shape) == (num_classes, 128)
    assert build["num_classes"] == num_classes and build["in_channels"] == in_channels
    assert report["new"] == ["10.weight", "10.bias"]
    first = model.state_dict()["0.weight"]
    assert tuple(first.shape) == (32, in_channels, 3, 3)
    if in_channels == 1:  # grey: kernels summed over colour
        torch.testing.assert_close(first, src["0.weight"].float().sum(1, keepdim=True))
        assert report["adapted"] == ["0.weight"]
    for name in report["copied"]:
        assert torch.equal(model.state_dict()[name], src[name].to(model.state_dict()[name].dtype))
    # The model is the catalog architecture for these build arguments.
    fresh = get_spec("resnet_small").build(**build)
    assert {k: v.shape for k, v in fresh.state_dict().items()} == {
        k: v.shape for k, v in model.state_dict().items()
    }


def test_loading_into_another_head_fails_clearly_unless_transfer_is_asked():
    source_model, _ = load_bundled("resnet_small")  # 6 shape classes
    target = get_spec("resnet_small").build(in_channels=3, num_classes=2, image_size=32)
    with pytest.raises(
        TransferError, match=r"classifier \(10\) has 6 outputs but this model has 2.*transfer"
    ):
        load_weights(target, source_model.state_dict())
    report = load_weights(target, source_model.state_dict(), transfer=True)
    assert report["new"] == ["10.weight", "10.bias"]
    assert torch.equal(
        target.state_dict()["2.conv1.weight"], source_model.state_dict()["2.conv1.weight"]
    )
    grey = get_spec("resnet_small").build(in_channels=1, num_classes=6, image_size=32)
    with pytest.raises(TransferError, match="expect 3 input channel"):
        load_weights(grey, source_model.state_dict())
    other = get_spec("vgg_small").build(in_channels=3, num_classes=6, image_size=32)
    with pytest.raises(TransferError, match="another architecture"):
        load_weights(other, source_model.state_dict(), transfer=True)


def test_user_source_transfers_like_bundled():
    model, meta = load_bundled("lenet5")
    src = SourceWeights(
        "user", "lenet5", dict(meta.build), model.state_dict(), tuple(meta.classes), "digits"
    )
    new, build, report = build_transfer_model(src, num_classes=6, in_channels=3)
    assert new.get_submodule("11").out_features == 6 and new.get_submodule("0").in_channels == 3
    assert report["adapted"] == ["0.weight"]
    torch.testing.assert_close(
        new.state_dict()["0.weight"], model.state_dict()["0.weight"].float().repeat(1, 3, 1, 1) / 3
    )


def test_param_groups_put_the_head_first_at_the_full_rate():
    model, _, _ = build_transfer_model(bundled_source("resnet_small"), num_classes=2, in_channels=3)
    apply_freeze(model, "all")
    groups = param_groups(model, 1e-2, 0.1)
    assert groups[0]["lr"] == 1e-2 and groups[1]["lr"] == pytest.approx(1e-3)
    assert sum(p.numel() for g in groups for p in g["params"]) == trainable_parameters(model)
    assert sum(p.numel() for p in groups[0]["params"]) == 128 * 2 + 2


def test_run_transfer_reports_and_returns_a_clean_catalog_model(circles):
    s = _settings(freeze="head", schedule="onecycle")
    events, result = drain(
        run_transfer(s, bundled_source("resnet_small"), data=circles, instrument=False)
    )
    info = next(e for e in events if isinstance(e, TransferInfo))
    assert info.trainable == 129 and info.mode == "head" and info.image_size == 32
    assert any(isinstance(e, Finished) for e in events)
    assert result.metrics["trainable_parameters"] == 129
    assert all(p.requires_grad for p in result.model.parameters())
    assert all(
        type(m) is nn.BatchNorm2d for m in result.model.modules() if isinstance(m, nn.BatchNorm2d)
    )
    rebuilt = get_spec(result.arch).build(**result.build)
    rebuilt.load_state_dict(result.model.state_dict(), strict=True)


def test_scratch_twin_trains_everything_from_random_weights(circles):
    s = _settings(source="scratch", freeze="all")
    events, result = drain(run_transfer(s, None, data=circles, image_size=32, instrument=False))
    info = next(e for e in events if isinstance(e, TransferInfo))
    assert info.trainable == info.total == sum(p.numel() for p in result.model.parameters())
    assert "scratch" in info.source


def test_freeze_settings_are_validated():
    assert any("freeze mode" in e for e in _settings(freeze="bottom").errors())
    assert any("backbone" in e for e in _settings(backbone_lr=0).errors())
    assert default_transfer_settings().errors() == []
    # A transfer may target a dataset the architecture is not offered from scratch.
    assert TrainSettings(model="resnet_small", dataset="circles_squares").errors() != []


def test_unfreeze_restores_every_parameter():
    model, _, _ = build_transfer_model(bundled_source("resnet_small"), num_classes=2, in_channels=3)
    apply_freeze(model, "head")
    model.train()
    assert not model.get_submodule("2.bn1").training  # frozen BN stays in inference mode
    unfreeze(model)
    model.train()
    assert model.get_submodule("2.bn1").training
    assert trainable_parameters(model) == sum(p.numel() for p in model.parameters())


def test_transfer_vs_scratch_runs_share_the_input_and_not_the_learning_rate() -> None:
    from explorer.models.user_model import UserModel
    from explorer.training.transfer import (
        SCRATCH_LR,
        transfer_title,
        transfer_vs_scratch_runs,
        user_source,
    )
    from explorer.training.transfer_weights import SourceWeights

    settings = TrainSettings(
        model="resnet_small", dataset="circles_squares", lr=0.01, freeze="head", source="bundled:x"
    )
    small = SourceWeights("bundled", "resnet_small", {"image_size": 48})
    arm, scratch = transfer_vs_scratch_runs(settings, small)
    assert (arm.target, scratch.target) == ("explorer.training.transfer:run_transfer",) * 2
    assert arm.kwargs == {"settings": settings, "source": small} and arm.name == "transfer (head)"
    assert scratch.kwargs["source"] is None and scratch.kwargs["image_size"] == 48
    assert (
        scratch.kwargs["settings"].lr == SCRATCH_LR and scratch.kwargs["settings"].freeze == "all"
    )
    imagenet = SourceWeights("imagenet", "resnet18")
    assert transfer_vs_scratch_runs(settings, imagenet)[1].kwargs["imagenet_input"] is True
    assert transfer_title(settings, small).endswith(
        "-> Circles vs squares (64x64 colour, binary) (head)"
    )
    mine = UserModel(
        name="m1", arch="lenet5", build={"a": 1}, state_dict={}, classes=["x"], dataset="d"
    )
    src = user_source(mine)
    assert (src.kind, src.arch, src.build, src.classes, src.dataset, src.describe()) == (
        "user",
        "lenet5",
        {"a": 1},
        ("x",),
        "d",
        'your model "m1"',
    )
