"""What in the data excites a channel: its top-k images and the patch each one's best unit sees.

Zeiler & Fergus, "Visualizing and Understanding Convolutional Networks" (ECCV 2014) show, for
each feature map, the dataset patches that activate it most. Here one pass over a dataset (in
batches, as a generator of progress events) keeps, for *every* channel of a layer at once,
the k largest activations, which image they came from and where (row, col) in the map; a later
question about any channel is then a lookup. The patch is the unit's receptive field as
:mod:`explorer.probe.receptive_field` computes it (through :func:`explorer.probe.summary.summarize`),
clipped to the image.

The images come from anywhere as one N x C x H x W tensor in [0, 1]: an offline dataset
(:func:`dataset_images`), the user's image set or the sample photos, preprocessed by the caller.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import nn

from explorer.probe.fast_pass import LayerPass
from explorer.probe.feature_vis import FeatureVisError
from explorer.probe.receptive_field import Field

if TYPE_CHECKING:
    from explorer.data.images import Preprocessing


@dataclass(frozen=True)
class Example:
    """One of a channel's top images: its index in the dataset, the activation and where."""

    index: int
    value: float
    row: int
    col: int
    box: tuple[int, int, int, int]  # (top, left, bottom, right), inclusive, clipped to the image


@dataclass
class TopExamples:
    """Per channel of ``layer``: the k largest activations over a dataset (C x k each)."""

    layer: str
    values: torch.Tensor  # C x k, descending
    indices: torch.Tensor  # C x k, image index in the dataset
    positions: torch.Tensor  # C x k x 2, (row, col) of the unit in the map
    field: Field
    image_hw: tuple[int, int]
    unit: tuple[int, int] | None = None  # set: every value is that one unit's, not the map's max

    @property
    def channels(self) -> int:
        return int(self.values.shape[0])

    def crop_box(self, row: int, col: int) -> tuple[int, int, int, int]:
        """The receptive field of unit (row, col), clipped to the image: (top, left, bottom, right),
        inclusive; a half-pixel edge (even kernels) is rounded inwards, as the Feature maps page's
        ``explorer.viz.maps.clip_box`` does."""
        top, left, bottom, right = self.field.box(row, col)
        h, w = self.image_hw
        if self.field.is_global:
            return 0, 0, h - 1, w - 1
        return (
            max(0, math.ceil(top)),
            max(0, math.ceil(left)),
            min(h - 1, math.floor(bottom)),
            min(w - 1, math.floor(right)),
        )

    def top(self, channel: int) -> list[Example]:
        """The channel's examples, the strongest first."""
        if not 0 <= channel < self.channels:
            raise FeatureVisError(
                f"Channel {channel} is out of range: layer {self.layer!r} has {self.channels} channels "
                f"(0 to {self.channels - 1})."
            )
        out = []
        for v, i, (r, c) in zip(
            self.values[channel].tolist(),
            self.indices[channel].tolist(),
            self.positions[channel].tolist(),
            strict=True,
        ):
            out.append(Example(int(i), float(v), int(r), int(c), self.crop_box(int(r), int(c))))
        return out


def crop(image: torch.Tensor, box: tuple[int, int, int, int]) -> torch.Tensor:
    """The C x h x w patch of a C x H x W image inside an inclusive box."""
    top, left, bottom, right = box
    return image[:, top : bottom + 1, left : right + 1]


@dataclass(frozen=True)
class ExamplesProgress:
    """A progress event: images done out of total; the result on the last one."""

    done: int
    total: int
    result: TopExamples | None = None


def layer_field(model: nn.Module, layer: str, input_shape: Sequence[int]) -> Field:
    """The receptive field of ``layer``'s units, by the engine's tracker (summarize)."""
    from explorer.probe.summary import summarize

    fields = summarize(model, tuple(input_shape)).fields
    if layer not in fields:
        raise FeatureVisError(
            f"Layer {layer!r} has no spatial output, so its units have no receptive field: "
            "pick a convolution, activation, pooling or block layer."
        )
    return fields[layer]


def _per_image(
    act: torch.Tensor, unit: tuple[int, int] | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """B x C x H x W -> (C x B values, C x B x 2 positions): each map's max (or one unit), on
    the CPU; on equal values the first position in row-major order."""
    b, c, h, w = act.shape
    if unit is not None:
        values = act[:, :, unit[0], unit[1]].float()
        pos = torch.tensor(unit).expand(c, b, 2)
        return values.T.cpu(), pos
    values, flat = act.float().flatten(2).max(dim=2)
    pos = torch.stack([flat // w, flat % w], dim=-1)
    return values.T.cpu(), pos.transpose(0, 1).cpu()


class _RunningTop:
    """Every channel's k largest values so far, with their image index and position."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.values = self.indices = self.positions = None

    def add(self, values: torch.Tensor, positions: torch.Tensor, first: int) -> None:
        """Merge a batch (C x B values, C x B x 2 positions; images ``first``...)."""
        idx = torch.arange(first, first + values.shape[1]).expand_as(values)
        if self.values is not None:
            values = torch.cat([self.values, values], 1)
            idx = torch.cat([self.indices, idx], 1)
            positions = torch.cat([self.positions, positions], 1)
        # stable sort: on equal values the earlier (lower-index) image stays first
        order = torch.sort(values, dim=1, descending=True, stable=True).indices[:, : self.k]
        self.values, self.indices = values.gather(1, order), idx.gather(1, order)
        self.positions = positions.gather(1, order[..., None].expand(-1, -1, 2))


def top_examples(
    model: nn.Module,
    images: torch.Tensor,
    layer: str,
    *,
    k: int = 9,
    batch_size: int = 256,
    unit: tuple[int, int] | None = None,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
) -> Iterator[ExamplesProgress]:
    """One pass over ``images`` (N x C x H x W in [0, 1]) keeping every channel's top ``k``;
    yields progress per batch, the last event with the :class:`TopExamples`.

    The value of an image for a channel is the largest activation of its map (or the value of
    ``unit`` (row, col) when given). Ties keep the lower image index. ``mean``/``std``
    normalise each batch on the way in (ImageNet models). The pass runs on a fast private copy
    of the model that stops at ``layer`` (:class:`explorer.probe.fast_pass.LayerPass`); each
    batch is reduced to C numbers per image inside the forward pass, and only the running top
    ``k`` is kept. Closing the generator (a cancelled run) leaves the model untouched.
    """
    n = int(images.shape[0])
    if n < 1:
        raise FeatureVisError("The image set is empty: dataset examples need at least one image.")
    field = layer_field(model, layer, tuple(images.shape[1:]))
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    norm = None
    if mean is not None and std is not None:
        norm = (
            torch.tensor(mean, device=device)[:, None, None],
            torch.tensor(std, device=device)[:, None, None],
        )
    run = LayerPass(model, layer, lambda act: _per_image(act, unit))
    best = _RunningTop(min(k, n))
    for start in range(0, n, batch_size):
        x = images[start : start + batch_size].to(device, torch.float32)
        if norm is not None:
            x = (x - norm[0]) / norm[1]
        reduced = run(x)
        if reduced is None:
            raise FeatureVisError(f"Layer {layer!r} did not run in the forward pass.")
        best.add(*reduced, start)
        yield ExamplesProgress(min(start + batch_size, n), n)
    hw = (int(images.shape[-2]), int(images.shape[-1]))
    result = TopExamples(
        layer, best.values.clone(), best.indices.clone(), best.positions.clone(), field, hw, unit
    )
    yield ExamplesProgress(n, n, result)


def compute(events: Iterator[ExamplesProgress]) -> TopExamples:
    """Drive :func:`top_examples` to its end; the result."""
    for event in events:
        if event.result is not None:
            return event.result
    raise FeatureVisError("The dataset pass ended without a result.")


def dataset_images(
    key: str, *, split: str = "test", n: int = 1000, seed: int = 0, difficulty: float = 0.5
) -> tuple[torch.Tensor, torch.Tensor, tuple[str, ...]]:
    """``n`` images, labels and class names of an offline (or downloaded) dataset's split."""
    from explorer.data.datasets import load_dataset

    sizes = {"train": (n, 1, 1), "val": (1, n, 1), "test": (1, 1, n)}[split]
    data = load_dataset(key, seed=seed, sizes=sizes, difficulty=difficulty)
    return getattr(data, f"x_{split}"), getattr(data, f"y_{split}"), data.classes


def images_within(budget_bytes: int, numel: int, most: int, least: int = 1) -> int:
    """How many float32 images of ``numel`` values fit in ``budget_bytes``: between ``least``
    and ``most`` (a pass over ImageNet-size images searches fewer of them)."""
    return max(least, min(most, budget_bytes // (4 * max(1, numel))))


def fit_images(images: torch.Tensor, channels: int, size: int) -> torch.Tensor:
    """N x 3 x H x W RGB images in [0, 1] as a model's input: ``channels`` (1: BT.601 luma, as
    :func:`explorer.data.images.preprocess` does) at ``size`` x ``size`` (bilinear, antialiased)."""
    from explorer.data.images import GREY_WEIGHTS

    x = images.float()
    if channels == 1 and x.shape[1] == 3:
        x = torch.einsum("nchw,c->nhw", x, torch.tensor(GREY_WEIGHTS))[:, None]
    if tuple(x.shape[-2:]) != (size, size):
        x = torch.nn.functional.interpolate(
            x, size=(size, size), mode="bilinear", antialias=True, align_corners=False
        ).clamp(0, 1)
    return x.contiguous()


def own_images(folder: str, channels: int, size: int, n: int = 1000) -> torch.Tensor:
    """The first ``n`` images (train, validation, then test split) of a user's image set
    (:mod:`explorer.data.image_sets`, its per-browser folder) fitted to a model's input."""
    from explorer.data.image_sets import load_own

    data = load_own(folder)
    x = torch.cat([data.x_train, data.x_val, data.x_test])[:n]
    return fit_images(x, channels, size)


def sample_images(prep: Preprocessing) -> tuple[torch.Tensor, tuple[str, ...]]:
    """Every sample photo of this machine (:mod:`explorer.data.samples`) through a model's
    preprocessing ``prep`` as an upload would go, without its normalisation (N x C x H x W in
    [0, 1]); and their names."""
    from dataclasses import replace

    from explorer.data.images import preprocess
    from explorer.data.samples import list_samples, load_sample

    plain = replace(prep, mean=None, std=None)
    names = tuple(s.name for s in list_samples())
    return torch.cat([preprocess(load_sample(name), plain).x for name in names]), names


def matching_dataset(input_shape: Sequence[int]) -> str | None:
    """An offline dataset whose images have exactly ``input_shape`` (C x H x W): a bundled
    model's own; None for ImageNet-size models."""
    from explorer.data.datasets import DATASETS

    shape = tuple(int(v) for v in input_shape)
    return next(
        (k for k, d in DATASETS.items() if d.offline and tuple(d.input_shape) == shape), None
    )
