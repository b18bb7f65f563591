"""Which Feature maps layer shows a diagram node's output, and the name a link spells it with.

A diagram box folds a convolution with the batch norm and ReLU after it ("conv3_1 +ReLU"); the
Feature maps page lists activations, poolings and blocks (a convolution followed by a ReLU module
shows there as its ReLU, as people mean by a feature map). A link from a node's card must name a
layer that page offers, or it lands on "settings that do not apply here" and a default layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch

from explorer.probe.graph import Graph, Node


@dataclass(frozen=True)
class FeatureLayers:
    """The layers the Feature maps page lists for a catalog model, with the URL token of each
    (its paper-style name where those are unique, as that page writes them, else the path)."""

    tokens: dict[str, str]  # module path -> URL token, in network order


def feature_layers_of(key: str) -> FeatureLayers:
    """Feature-map layers of catalog entry ``key``, from its structure on the meta device."""
    from explorer.models import get_spec
    from explorer.probe.capture import feature_layers
    from explorer.probe.names import layer_names

    with torch.device("meta"):
        model = get_spec(key).build()
    paths = [info.name for info in feature_layers(model)]
    pretty = layer_names(model, key)
    tokens = {p: pretty.get(p, p) for p in paths}
    if len(set(tokens.values())) != len(tokens):  # the page falls back to raw paths too
        tokens = {p: p for p in paths}
    return FeatureLayers(tokens)


def feature_map_target(graph: Graph, node: Node, layers: Mapping[str, str]) -> str | None:
    """The module path whose maps show ``node``'s output: the node's own module (a block, a
    conv unit) when the page lists it, else the last operation folded into the node that the
    page lists (conv3_1's ReLU), else the block around it (a layer inside an Inception module or
    a residual block, whose own output the page does not list), else None (a dense layer). ``graph`` is the full graph (every operation) the view
    was made from; ``layers`` the page's layers by module path; only C x H x W outputs count."""
    if node.module in layers and len(node.out_shape) == 3:
        return node.module
    ops = {n.id: n for n in graph.nodes}
    for op_id in reversed(node.members or (node.id,)):
        op = ops.get(op_id)
        if op is not None and op.module in layers and len(op.out_shape) == 3:
            return op.module
    return node.block if node.block in layers else None
