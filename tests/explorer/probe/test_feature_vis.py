"""Optimised inputs (Olah et al. 2017): checked against what must hold, on real models."""

from __future__ import annotations

import pytest
import torch

from explorer.data.datasets import load_dataset
from explorer.models import get_spec
from explorer.models.weights import load_bundled
from explorer.probe import feature_vis as fv
from explorer.probe.capture import capture, hook_count

LENET_INPUT = (
    1,
    28,
    28,
)  # the bundled LeNet-5 was trained on 28 x 28 digits (its metadata says so)


@pytest.fixture(scope="module")
def lenet() -> torch.nn.Module:
    model, meta = load_bundled("lenet5")
    assert (meta.build["in_channels"], meta.build["image_size"]) == (1, 28)
    return model


def test_first_layer_optimum_under_a_norm_bound_is_the_filter(lenet: torch.nn.Module) -> None:
    """Maximising a linear unit w.x + b on ||x|| <= 1 gives x = w / ||w||: the crop of the
    optimised input under the unit's receptive field is the filter (correlation ~ 1), and the
    pixels outside it go to zero."""
    conv = lenet[0]  # Conv2d(1, 6, 5, padding=2): unit (14, 14) sees rows and columns 12..16
    settings = fv.VisSettings(
        steps=12, param="pixel", transforms=False, norm_bound=1.0, lr=0.5, preview_every=0
    )
    last = fv.run(fv.optimise(lenet, "0", [0, 1, 2, 3, 4, 5], LENET_INPUT, settings, unit=(14, 14)))
    for b in range(6):
        patch = last.raw[b, 0, 12:17, 12:17].flatten()
        weight = conv.weight[b, 0].detach().flatten()
        corr = torch.corrcoef(torch.stack([patch, weight]))[0, 1].item()
        assert corr > 0.9, (b, corr)
        assert last.raw[b].norm().item() == pytest.approx(1.0, abs=1e-4)
        assert patch.norm().item() > 0.95  # almost all of the norm sits in the field


def test_optimised_input_excites_its_channel_more_than_every_dataset_image(
    lenet: torch.nn.Module,
) -> None:
    """The Distill article's observation, on the bundled LeNet-5's C3 (a convolution) and the
    digits it was trained on: the channel's mean activation is higher than on any of 1000 test
    images, with the full recipe (Fourier parameterisation, transformations)."""
    data = load_dataset("digits", seed=0, sizes=(1, 1, 1000))
    channels = [0, 5, 10]
    best_data = capture(lenet, data.x_test, ["3"])["3"].mean(dim=(2, 3)).max(dim=0).values
    last = fv.run(
        fv.optimise(
            lenet, "3", channels, LENET_INPUT, fv.VisSettings(steps=32, lr=0.1, preview_every=0)
        )
    )
    reached = capture(lenet, last.raw, ["3"])["3"].mean(dim=(2, 3))
    for b, c in enumerate(channels):
        assert reached[b, c] > best_data[c], (c, reached[b, c].item(), best_data[c].item())
    assert (
        len(last.images) == 3
        and last.images[0].shape == (28, 28, 1)
        and last.images[0].dtype.name == "uint8"
    )


def test_events_count_steps_and_carry_previews_every_k_steps(lenet: torch.nn.Module) -> None:
    events = list(fv.optimise(lenet, "0", 1, LENET_INPUT, fv.VisSettings(steps=6, preview_every=2)))
    assert [e.step for e in events] == [1, 2, 3, 4, 5, 6]
    assert [e.previews is not None for e in events] == [False, True, False, True, False, True]
    assert (
        events[-1].done and events[-1].images is not None and not any(e.done for e in events[:-1])
    )


def test_colour_model_gives_rgb_images_and_the_same_seed_the_same_image() -> None:
    model = get_spec("resnet_small").build(num_classes=6)
    s = fv.VisSettings(steps=3, preview_every=0, seed=7)
    layer = next(n for n, m in model.named_modules() if isinstance(m, torch.nn.Conv2d))
    a = fv.run(fv.optimise(model, layer, [1], (3, 32, 32), s))
    b = fv.run(fv.optimise(model, layer, [1], (3, 32, 32), s))
    assert a.images[0].shape == (32, 32, 3)
    assert (a.images[0] == b.images[0]).all()
    assert model.training  # a freshly built model is in training mode; the run restored it
    assert all(p.grad is None for p in model.parameters())  # the model's parameters untouched


def test_global_rng_is_never_seeded(lenet: torch.nn.Module) -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    fv.run(
        fv.optimise(lenet, "0", 0, LENET_INPUT, fv.VisSettings(steps=2, preview_every=0, seed=5))
    )
    assert torch.equal(torch.rand(3), expected)


def test_bad_inputs_get_their_messages(lenet: torch.nn.Module) -> None:
    with pytest.raises(fv.FeatureVisError) as err:
        next(fv.optimise(lenet, "0", 6, LENET_INPUT))
    assert str(err.value) == "Channel 6 is out of range: layer '0' has 6 channels (0 to 5)."
    last_linear = [n for n, m in lenet.named_modules() if isinstance(m, torch.nn.Linear)][-1]
    with pytest.raises(fv.FeatureVisError) as err:
        next(fv.optimise(lenet, last_linear, 0, LENET_INPUT))
    assert str(err.value) == (
        f"Layer {last_linear!r} has no spatial output (its output is 10 per image): "
        "pick a convolution, activation, pooling or block layer."
    )


def test_a_cancelled_optimisation_leaves_no_hook(lenet: torch.nn.Module) -> None:
    events = fv.optimise(
        lenet, "3", [0, 1], LENET_INPUT, fv.VisSettings(steps=100, preview_every=0)
    )
    next(events)
    next(events)
    assert hook_count(lenet) == 1
    events.close()
    assert hook_count(lenet) == 0


def test_cache_key_changes_with_every_part() -> None:
    s = fv.VisSettings()
    base = fv.cache_key("lenet5", "bundled", "0", 1, s)
    assert base == fv.cache_key("lenet5", "bundled", "0", [1], fv.VisSettings())
    others = {
        fv.cache_key("alexnet_small", "bundled", "0", 1, s),
        fv.cache_key("lenet5", "random", "0", 1, s),
        fv.cache_key("lenet5", "bundled", "3", 1, s),
        fv.cache_key("lenet5", "bundled", "0", 2, s),
        fv.cache_key("lenet5", "bundled", "0", 1, fv.VisSettings(steps=255)),
    }
    assert base not in others and len(others) == 5


def test_hierarchy_picks_early_middle_late_convolutions() -> None:
    model = get_spec("resnet18").build()
    rows = fv.hierarchy(model, (3, 64, 64), per_layer=4)
    assert [r.depth for r in rows] == ["early", "middle", "late"]
    assert [r.layer for r in rows] == [
        "conv1",
        "layer2.1.conv2",
        "layer4.1.conv2",
    ]  # 17 3x3/7x7 convs: 0, 8, 16
    assert rows[0].channels == (0, 21, 42, 63) and rows[2].channels == (0, 170, 341, 511)
    lenet_rows = fv.hierarchy(get_spec("lenet5").build(), (1, 32, 32), per_layer=3)
    assert [(r.depth, r.layer) for r in lenet_rows] == [("early", "0"), ("late", "3")]


def test_hierarchy_rows_are_titled_by_paper_style_names() -> None:
    model = get_spec("vgg16").build()
    rows = fv.hierarchy(model, (3, 64, 64), per_layer=2)
    assert fv.hierarchy_titles(model, rows, "vgg16") == [
        "early: conv1_1",
        "middle: conv3_3",
        "late: conv5_3",
    ]


def test_the_job_target_rebuilds_the_model_and_stops_between_steps(lenet: torch.nn.Module) -> None:
    from explorer.probe import feature_vis_job as job
    from explorer.training.backends.base import JobSpec
    from explorer.training.events import drain

    payload = job.model_payload(
        "lenet5", {"image_size": 28, "in_channels": 1, "num_classes": 10}, lenet
    )
    s = fv.VisSettings(steps=5, preview_every=0, seed=2)
    kwargs = {
        "model": payload,
        "layer": "3",
        "channels": [4],
        "input_shape": LENET_INPUT,
        "settings": s,
    }
    events, result = drain(JobSpec(job.TARGET, kwargs).open(should_stop=lambda: False))
    direct = fv.run(fv.optimise(lenet, "3", [4], LENET_INPUT, s))
    assert [e.step for e in events] == [1, 2, 3, 4, 5] and result.raw is None
    assert (result.images[0] == direct.images[0]).all()  # the same picture as in this process
    calls = iter([False, False, True])
    events, result = drain(JobSpec(job.TARGET, kwargs).open(should_stop=lambda: next(calls)))
    assert [e.step for e in events] == [1, 2, 3] and result.done and result.step == 3
    assert result.images[0].shape == (28, 28, 1)


def test_the_hierarchy_job_counts_steps_over_the_grid_and_returns_each_rows_images(
    lenet: torch.nn.Module,
) -> None:
    from explorer.probe import feature_vis_job as job
    from explorer.training.backends.base import JobSpec
    from explorer.training.events import drain

    payload = job.model_payload(
        "lenet5", {"image_size": 28, "in_channels": 1, "num_classes": 10}, lenet
    )
    rows = [(r.depth, r.layer, r.channels) for r in fv.hierarchy(lenet, LENET_INPUT, per_layer=3)]
    s = fv.VisSettings(steps=3, preview_every=0)
    kwargs = {"model": payload, "rows": rows, "input_shape": LENET_INPUT, "settings": s}
    events, images = drain(JobSpec(job.HIERARCHY_TARGET, kwargs).open(should_stop=lambda: False))
    assert [e.step for e in events] == [1, 2, 3, 4, 5, 6] and {e.steps for e in events} == {6}
    assert [e.done for e in events] == [False] * 5 + [True]
    assert [len(row) for row in images] == [len(r[2]) for r in rows]
    events, images = drain(JobSpec(job.HIERARCHY_TARGET, kwargs).open(should_stop=lambda: True))
    assert [e.step for e in events] == [1] and len(images) == 1  # stopped in the first row
