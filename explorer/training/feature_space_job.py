"""Feature spaces side by side, as a background job: an importable target with plain, picklable
arguments, so any backend of explorer.training.job_manager can run it (the app runs it in a
worker process of its analysis manager, explorer.ui.feature_space_panel).

Each model travels as a *recipe* the job rebuilds, so no live model crosses the boundary:

- ``{"arch", "build", "state"}`` or ``{"arch", "build", "imagenet": True}``: trained weights, as
  :func:`explorer.probe.feature_vis_job.model_payload` makes them;
- ``{"arch", "build", "seed"}``: the same architecture at its seeded random initialisation (what a
  Training run started from: ``explorer.training.fit.build_model`` draws with the run's seed);
- ``{"source": SourceWeights, "num_classes", "in_channels"}``: pretrained weights with a new
  head, as the transfer panel fine-tunes them (:func:`build_transfer_model`);
- ``{"scratch": arch, "in_channels", "num_classes", "image_size", "seed"}``: the transfer
  panel's "from scratch" twin at its seeded random initialisation.

The images are the test split of an offline (or downloaded) dataset, converted as the first
model's run converts them (resized to the source's input size, or to ImageNet's input). The
return value is a :class:`SpaceResult`: (title, :class:`FeatureSpace`) per model, every space on
the layer of the first, and the test images as thumbnails.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from explorer.probe import feature_space as fs
from explorer.probe.feature_vis import FeatureVisError

TARGET = "explorer.training.feature_space_job:run_feature_spaces"


@dataclass(frozen=True)
class SpaceRequest:
    """What to compare: ``key`` names it (a run; a source and a target) for a cache; ``models``
    are (title, recipe) and ``data`` the test images, as :func:`run_feature_spaces` takes them;
    ``layers`` the layers a page may offer (empty: the penultimate only)."""

    key: str
    models: tuple[tuple[str, dict[str, Any]], ...]
    data: dict[str, Any]
    title: str
    layers: tuple[str, ...] = ()
    default_layer: str | None = None


@dataclass(frozen=True)
class SpaceResult:
    """What the job returns: the spaces, and the test images (N x H x W x C uint8, as the dataset
    has them, before any resizing) so that a page can show the image of a clicked point."""

    spaces: list[tuple[str, fs.FeatureSpace]]
    images: np.ndarray


def thumbnails(images: torch.Tensor) -> np.ndarray:
    """N x C x H x W images in [0, 1] -> N x H x W x C uint8."""
    return (images.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


@dataclass(frozen=True)
class SpaceProgress:
    """One step of the job: ``done`` of ``total`` models, and what happens now."""

    done: int
    total: int
    message: str


def build(recipe: Mapping[str, Any], device: str = "cpu") -> nn.Module:
    """The model a recipe (see the module docstring) describes, in eval mode on ``device``."""
    if "source" in recipe:
        from explorer.training.transfer_weights import build_transfer_model

        model = build_transfer_model(
            recipe["source"], int(recipe["num_classes"]), int(recipe["in_channels"])
        )[0]
    elif "scratch" in recipe:
        from explorer.models.init import seeded_init
        from explorer.training.transfer import scratch_model

        model, _ = scratch_model(
            recipe["scratch"],
            int(recipe["in_channels"]),
            int(recipe["num_classes"]),
            int(recipe["image_size"]),
        )
        seeded_init(model, int(recipe["seed"]))
    elif "seed" in recipe:
        model = fs.random_twin(recipe["arch"], recipe["build"], seed=int(recipe["seed"]))
    else:
        from explorer.probe.feature_vis_job import _rebuild

        return _rebuild(recipe, device)
    return model.to(device).eval()


def load_test_images(
    data: Mapping[str, Any],
) -> tuple[torch.Tensor, torch.Tensor, tuple[str, ...], tuple | None, tuple | None, np.ndarray]:
    """(images, labels, classes, mean, std, thumbnails) of a data spec: ``dataset`` key, ``n`` test images,
    ``seed``, ``difficulty``; optional ``size`` (resize) or ``imagenet`` (224 px, RGB, ImageNet's
    normalisation, as :func:`explorer.training.transfer.to_imagenet_input`)."""
    from explorer.data.datasets import load_dataset
    from explorer.training.transfer import resize_splits, to_imagenet_input

    splits = load_dataset(
        data["dataset"],
        seed=int(data.get("seed", 0)),
        difficulty=float(data.get("difficulty", 0.5)),
        sizes=(1, 1, int(data["n"])),
    )
    shown = thumbnails(splits.x_test)
    if data.get("imagenet"):
        splits = to_imagenet_input(splits)  # normalised here: no mean / std for the features
    elif data.get("size"):
        splits = resize_splits(splits, int(data["size"]))
    mean, std = data.get("mean"), data.get("std")
    return splits.x_test, splits.y_test, tuple(splits.classes), mean, std, shown


def spaces(
    models: Sequence[tuple[str, nn.Module]],
    images: torch.Tensor,
    labels: torch.Tensor,
    classes: Sequence[str],
    *,
    layer: str | None = None,
    method: str = "pca",
    seed: int = 0,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
) -> list[tuple[str, fs.FeatureSpace]]:
    """The feature space of each (title, model) on the same images; ``layer`` defaults to the
    first model's penultimate layer, and every model is read at that layer (the same network)."""
    fs.check_projection(int(images.shape[0]), method)
    out: list[tuple[str, fs.FeatureSpace]] = []
    for title, model in models:
        space = fs.feature_space(
            model,
            images,
            labels,
            classes,
            layer=layer,
            method=method,
            seed=seed,
            mean=mean,
            std=std,
        )
        layer = space.layer
        out.append((title, space))
    return out


def run_feature_spaces(
    models: Sequence[tuple[str, Mapping[str, Any]]],
    data: Mapping[str, Any],
    layer: str | None = None,
    method: str = "pca",
    seed: int = 0,
    device: str = "cpu",
    should_stop: Callable[[], bool] | None = None,
) -> Generator[SpaceProgress, None, SpaceResult]:
    """Job target: load the images, rebuild each model, project its features; yield progress,
    return a :class:`SpaceResult`. Stop ends it between two models (FeatureVisError)."""
    total = len(models)
    yield SpaceProgress(0, total, f"Loading {data['n']} test images of '{data['dataset']}'...")
    x, y, classes, mean, std, shown = load_test_images(data)
    fs.check_projection(int(x.shape[0]), method)
    out: list[tuple[str, fs.FeatureSpace]] = []
    for i, (title, recipe) in enumerate(models):
        if should_stop is not None and should_stop():
            raise FeatureVisError("The feature space was stopped before it was complete.")
        yield SpaceProgress(i, total, f"Features of '{title}' ({i + 1} of {total})...")
        model = build(recipe, device)
        # one model at a time in memory
        kw = {"layer": layer, "method": method, "seed": seed, "mean": mean, "std": std}
        out += spaces([(title, model)], x, y, classes, **kw)
        layer = out[-1][1].layer
    yield SpaceProgress(total, total, "Done.")
    return SpaceResult(out, shown)


def before_after(job_id: int | str, result: Any, n: int = 300) -> SpaceRequest:
    """A finished Training run (a :class:`explorer.training.fit.FitResult`) against its own random
    initialisation (the architecture drawn with the run's seed, as ``fit.build_model`` draws it),
    on ``n`` test images of its dataset; :class:`FeatureVisError` says why not, in a sentence."""
    from explorer.data.datasets import DATASETS
    from explorer.probe.feature_vis_job import model_payload

    s = result.settings
    if s is None or result.arch is None or result.spec_json:
        raise FeatureVisError("The feature space is shown for runs of the catalog's models.")
    if s.source:
        raise FeatureVisError(
            "This run started from trained weights, not from a random initialisation: for it, "
            "the comparison is pretrained features against features learnt from scratch."
        )
    if result.dataset not in DATASETS:
        raise FeatureVisError(
            "The feature space is shown for runs on the built-in datasets, not on your own images."
        )
    layers, default = fs.layer_choices(result.model), fs.default_layer(result.model)
    models = (
        (
            f"Before training (random initialisation, seed {s.seed})",
            {"arch": result.arch, "build": dict(result.build), "seed": s.seed},
        ),
        ("After training", model_payload(result.arch, result.build, result.model)),
    )
    data = {"dataset": result.dataset, "n": n, "seed": s.seed, "difficulty": s.difficulty}
    title = f"Feature space of run {job_id}"
    return SpaceRequest(f"run{job_id}", models, data, title, tuple(layers), default)


def pretrained_vs_scratch(
    source: Any, target: str, n: int = 300, n_imagenet: int = 120
) -> SpaceRequest:
    """The transfer panel's comparison: ``target``'s test images through the pretrained
    ``source`` (a :class:`SourceWeights`, with a new head) and through the same architecture at
    a seeded random initialisation; images converted as the transfer run converts them
    (``n_imagenet`` of them for an ImageNet source: each is a 224 px forward pass, twice)."""
    from explorer.data.datasets import DATASETS
    from explorer.training.transfer import DEFAULT_PAIR, source_image_size

    info = DATASETS[target]
    num_classes = 1 if info.task == "binary" else len(info.classes)
    imagenet = source.kind == "imagenet"
    size = source_image_size(source)
    data = {"dataset": target, "n": n_imagenet if imagenet else n, "seed": 0}
    data |= {"difficulty": DEFAULT_PAIR["settings"]["difficulty"], "imagenet": imagenet}
    data |= {"size": None if imagenet else size}
    scratch = {"scratch": source.arch, "num_classes": num_classes, "image_size": size, "seed": 0}
    models = (
        (
            "Pretrained: " + source.describe(),
            {"source": source, "num_classes": num_classes, "in_channels": info.input_shape[0]},
        ),
        (
            "From scratch: random initialisation",
            scratch | {"in_channels": 3 if imagenet else info.input_shape[0]},
        ),
    )
    # the source by what names it (a user's model: its title holds its name), and the target
    key = f"xf|{source.kind}|{source.arch}|{source.title}|{source.dataset}|{target}"
    return SpaceRequest(key, models, data, f"Feature spaces: {source.arch} on {info.title}")
