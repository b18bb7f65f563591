"""The feature space: deterministic projections and a linear probe that tells trained from random."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer.models import get_spec
from explorer.models.weights import load_bundled
from explorer.probe import feature_space as fs
from explorer.probe.capture import capture
from explorer.probe.dataset_examples import dataset_images
from explorer.probe.feature_vis import FeatureVisError


@pytest.fixture(scope="module")
def shapes() -> tuple[torch.Tensor, torch.Tensor, tuple[str, ...]]:
    return dataset_images("shapes", n=300)  # the bundled ResNet's own dataset, its test split


def test_default_layer_is_the_classifiers_input() -> None:
    model, _ = load_bundled("resnet_small")
    layer = fs.default_layer(model)
    x = torch.rand(2, 3, 32, 32)
    feats = fs.features(model, x, layer)
    last = [m for m in model.modules() if isinstance(m, torch.nn.Linear)][-1]
    assert feats.shape == (2, last.in_features)
    assert torch.allclose(
        torch.from_numpy(feats) @ last.weight.T + last.bias, model.eval()(x), atol=1e-4
    )


def test_features_pool_spatial_maps_by_their_mean() -> None:
    model, _ = load_bundled("lenet5")
    x = torch.rand(3, 1, 28, 28)
    assert np.allclose(
        fs.features(model, x, "3"),
        capture(model, x, ["3"])["3"].mean(dim=(2, 3)).numpy(),
        atol=1e-6,
    )


@pytest.mark.parametrize("method", ["pca", "tsne"])
def test_projection_is_deterministic_for_a_seed(method: str) -> None:
    feats = np.random.default_rng(0).normal(size=(60, 16)).astype(np.float32)
    a = fs.project(feats, method, seed=3, perplexity=10)
    b = fs.project(feats, method, seed=3, perplexity=10)
    assert a.shape == (60, 2) and np.array_equal(a, b)


def test_pca_matches_the_top_two_principal_components() -> None:
    feats = np.random.default_rng(1).normal(size=(40, 5)) * np.array([5.0, 3.0, 1.0, 0.5, 0.1])
    coords = fs.project(feats, "pca")
    centred = feats - feats.mean(axis=0)
    var = np.linalg.eigvalsh(np.cov(centred.T))[::-1]
    assert np.allclose(coords.var(axis=0, ddof=1), var[:2], rtol=1e-4)


def test_bundled_features_separate_their_classes_better_than_random_ones(shapes) -> None:
    images, labels, classes = shapes
    trained, meta = load_bundled("resnet_small")
    torch.manual_seed(0)
    random_init = get_spec("resnet_small").build(**meta.build)
    a = fs.feature_space(trained, images, labels, classes, seed=0)
    b = fs.feature_space(random_init, images, labels, classes, seed=0)
    assert a.layer == b.layer and a.points.shape == (300, 2)
    assert a.probe_accuracy >= 0.9  # the bundled model reaches 100% on this test split
    assert a.probe_accuracy > b.probe_accuracy + 0.3, (a.probe_accuracy, b.probe_accuracy)


def test_bad_inputs_get_one_message() -> None:
    with pytest.raises(FeatureVisError) as err:
        fs.project(np.zeros((20, 4)), "tsne", perplexity=30)
    assert str(err.value) == (
        "t-SNE needs more images than its perplexity: 20 images, perplexity 30. "
        "Use at least 31 images or a smaller perplexity."
    )
    with pytest.raises(FeatureVisError) as err:
        fs.project(np.zeros((2, 4)), "pca")
    assert str(err.value) == "A 2-D projection needs at least 3 images; the dataset has 2."
    with pytest.raises(FeatureVisError) as err:
        fs.project(np.zeros((20, 4)), "isomap")
    assert str(err.value) == "Unknown projection 'isomap': use one of pca, tsne, umap."
    with pytest.raises(FeatureVisError) as err:
        fs.linear_probe(np.zeros((4, 2)), np.array([0, 0, 0, 1]))
    assert (
        str(err.value) == "A linear probe needs at least two classes with at least two images each."
    )


def test_random_twin_is_seeded_and_leaves_the_global_rng_alone() -> None:
    torch.manual_seed(5)
    expected = torch.rand(2)
    torch.manual_seed(5)
    a = fs.random_twin("lenet5", {"image_size": 28, "in_channels": 1, "num_classes": 10}, seed=1)
    b = fs.random_twin("lenet5", {"image_size": 28, "in_channels": 1, "num_classes": 10}, seed=1)
    assert torch.equal(torch.rand(2), expected)
    assert all(
        torch.equal(p, q)
        for p, q in zip(a.state_dict().values(), b.state_dict().values(), strict=True)
    )
