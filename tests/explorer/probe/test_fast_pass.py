"""The fast layer pass of dataset examples: same outputs as the model, BN folded, early stop."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from explorer.data.synthetic import make_shapes
from explorer.models.weights import load_bundled
from explorer.probe import dataset_examples as de
from explorer.probe.capture import UnknownLayerError, capture, hook_count
from explorer.probe.fast_pass import LayerPass


@pytest.fixture(scope="module")
def resnet() -> nn.Module:
    model, _ = load_bundled("resnet_small")  # conv -> BN pairs in every residual block
    return model


def test_folded_pass_gives_the_layers_output_and_stops_there(resnet: nn.Module) -> None:
    x, _ = make_shapes(12, difficulty=0.5, seed=1, size=32)
    run = LayerPass(resnet, "4", lambda t: t.clone())
    out = run(x)
    # six residual blocks with two conv -> BN pairs each, two with a projection shortcut
    assert run.folded == 14
    assert run.stops_early
    assert torch.allclose(out, capture(resnet, x, ["4"])["4"], atol=1e-4)
    assert hook_count(resnet) == 0 and not isinstance(resnet[2].bn1, nn.Identity)


def test_the_probed_convolution_is_not_folded(resnet: nn.Module) -> None:
    x, _ = make_shapes(6, difficulty=0.5, seed=2, size=32)
    run = LayerPass(resnet, "4.conv1", lambda t: t.clone())
    out = run(x)  # before its batch norm: folding it would change the values
    assert torch.allclose(out, capture(resnet, x, ["4.conv1"])["4.conv1"], atol=1e-4)
    assert isinstance(run.model.get_submodule("4.bn1"), nn.BatchNorm2d)


def test_a_convolution_used_twice_is_left_alone() -> None:
    class ConvUsedTwice(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.bn = nn.BatchNorm2d(4)
            self.out = nn.ReLU()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            c = self.conv(x)
            return self.out(self.bn(c) + c)  # folding the norm would change the sum

    torch.manual_seed(0)
    model = ConvUsedTwice()
    model.bn.running_mean.uniform_(-1, 1)
    model.bn.running_var.uniform_(0.5, 2)
    model.eval()
    x = torch.rand(5, 3, 8, 8)
    run = LayerPass(model, "out", lambda t: t.clone())
    assert torch.allclose(run(x), model(x), atol=1e-6)
    assert run.folded == 0


def test_unknown_layer_is_refused(resnet: nn.Module) -> None:
    with pytest.raises(UnknownLayerError, match="Unknown layer 'nope'"):
        LayerPass(resnet, "nope", lambda t: t)


@pytest.mark.parametrize("layer", ["3", "7.relu1"])
def test_top_examples_on_a_model_with_batch_norm_equal_brute_force(
    resnet: nn.Module, layer: str
) -> None:
    x, _ = make_shapes(300, difficulty=0.5, seed=3, size=32)
    top = de.compute(de.top_examples(resnet, x, layer, k=4, batch_size=64))
    per_image = capture(resnet, x, [layer])[layer].flatten(2).max(dim=2).values  # N x C
    expected = torch.sort(per_image, dim=0, descending=True, stable=True)
    assert torch.allclose(top.values, expected.values[:4].T, atol=1e-4)
    assert top.indices.tolist() == expected.indices[:4].T.tolist()


def test_a_big_model_runs_uncopied_and_keeps_its_mode(resnet: nn.Module, monkeypatch) -> None:
    from explorer.probe import fast_pass

    monkeypatch.setattr(fast_pass, "COPY_LIMIT_BYTES", 1000)  # the compact ResNet counts as big
    x, _ = make_shapes(6, difficulty=0.5, seed=4, size=32)
    resnet.train()
    try:
        run = LayerPass(resnet, "5", lambda t: t.clone())
        out = run(x)
        assert run.model is resnet and not run.private and run.folded == 0 and run.stops_early
        assert resnet.training and hook_count(resnet) == 0  # its mode restored, no hook left
        assert isinstance(resnet[2].bn1, nn.BatchNorm2d)
        assert torch.allclose(out, capture(resnet, x, ["5"])["5"], atol=1e-5)
    finally:
        resnet.eval()
