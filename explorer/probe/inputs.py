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
from explorer.models.catalog import get_spec
from explorer.models.catalog_types import ArchSpec
from explorer.probe.erf import imagenet_classes


def preprocessing_for(
    arch: str | ArchSpec, build: Mapping[str, Any] | None = None
) -> Preprocessing:
    """The recipe for catalog entry ``arch`` built with ``build`` (a compact model's
    ``image_size`` and ``in_channels``; the catalog's input shape where they are absent)."""
    spec = get_spec(arch) if isinstance(arch, str) else arch
    own = own_preprocessing(spec.key)  # an imported model: its own size, channels and scaling
    if own is not None:
        return own
    if not spec.compact and spec.input_shape[0] == 3:
        return imagenet_preprocessing(spec.input_shape[-1])
    # Compact models, and LeNet-5 as published (1 x 32 x 32 digits in [0, 1], like the compact ones).
    build = build or {}
    size = int(build.get("image_size", spec.input_shape[-1]))
    channels = int(build.get("in_channels", spec.input_shape[0]))
    return Preprocessing(size=size, channels=channels, resize=None, name="compact")


def own_preprocessing(key: str) -> Preprocessing | None:
    """An imported model's input (explorer.models.imported_entry): its size and channels, pixels 0-1, or
    0-255 when it rescales them itself (a ``Rescaling(1/255)`` first); None for a catalog key."""
    from explorer.models.imported_entry import ENTRIES

    entry = ENTRIES.get(key)
    if entry is None:
        return None
    c, h, _ = entry.spec.input_shape
    if entry.pixel_range[1] > 1.5:
        top = entry.pixel_range[1]
        return Preprocessing(
            size=h,
            channels=c,
            mean=(0.0,) * c,
            std=(1.0 / top,) * c,
            name="model's own (it rescales 0-255 pixel values itself)",
        )
    return Preprocessing(size=h, channels=c, name="model's own (pixels 0-1)")


def class_names_for(arch: str | ArchSpec) -> tuple[str, ...] | None:
    """The ImageNet category names for a full-size 1000-class model; None otherwise (a compact
    model's classes come with its weights' metadata)."""
    spec = get_spec(arch) if isinstance(arch, str) else arch
    if not spec.compact and spec.num_classes == 1000:
        return imagenet_classes()
    return None
