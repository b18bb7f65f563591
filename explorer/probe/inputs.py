"""What a catalog model expects as input: the preprocessing recipe and the names of its classes.

ImageNet models get torchvision's recipe (resize, centre crop, normalise); the project's compact
models were trained on its offline datasets, float images in [0, 1] at their own size and
channel count, so they get no normalisation. Here (not in the UI) so that a notebook feeds a
model exactly what the Feature maps page feeds it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from explorer.data.images import Preprocessing, imagenet_preprocessing
from explorer.models.catalog import ArchSpec, get_spec
from explorer.probe.erf import imagenet_classes


def preprocessing_for(arch: str | ArchSpec, build: Mapping[str, Any] | None = None) -> Preprocessing:
    """The recipe for catalog entry ``arch`` built with ``build`` (a compact model's
    ``image_size`` and ``in_channels``; the catalog's input shape where they are absent)."""
    spec = get_spec(arch) if isinstance(arch, str) else arch
    if not spec.compact and spec.input_shape[0] == 3:
        return imagenet_preprocessing(spec.input_shape[-1])
    # Compact models, and LeNet-5 as published (1 x 32 x 32 digits in [0, 1], like the compact ones).
    build = build or {}
    size = int(build.get("image_size", spec.input_shape[-1]))
    channels = int(build.get("in_channels", spec.input_shape[0]))
    return Preprocessing(size=size, channels=channels, resize=None, name="compact")


def class_names_for(arch: str | ArchSpec) -> tuple[str, ...] | None:
    """The ImageNet category names for a full-size 1000-class model; None otherwise (a compact
    model's classes come with its weights' metadata)."""
    spec = get_spec(arch) if isinstance(arch, str) else arch
    if not spec.compact and spec.num_classes == 1000:
        return imagenet_classes()
    return None
