"""The feature space: a layer's features of a dataset, projected to 2-D, and how separable they are.

"Automatic feature extractor + classifier": the layer before the classifier maps each image to a
vector; if the classes separate there, a linear classifier suffices. This module computes those
vectors (any layer, a spatial map pooled by its spatial mean), projects them to 2-D the way
TensorBoard's embedding projector does (PCA; t-SNE with scikit-learn; UMAP only where the
``umap-learn`` package is installed) and measures separability with a linear probe: a logistic
regression trained on part of the features and scored on the rest (Alain & Bengio,
"Understanding intermediate layers using linear classifier probes", 2016). Every result is
deterministic for a seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from explorer.probe.capture import hooked, layer_infos
from explorer.probe.feature_vis import FeatureVisError

METHODS = ("pca", "tsne", "umap")


def umap_available() -> bool:
    """True when the optional ``umap-learn`` package can be imported."""
    try:
        import umap  # noqa: F401
    except Exception:
        return False
    return True


def methods() -> list[str]:
    """The projections to offer: PCA, t-SNE, and UMAP where umap-learn is installed."""
    return ["pca", "tsne"] + (["umap"] if umap_available() else [])


def layer_choices(model: nn.Module) -> list[str]:
    """The layers whose (pooled) output can be projected: every listed layer but Flatten and Dropout."""
    return [i.name for i in layer_infos(model) if i.type not in ("Flatten", "Dropout")]


def default_layer(model: nn.Module) -> str:
    """The penultimate layer: the last layer before the final dense layer (its input features)."""
    infos = [i for i in layer_infos(model) if i.type not in ("Flatten", "Dropout")]
    linear = [k for k, i in enumerate(infos) if i.role == "linear"]
    if not linear or linear[-1] == 0:
        raise FeatureVisError(
            "This model has no layer before a final dense layer; choose a layer for the features."
        )
    return infos[linear[-1] - 1].name


def features(
    model: nn.Module,
    images: torch.Tensor,
    layer: str | None = None,
    *,
    batch_size: int = 256,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
) -> np.ndarray:
    """N x D float32 features of ``layer`` (default: :func:`default_layer`) for N x C x H x W
    images in [0, 1]; a spatial map is averaged over its positions (global average pooling)."""
    layer = layer or default_layer(model)
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    out: list[torch.Tensor] = []
    was_training = model.training
    model.eval()
    try:
        with hooked(model, [layer]) as store, torch.no_grad():
            for start in range(0, int(images.shape[0]), batch_size):
                x = images[start : start + batch_size].to(device, torch.float32)
                if mean is not None and std is not None:
                    m = torch.tensor(mean, device=device)[:, None, None]
                    x = (x - m) / torch.tensor(std, device=device)[:, None, None]
                model(x)
                a = store.pop(layer).float()
                out.append((a.mean(dim=(2, 3)) if a.dim() == 4 else a.flatten(1)).cpu())
    finally:
        model.train(was_training)
    return torch.cat(out).numpy() if out else np.zeros((0, 0), np.float32)


def check_projection(n: int, method: str, perplexity: float = 30.0) -> None:
    """Raise :class:`FeatureVisError` (one message) when ``n`` points cannot be projected by ``method``."""
    if method not in METHODS:
        raise FeatureVisError(f"Unknown projection {method!r}: use one of {', '.join(METHODS)}.")
    if method == "umap" and not umap_available():
        raise FeatureVisError(
            "UMAP needs the optional package umap-learn, which is not installed: use PCA or t-SNE."
        )
    if n < 3:
        raise FeatureVisError(f"A 2-D projection needs at least 3 images; the dataset has {n}.")
    if method == "tsne" and perplexity >= n:
        raise FeatureVisError(
            f"t-SNE needs more images than its perplexity: {n} images, perplexity {perplexity:g}. "
            f"Use at least {int(perplexity) + 1} images or a smaller perplexity."
        )


def project(
    feats: np.ndarray, method: str = "pca", *, seed: int = 0, perplexity: float = 30.0
) -> np.ndarray:
    """N x 2 float32 coordinates of N x D features; the same for the same seed."""
    feats = np.asarray(feats, dtype=np.float32)
    check_projection(len(feats), method, perplexity)
    if method == "pca":
        centred = feats - feats.mean(axis=0, keepdims=True)
        # an exact SVD (small D): deterministic, signs fixed so the largest loading is positive
        u, s, vt = np.linalg.svd(centred, full_matrices=False)
        signs = np.sign(vt[np.arange(vt.shape[0]), np.abs(vt).argmax(axis=1)])
        signs[signs == 0] = 1
        coords = (u * s * signs)[:, :2]
        return np.pad(coords, ((0, 0), (0, 2 - coords.shape[1]))).astype(np.float32)
    if method == "tsne":
        from sklearn.manifold import TSNE

        return (
            TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed)
            .fit_transform(feats)
            .astype(np.float32)
        )
    import umap

    return umap.UMAP(n_components=2, random_state=seed).fit_transform(feats).astype(np.float32)


def linear_probe(
    feats: np.ndarray,
    labels: np.ndarray | torch.Tensor,
    *,
    test_fraction: float = 0.3,
    seed: int = 0,
) -> float:
    """Test accuracy in [0, 1] of a logistic regression on standardised features (stratified split)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    y = np.asarray(labels).reshape(-1)
    counts = np.unique(y, return_counts=True)[1]
    if len(counts) < 2 or counts.min() < 2:
        raise FeatureVisError(
            "A linear probe needs at least two classes with at least two images each."
        )
    x_tr, x_te, y_tr, y_te = train_test_split(
        np.asarray(feats), y, test_size=test_fraction, random_state=seed, stratify=y
    )
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    clf.fit(x_tr, y_tr)
    return float(clf.score(x_te, y_te))


@dataclass(frozen=True)
class FeatureSpace:
    """A projected dataset: 2-D points, their labels, the method and the probe's accuracy."""

    points: np.ndarray  # N x 2
    labels: np.ndarray  # N
    classes: tuple[str, ...]
    layer: str
    method: str
    probe_accuracy: float


def feature_space(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    classes: Sequence[str],
    *,
    layer: str | None = None,
    method: str = "pca",
    seed: int = 0,
    perplexity: float = 30.0,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
) -> FeatureSpace:
    """Features of ``layer`` for the images, their 2-D projection and the linear-probe accuracy."""
    check_projection(int(images.shape[0]), method, perplexity)
    layer = layer or default_layer(model)
    feats = features(model, images, layer, mean=mean, std=std)
    y = np.asarray(labels).reshape(-1)
    return FeatureSpace(
        project(feats, method, seed=seed, perplexity=perplexity),
        y,
        tuple(classes),
        layer,
        method,
        linear_probe(feats, y, seed=seed),
    )


def random_twin(arch: str, build: dict | None = None, seed: int = 0) -> nn.Module:
    """The same architecture at a seeded random initialisation (local generator, global RNG
    untouched): the "before training" side of a before/after comparison."""
    from explorer.models.catalog import get_spec
    from explorer.models.init import build_seeded

    spec = get_spec(arch)
    return build_seeded(lambda: spec.build(**(build or {})), seed).eval()
