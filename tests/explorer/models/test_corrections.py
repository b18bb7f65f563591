"""What the app says about the papers, held against the papers (and torch) by a test each."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from explorer.models import CATALOG, catalog, get_spec
from explorer.models.blocks import ZeroPadShortcut
from explorer.models.catalog import progression


def test_the_course_example_has_no_year_and_stays_out_of_the_progression() -> None:
    assert get_spec("keras_cnn").year is None
    assert get_spec("keras_cnn").dated_title == "The course's Keras CNN"
    assert [s.year for s in CATALOG.values() if s.year is None] == [None]  # only the course example
    story = progression()
    assert "keras_cnn" not in [s.key for s in story]
    assert story[0].key == "lenet5" and story[0].dated_title == "LeNet-5 (1998)"
    assert [s.family for s in story] == [
        "LeNet",
        "AlexNet",
        "VGG",
        "NiN",
        "GoogLeNet",
        "ResNet",
    ]  # the course's order


def test_torchvision_variants_say_what_they_are() -> None:
    alex, goog, r50 = get_spec("alexnet"), get_spec("googlenet"), get_spec("resnet50")
    assert (
        "64/192/384/256/256" in alex.variant and "no local response normalisation" in alex.variant
    )
    assert "3x3" in goog.variant and "batch norm" in goog.variant and "torchvision" in goog.title
    assert "v1.5" in r50.variant and "4.09 G" in r50.variant and "3.8 G" in r50.variant


def test_resnet50_macs_are_torchvisions_v1_5() -> None:
    from explorer.probe import summarize

    macs = summarize(get_spec("resnet50").build, (3, 224, 224)).total_macs
    assert macs == pytest.approx(4.09e9, rel=0.01)  # the paper's v1 layout: 3.8 G multiply-adds


def test_recurrent_credits() -> None:
    lstm, stacked = get_spec("lstm"), get_spec("stacked_rnn")
    assert lstm.year == 1997 and "Hochreiter" in lstm.paper
    assert any("Gers" in ref and "2000" in ref for ref, _ in lstm.also)
    assert "forget gate came with Gers" in lstm.variant
    assert stacked.year == 1992 and "Schmidhuber" in stacked.paper and "Elman" not in stacked.paper
    refs = " ".join(ref for ref, _ in stacked.also)
    assert "El Hihi" in refs and "Graves" in refs and "2013" in refs
    assert get_spec("rnn").year == 1990 and "Elman" in get_spec("rnn").paper


def _weight_layers(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]


def test_residual_twin_is_the_plain_net_plus_parameter_free_shortcuts() -> None:
    plain, residual = get_spec("plain_deep").build(), get_spec("residual_deep").build()
    # "20 layers" in both titles: 19 convolutions and one dense layer, as He et al.'s ResNet-20.
    assert (
        "20 layers" in get_spec("residual_deep").title
        and "20 layers" in get_spec("plain_deep").title
    )
    assert len(_weight_layers(plain)) == len(_weight_layers(residual)) == 20
    # Parameters from the layer arithmetic: a 3x3 stem to 16, 3 stages of 6 convolutions
    # (16, 32, 64 channels), a 64 -> 10 dense layer.
    conv = lambda c_in, c_out: 9 * c_in * c_out + c_out  # noqa: E731
    expected = (
        conv(3, 16)
        + 6 * conv(16, 16)
        + conv(16, 32)
        + 5 * conv(32, 32)
        + conv(32, 64)
        + 5 * conv(64, 64)
        + 64 * 10
        + 10
    )
    assert sum(p.numel() for p in plain.parameters()) == expected == 269_034
    assert sum(p.numel() for p in residual.parameters()) == expected
    assert sum(isinstance(m, ZeroPadShortcut) for m in residual.modules()) == 2
    assert "parameter-free" in get_spec("residual_deep").idea


def test_zero_pad_shortcut_subsamples_and_pads_with_zeros() -> None:
    x = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).reshape(2, 3, 4, 4)
    y = ZeroPadShortcut(3, 5, stride=2)(x)
    assert y.shape == (2, 5, 2, 2)
    torch.testing.assert_close(y[:, :3], x[:, :, ::2, ::2])
    assert torch.count_nonzero(y[:, 3:]) == 0
    with pytest.raises(ValueError, match="cannot narrow 5 channels to 3"):
        ZeroPadShortcut(5, 3)


def test_sine_baseline_is_the_mse_of_predicting_zero() -> None:
    from explorer.data.sequences import SINE_AMPLITUDE, SINE_ZERO_MSE, sine_batch
    from explorer.training.sequence_tasks import TASK_BASELINE

    lo, hi = SINE_AMPLITUDE
    # E[A^2] / 2 for A ~ U(lo, hi), worked out by hand: (hi^3 - lo^3) / (3 (hi - lo)) / 2.
    assert (lo, hi) == (0.5, 1.0)
    assert (
        SINE_ZERO_MSE
        == pytest.approx((hi**3 - lo**3) / (3 * (hi - lo)) / 2)
        == pytest.approx(7 / 24)
    )
    assert TASK_BASELINE["sine"] == pytest.approx(7 / 24)
    _, y = sine_batch(200, 20_000, torch.Generator().manual_seed(0))
    monte_carlo = float((y**2).mean())
    assert monte_carlo == pytest.approx(7 / 24, abs=0.005)
    assert abs(monte_carlo - 0.375) > 0.05  # the old baseline was wrong by a lot


def test_every_sample_named_by_the_catalog_exists() -> None:
    from explorer.data.samples import _SOURCES

    names = {src.sample.name for src in _SOURCES}
    for spec in catalog(kind="cnn"):
        assert spec.sample in names, spec.key
    assert get_spec("lenet5").sample == "digit" and get_spec("resnet_small").sample == "shapes"
    assert get_spec("resnet18").sample == "cat" and get_spec("keras_cnn").sample == "shapes"


def test_citation_joins_every_reference() -> None:
    lstm = get_spec("lstm")
    assert lstm.citation.startswith(lstm.paper) and "Gers" in lstm.citation
    assert get_spec("resnet18").citation == get_spec("resnet18").paper
