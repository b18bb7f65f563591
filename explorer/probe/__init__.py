"""Looking inside a model: activations, summaries, receptive fields, attributions, traces."""

from explorer.probe.capture import (
    LayerInfo,
    UnknownLayerError,
    capture,
    feature_layers,
    hooked,
    layer_infos,
)
from explorer.probe.receptive_field import Field
from explorer.probe.summary import LayerRow, Summary, summarize

__all__ = [
    "Field",
    "LayerInfo",
    "LayerRow",
    "Summary",
    "UnknownLayerError",
    "capture",
    "feature_layers",
    "hooked",
    "layer_infos",
    "summarize",
]
