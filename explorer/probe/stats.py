"""Per-channel statistics of feature maps, channel orderings, and the compact copy a page keeps.

One forward pass through :func:`explorer.probe.hooked` gives every layer's maps; this module
turns each into what the explorer shows: statistics (mean, max, variance, share of zeros,
dead channels), an 8-bit rescaled copy for montages, and a float16 copy for hover values
and export. Nothing here keeps float32 activations: a VGG-16 at 224 x 224 would hold
~60 MB of them per image.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
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
    lo, hi = torch.aminmax(flat, dim=1)  # one pass for both
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
        mean=mean.cpu().numpy(), max=hi.cpu().numpy(), min=lo.cpu().numpy(),
        var=var.cpu().numpy(), zero_frac=zeros.cpu().numpy(),
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


def _rescale_bounds(lo: torch.Tensor, hi: torch.Tensor, positions: int) -> tuple[torch.Tensor, torch.Tensor]:
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
    lo, hi = torch.aminmax(a.reshape(a.shape[0], -1), dim=1)
    lo, hi = _rescale_bounds(lo, hi, a.shape[1] * a.shape[2])
    return _to_uint8(a, lo, hi), lo.cpu().numpy(), hi.cpu().numpy()


def tile_factor(shape: tuple[int, int, int], max_tile: int = DEFAULT_MAX_TILE,
                montage_side: int = MONTAGE_SIDE) -> int:  # fmt: skip
    """How much a C x H x W map is pooled for its montage tiles (see :func:`layer_maps`)."""
    cols = math.ceil(math.sqrt(shape[0]))
    tile_cap = min(max_tile, max(8, montage_side // cols))
    return max(1, math.ceil(max(shape[1:]) / tile_cap))


def _tiles(a: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, factor: int) -> torch.Tensor:
    """uint8 tiles of C x H x W: average-pooled by ``factor``, rescaled per channel.

    Rescaling is linear, so pooling the raw map first gives the mean of the rescaled block
    values while touching factor^2 fewer pixels.
    """
    src = F.avg_pool2d(a.unsqueeze(0), factor, ceil_mode=True)[0] if factor > 1 else a  # C x h x w
    return _to_uint8(src, lo, hi)


@dataclass(frozen=True, eq=False)
class LayerMaps:
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

    @property
    def channels(self) -> int:
        return self.shape[0]

    @property
    def label(self) -> str:
        c, h, w = self.shape
        return f"{self.name} ({self.type}) - {c} x {h} x {w}"


def layer_maps(
    info: LayerInfo, act: torch.Tensor, *, max_tile: int = DEFAULT_MAX_TILE, montage_side: int = MONTAGE_SIDE
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
    lo, hi = _rescale_bounds(torch.from_numpy(stats.min), torch.from_numpy(stats.max), a.shape[1] * a.shape[2])
    factor = tile_factor(tuple(a.shape), max_tile, montage_side)  # type: ignore[arg-type]
    tiles = _tiles(a, lo, hi, factor)
    if float(stats.max.max(initial=0.0)) > FLOAT16_MAX or float(stats.min.min(initial=0.0)) < -FLOAT16_MAX:
        a = a.clamp(-FLOAT16_MAX, FLOAT16_MAX)
    return LayerMaps(
        name=info.name, type=info.type, note=info.note, shape=tuple(a.shape),  # type: ignore[arg-type]
        values=a.to(torch.float16).numpy(), tiles=tiles.numpy(), lo=lo.numpy(), hi=hi.numpy(),
        stats=stats, tile_factor=factor,
    )


class _LayersByName:
    """Lookup of a captured layer by name, shared by the full maps and the one-pass overview."""

    layers: list

    def names(self) -> list[str]:
        return [m.name for m in self.layers]

    def get(self, name: str):  # noqa: ANN201 (LayerMaps or LazyLayerMaps, as the owner holds)
        for m in self.layers:
            if m.name == name:
                return m
        raise KeyError(f"No captured layer {name!r}; captured: {', '.join(self.names())}.")


@dataclass(frozen=True, eq=False)
class FeatureMaps(_LayersByName):
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
    kept = [layer_maps(i, store[i.name], max_tile=max_tile)
            for i in infos if i.name in store and store[i.name].dim() == 4]
    logits = out_t.detach().float().reshape(out_t.shape[0], -1)[0].cpu().numpy()
    return FeatureMaps(layers=kept, output=logits)


# --------------------------------------------------------------------------- one-pass overview

STRIP_CHANNELS = 8  # channels in a layer's overview strip


@dataclass(frozen=True, eq=False)
class LayerSummary:
    """What the overview needs of one layer, reduced inside the forward pass: statistics and
    the montage tiles of its strongest channels (by mean), nothing else."""

    name: str
    type: str
    note: str
    shape: tuple[int, int, int]  # C x H x W
    stats: ChannelStats
    top: np.ndarray  # channel indices, strongest mean first (= channel_order(stats, "mean")[:k])
    top_tiles: np.ndarray  # uint8 k x h x w, the same pixels as the full montage tiles of ``top``

    @property
    def channels(self) -> int:
        return self.shape[0]

    @property
    def label(self) -> str:
        c, h, w = self.shape
        return f"{self.name} ({self.type}) - {c} x {h} x {w}"


def summarise_map(info: LayerInfo, act: torch.Tensor, k: int = STRIP_CHANNELS) -> LayerSummary:
    """Statistics and the top-``k`` tiles of one 1 x C x H x W (or C x H x W) map.

    Reads ``act`` and returns new arrays only, so it is safe inside a forward hook on a
    tensor that an in-place ReLU will overwrite later.
    """
    a = act[0] if act.dim() == 4 else act
    a = a.float()  # C x H x W (a new tensor only when the dtype changes; never kept)
    stats = channel_stats(a)
    lo, hi = _rescale_bounds(torch.from_numpy(stats.min), torch.from_numpy(stats.max), a.shape[1] * a.shape[2])
    top = channel_order(stats, "mean")[:k]
    index = torch.from_numpy(top.copy())
    factor = tile_factor(tuple(a.shape))  # type: ignore[arg-type]
    tiles = _tiles(a[index.to(a.device)].cpu(), lo[index], hi[index], factor)  # k x h x w
    return LayerSummary(name=info.name, type=info.type, note=info.note, shape=tuple(a.shape),  # type: ignore[arg-type]
                        stats=stats, top=top, top_tiles=tiles.numpy())  # fmt: skip


class LazyLayerMaps:
    """A layer of :class:`FeatureOverview`: the summary now, the full maps when first asked.

    ``name, type, note, shape, stats, channels, label`` come from the summary; ``values,
    tiles, lo, hi, tile_factor`` trigger the overview's one full capture (for every layer).
    """

    def __init__(self, summary: LayerSummary, owner: FeatureOverview) -> None:
        self.summary = summary
        self._owner = owner
        self.name, self.type, self.note = summary.name, summary.type, summary.note
        self.shape, self.stats = summary.shape, summary.stats

    channels = LayerSummary.channels
    label = LayerSummary.label

    def _full(self) -> LayerMaps:
        return self._owner.full().get(self.name)

    @property
    def values(self) -> np.ndarray:
        return self._full().values

    @property
    def tiles(self) -> np.ndarray:
        return self._full().tiles

    @property
    def lo(self) -> np.ndarray:
        return self._full().lo

    @property
    def hi(self) -> np.ndarray:
        return self._full().hi

    @property
    def tile_factor(self) -> int:
        return self._full().tile_factor


class FeatureOverview(_LayersByName):
    """Every feature-map layer of one model on one image, summarised in one forward pass.

    Behaves like :class:`FeatureMaps` (``layers, output, names(), get(), nbytes``); the full
    maps (float16 values and all tiles) are captured by ``load()`` the first time a view
    needs them, and kept.
    """

    def __init__(self, summaries: list[LayerSummary], output: np.ndarray,
                 load: Callable[[], FeatureMaps]) -> None:  # fmt: skip
        self.layers = [LazyLayerMaps(s, self) for s in summaries]
        self.output = output
        self._load = load
        self._maps: FeatureMaps | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._maps is not None

    def full(self) -> FeatureMaps:
        with self._lock:  # two reruns of one session must not capture twice
            if self._maps is None:
                self._maps = self._load()
            return self._maps

    @property
    def nbytes(self) -> int:
        """Bytes kept now: the strips' tiles, plus the full maps once loaded."""
        kept = sum(m.summary.top_tiles.nbytes for m in self.layers) + self.output.nbytes
        return kept + (self._maps.nbytes if self._maps is not None else 0)


def compute_overview(
    model: nn.Module,
    x: torch.Tensor,
    layers: Sequence[LayerInfo] | None = None,
    *,
    load: Callable[[], FeatureMaps] | None = None,
    k: int = STRIP_CHANNELS,
) -> FeatureOverview:
    """One forward pass whose hooks keep only statistics and the top-``k`` tiles per layer.

    ``load`` captures the full maps later (default: :func:`compute_feature_maps` on the same
    model and input; pass one that takes the model's lock when the model is shared).
    """
    infos = list(layers) if layers is not None else feature_layers(model)
    by_name = {i.name: i for i in infos}

    def summarise(name: str, out: torch.Tensor) -> LayerSummary | None:
        return summarise_map(by_name[name], out, k) if out.dim() == 4 else None

    was_training = model.training
    model.eval()
    try:
        with hooked(model, [i.name for i in infos], summarise=summarise) as store, torch.no_grad():
            out = model(x)
    finally:
        model.train(was_training)
    out_t = out[0] if isinstance(out, (tuple, list)) else out
    summaries = [store[i.name] for i in infos if store.get(i.name) is not None]
    logits = out_t.detach().float().reshape(out_t.shape[0], -1)[0].cpu().numpy()
    return FeatureOverview(summaries, logits,  # type: ignore[arg-type]
                           load or (lambda: compute_feature_maps(model, x, infos)))  # fmt: skip
