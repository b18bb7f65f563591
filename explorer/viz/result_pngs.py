"""The pictures of a per-image result (:class:`explorer.probe.results.FeatureResult`): overview
strips and montage PNGs, each made once per result (under its lock: sessions sharing a result
wait for whoever asked first) and kept in the result's bounded stores."""

from __future__ import annotations

import numpy as np

from explorer.probe.overview import STRIP_CHANNELS
from explorer.probe.results import FeatureResult
from explorer.viz.montage import montage_png, overview_strip_png

DEFAULT_SCALE = "viridis"
MONTAGE_WIDTH = 640  # montages narrower than this are enlarged by an integer factor


def result_strip_png(res: FeatureResult, layer: str, scale: str = DEFAULT_SCALE) -> bytes:
    """The overview strip of ``layer``: its top channels by mean activation."""
    key = (layer, scale)
    with res.lock:
        if key not in res.strips:
            lm = res.maps.get(layer)
            summary = getattr(lm, "summary", None)
            if summary is not None:  # the one-pass overview kept exactly these tiles
                tiles, order = summary.top_tiles, np.arange(len(summary.top))
            else:
                tiles, order = lm.tiles, res.order(layer, "mean")
            res.strips[key] = overview_strip_png(tiles, order, k=STRIP_CHANNELS, scale=scale)
        return res.strips[key]


def result_montage_png(res: FeatureResult, layer: str, by: str, scale: str) -> bytes:
    """The montage of ``layer``'s channels sorted ``by``, coloured with ``scale``."""

    def make() -> bytes:
        lm = res.maps.get(layer)
        # Small maps are enlarged here (nearest neighbour, crisp) rather than by the browser (blurry).
        return montage_png(lm.tiles, res.order(layer, by), scale=scale, min_width=MONTAGE_WIDTH)

    with res.lock:
        return res.pngs.get_or_make((layer, by, scale), make)


def draw_strips(res: FeatureResult) -> FeatureResult:
    """Every layer's overview strip drawn now (the Overview shows them all); ``res`` back."""
    for name in res.maps.names():
        result_strip_png(res, name)
    return res
