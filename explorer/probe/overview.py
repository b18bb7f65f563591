"""The one-pass overview of a model on an image: per layer, statistics and the montage tiles of
its strongest channels, reduced inside the forward pass by the capture hooks; the full maps
(:class:`~explorer.probe.stats.FeatureMaps`) are captured only when a view first needs them.

The overview is what a page shows first for every layer at once; keeping only a strip per layer
until then avoids holding every layer's float16 maps for images nobody looks at closely.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from explorer.probe.capture import LayerInfo, feature_layers, hooked
from explorer.probe.stats import (
    ChannelStats,
    FeatureMaps,
    LayerMaps,
    LayersByName,
    ShapedLayer,
    channel_order,
    channel_stats,
    compute_feature_maps,
    rescale_bounds,
    tile_factor,
    uint8_tiles,
)

STRIP_CHANNELS = 8  # channels in a layer's overview strip


@dataclass(frozen=True, eq=False)
class LayerSummary(ShapedLayer):
    """What the overview needs of one layer, reduced inside the forward pass: statistics and
    the montage tiles of its strongest channels (by mean), nothing else."""

    name: str
    type: str
    note: str
    shape: tuple[int, int, int]  # C x H x W
    stats: ChannelStats
    top: np.ndarray  # channel indices, strongest mean first (= channel_order(stats, "mean")[:k])
    top_tiles: np.ndarray  # uint8 k x h x w, the same pixels as the full montage tiles of ``top``


def summarise_map(info: LayerInfo, act: torch.Tensor, k: int = STRIP_CHANNELS) -> LayerSummary:
    """Statistics and the top-``k`` tiles of one 1 x C x H x W (or C x H x W) map.

    Reads ``act`` and returns new arrays only, so it is safe inside a forward hook on a
    tensor that an in-place ReLU will overwrite later.
    """
    a = act[0] if act.dim() == 4 else act
    a = a.float()  # C x H x W (a new tensor only when the dtype changes; never kept)
    stats = channel_stats(a)
    lo, hi = rescale_bounds(
        torch.from_numpy(stats.min), torch.from_numpy(stats.max), a.shape[1] * a.shape[2]
    )
    top = channel_order(stats, "mean")[:k]
    index = torch.from_numpy(top.copy())
    factor = tile_factor(tuple(a.shape))  # type: ignore[arg-type]
    tiles = uint8_tiles(a[index.to(a.device)].cpu(), lo[index], hi[index], factor)  # k x h x w
    return LayerSummary(
        name=info.name,
        type=info.type,
        note=info.note,
        shape=tuple(a.shape),  # type: ignore[arg-type]
        stats=stats,
        top=top,
        top_tiles=tiles.numpy(),
    )


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


class FeatureOverview(LayersByName):
    """Every feature-map layer of one model on one image, summarised in one forward pass.

    Behaves like :class:`FeatureMaps` (``layers, output, names(), get(), nbytes``); the full
    maps (float16 values and all tiles) are captured by ``load()`` the first time a view
    needs them, and kept.
    """

    def __init__(
        self, summaries: list[LayerSummary], output: np.ndarray, load: Callable[[], FeatureMaps]
    ) -> None:
        self.layers = [LazyLayerMaps(s, self) for s in summaries]
        self.output = output
        self._load: Callable[[], FeatureMaps] | None = load
        self._maps: FeatureMaps | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._maps is not None

    def full(self) -> FeatureMaps:
        with (
            self._lock
        ):  # two reruns of one session (or two sessions sharing it) must not capture twice
            if self._maps is None:
                assert self._load is not None
                self._maps = self._load()
                self._load = None  # the loader holds the model: let it go with its cache entry
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
    return FeatureOverview(
        summaries,
        logits,  # type: ignore[arg-type]
        load or (lambda: compute_feature_maps(model, x, infos)),
    )
