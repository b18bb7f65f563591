"""Per-channel statistics of feature maps, channel orderings, and the compact copy a page keeps.

One forward pass through :func:`explorer.probe.hooked` gives every layer's maps; this module
turns each into what the explorer shows: statistics (mean, max, variance, share of zeros,
dead channels), an 8-bit rescaled copy for montages, and a float16 copy for hover values
and export. Nothing here keeps float32 activations: a VGG-16 at 224 x 224 would hold
~60 MB of them per image. The one-pass overview (statistics and a few tiles reduced inside the
forward pass, full maps on demand) is :mod:`explorer.probe.overview`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from explorer.probe.capture import LayerInfo, feature_layers, hooked

SORT_KEYS: tuple[str, ...] = ("index", "mean", "max", "variance")
DEFAULT_MAX_TILE = 64  # montage tiles larger than this are average-pooled for display (speed)
MONTAGE_SIDE = 768  # ... and so are tiles of layers with many channels, to keep montages this small
FLOAT16_MAX = 65504.0


@dataclass(frozen=True, eq=False)
class ChannelStats:
    """Statistics of each channel of one C x H x W map (numpy float32 arrays of length C)."""

    mean: np.ndarray
    max: np.ndarray
    min: np.ndarray
    var: np.ndarray
    zero_frac: np.ndarray  # share of positions <= 0: after a ReLU, the units that are off

    @property
    def dead(self) -> np.ndarray:
        """Channels never positive on this image (after a ReLU: zero everywhere)."""
        return self.max <= 0.0

    def key(self, by: str) -> np.ndarray:
        if by == "mean":
            return self.mean
        if by == "max":
            return self.max
        if by == "variance":
            return self.var
        if by == "index":
            return np.arange(len(self.mean), dtype=np.float32)
        raise ValueError(f"Unknown sort key {by!r}; choose one of {', '.join(SORT_KEYS)}.")


def channel_stats(act: torch.Tensor) -> ChannelStats:
    """Statistics per channel of a C x H x W (or 1 x C x H x W) activation."""
    a = act.detach().float()
    if a.dim() == 4:
        a = a[0]
    flat = a.reshape(a.shape[0], -1)  # C x (H * W)
    # amin and amax, not aminmax: on CPU aminmax along a dimension is 10-30x slower than the two
    # vectorised reductions together (torch 2.x; bench_feature_maps shows it in the overview).
    lo, hi = flat.amin(dim=1), flat.amax(dim=1)
    # Two passes (mean, then the norm of the deviations): stable like var_mean and, on CPU,
    # an order of magnitude faster than its one-pass (Welford) kernel.
    mean = flat.mean(dim=1)
    var = torch.linalg.vector_norm(flat - mean[:, None], 2, dim=1).square_() / max(1, flat.shape[1])
    n = max(1, flat.shape[1])
    if bool((lo >= 0).all()):  # after a ReLU: "<= 0" means "== 0", counted without a mask
        # sign() is 0 or 1 here; summing it is ~3x faster than count_nonzero on CPU (exact:
        # float32 counts integers up to 2^24 positions).
        zeros = (n - torch.sign(flat).sum(dim=1)) / n
    else:
        zeros = torch.count_nonzero(flat <= 0, dim=1).float() / n
    return ChannelStats(
        mean=mean.cpu().numpy(),
        max=hi.cpu().numpy(),
        min=lo.cpu().numpy(),
        var=var.cpu().numpy(),
        zero_frac=zeros.cpu().numpy(),
    )


def channel_order(stats: ChannelStats, by: str = "mean", descending: bool = True) -> np.ndarray:
    """Channel indices sorted by ``by`` ("index", "mean", "max", "variance"); ties keep index order."""
    if by == "index":
        return np.arange(len(stats.mean))
    key = stats.key(by).astype(np.float64)
    return np.argsort(-key if descending else key, kind="stable")


@dataclass(frozen=True)
class LayerOverview:
    """Whole-layer numbers for the statistics panel."""

    channels: int
    mean: float
    zero_share: float  # share of all positions <= 0
    dead: int  # channels never positive
    nonnegative: bool  # every value >= 0 (after a ReLU): zero_share then means "switched off"


def layer_overview(stats: ChannelStats) -> LayerOverview:
    return LayerOverview(
        channels=len(stats.mean),
        mean=float(stats.mean.mean()) if len(stats.mean) else 0.0,
        zero_share=float(stats.zero_frac.mean()) if len(stats.mean) else 0.0,
        dead=int(stats.dead.sum()),
        nonnegative=bool((stats.min >= 0).all()),
    )


def rescale_bounds(
    lo: torch.Tensor, hi: torch.Tensor, positions: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The per-channel (lo, hi) a map is rescaled with (the layer's own for 1 x 1 maps)."""
    if positions == 1:
        # 1 x 1 maps (global pooling): one value per channel, so per-channel min-max would
        # paint every tile black; rescale across the layer instead.
        return lo.min().expand(lo.shape[0]), hi.max().expand(hi.shape[0])
    return lo, hi


def _to_uint8(a: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor) -> torch.Tensor:
    """``round((a - lo) / (hi - lo) * 255)`` per channel; constant channels -> 0. C x H x W."""
    mult = torch.where(hi > lo, 255.0 / (hi - lo).clamp_min(1e-30), torch.zeros_like(hi))
    out = (a - lo.view(-1, 1, 1)).mul_(mult.view(-1, 1, 1))
    return out.round_().clamp_(0, 255).to(torch.uint8)


def rescale_uint8(act: torch.Tensor) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """Per-channel min-max rescale of C x H x W to uint8: ``round((v - lo) / (hi - lo) * 255)``.

    A constant channel (hi == lo, e.g. a dead ReLU channel) becomes 0 everywhere. Maps of
    1 x 1 (after global pooling) are rescaled with the layer's min and max instead, so that
    tiles compare channels. Returns (uint8 C x H x W, lo, hi).
    """
    a = act.detach().float()
    flat = a.reshape(a.shape[0], -1)
    lo, hi = flat.amin(dim=1), flat.amax(dim=1)  # faster than aminmax(dim=1), see channel_stats
    lo, hi = rescale_bounds(lo, hi, a.shape[1] * a.shape[2])
    return _to_uint8(a, lo, hi), lo.cpu().numpy(), hi.cpu().numpy()


def tile_factor(
    shape: tuple[int, int, int], max_tile: int = DEFAULT_MAX_TILE, montage_side: int = MONTAGE_SIDE
) -> int:
    """How much a C x H x W map is pooled for its montage tiles (see :func:`layer_maps`)."""
    cols = math.ceil(math.sqrt(shape[0]))
    tile_cap = min(max_tile, max(8, montage_side // cols))
    return max(1, math.ceil(max(shape[1:]) / tile_cap))


def uint8_tiles(a: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, factor: int) -> torch.Tensor:
    """uint8 tiles of C x H x W: average-pooled by ``factor``, rescaled per channel.

    Rescaling is linear, so pooling the raw map first gives the mean of the rescaled block
    values while touching factor^2 fewer pixels.
    """
    src = F.avg_pool2d(a.unsqueeze(0), factor, ceil_mode=True)[0] if factor > 1 else a  # C x h x w
    return _to_uint8(src, lo, hi)


class ShapedLayer:
    """``channels`` and the ``label`` of a record of one layer's C x H x W output."""

    name: str
    type: str
    shape: tuple[int, int, int]  # C x H x W

    @property
    def channels(self) -> int:
        return self.shape[0]

    @property
    def label(self) -> str:
        c, h, w = self.shape
        return f"{self.name} ({self.type}) - {c} x {h} x {w}"


@dataclass(frozen=True, eq=False)
class LayerMaps(ShapedLayer):
    """What the explorer keeps of one layer's output for one image.

    ``tiles`` are the maps rescaled per channel to 0-255 (see :func:`rescale_uint8`); when a
    map is larger than ``max_tile`` it is first average-pooled by ``tile_factor`` (the tile
    pixel is the mean of the rescaled values of its block). ``values`` are the raw values in
    float16 (clipped to +-65504) for hover, overlays and export.
    """

    name: str
    type: str
    note: str
    shape: tuple[int, int, int]  # C x H x W
    values: np.ndarray  # float16 C x H x W
    tiles: np.ndarray  # uint8 C x h x w
    lo: np.ndarray
    hi: np.ndarray
    stats: ChannelStats
    tile_factor: int = 1


def layer_maps(
    info: LayerInfo,
    act: torch.Tensor,
    *,
    max_tile: int = DEFAULT_MAX_TILE,
    montage_side: int = MONTAGE_SIDE,
) -> LayerMaps:
    """Statistics, uint8 tiles and float16 values of one captured 1 x C x H x W map.

    Tiles are at most ``max_tile`` pixels, and small enough that a nearly square montage of
    all channels stays within about ``montage_side`` pixels (a 912-pixel PNG costs ~4 times
    as long to encode as a 456-pixel one, on every switch to that layer).
    """
    a = act.detach()
    if a.dim() == 4:
        a = a[0]
    a = a.float().cpu()  # C x H x W
    stats = channel_stats(a)
    lo, hi = rescale_bounds(
        torch.from_numpy(stats.min), torch.from_numpy(stats.max), a.shape[1] * a.shape[2]
    )
    factor = tile_factor(tuple(a.shape), max_tile, montage_side)  # type: ignore[arg-type]
    tiles = uint8_tiles(a, lo, hi, factor)
    if (
        float(stats.max.max(initial=0.0)) > FLOAT16_MAX
        or float(stats.min.min(initial=0.0)) < -FLOAT16_MAX
    ):
        a = a.clamp(-FLOAT16_MAX, FLOAT16_MAX)
    return LayerMaps(
        name=info.name,
        type=info.type,
        note=info.note,
        shape=tuple(a.shape),  # type: ignore[arg-type]
        values=a.to(torch.float16).numpy(),
        tiles=tiles.numpy(),
        lo=lo.numpy(),
        hi=hi.numpy(),
        stats=stats,
        tile_factor=factor,
    )


class LayersByName:
    """Lookup of a captured layer by name, shared by the full maps and the one-pass overview."""

    layers: list

    def names(self) -> list[str]:
        return [m.name for m in self.layers]

    def get(self, name: str):
        for m in self.layers:
            if m.name == name:
                return m
        raise KeyError(f"No captured layer {name!r}; captured: {', '.join(self.names())}.")


@dataclass(frozen=True, eq=False)
class FeatureMaps(LayersByName):
    """Every feature-map layer of one model on one image, plus its output."""

    layers: list[LayerMaps]
    output: np.ndarray  # float32 logits, 1-D

    @property
    def nbytes(self) -> int:
        return sum(m.values.nbytes + m.tiles.nbytes for m in self.layers) + self.output.nbytes


def compute_feature_maps(
    model: nn.Module,
    x: torch.Tensor,
    layers: Sequence[LayerInfo] | None = None,
    *,
    max_tile: int = DEFAULT_MAX_TILE,
) -> FeatureMaps:
    """One forward pass with the project's hooks; keeps each 4-D layer as :class:`LayerMaps`.

    ``layers`` defaults to :func:`feature_layers` (activations, poolings, blocks); outputs that
    are not C x H x W maps (dense layers, flattened tensors) are left out.
    """
    infos = list(layers) if layers is not None else feature_layers(model)
    was_training = model.training
    model.eval()
    try:
        with hooked(model, [i.name for i in infos]) as store, torch.no_grad():
            out = model(x)
    finally:
        model.train(was_training)
    out_t = out[0] if isinstance(out, (tuple, list)) else out
    kept = [
        layer_maps(i, store[i.name], max_tile=max_tile)
        for i in infos
        if i.name in store and store[i.name].dim() == 4
    ]
    logits = out_t.detach().float().reshape(out_t.shape[0], -1)[0].cpu().numpy()
    return FeatureMaps(layers=kept, output=logits)
