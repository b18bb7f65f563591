"""The graph of a network, traced from the real module on the ``meta`` device.

Nodes are operations (convolution, pooling, ReLU, batch norm, dense, concatenation, residual
addition, flatten, global average pooling, dropout), edges are the tensors between them with their
shapes. Three concerns, one module each: :mod:`.structure` (the graph as data and its levels of
detail, :meth:`Graph.view`), :mod:`.trace` (the ``TorchFunctionMode`` and hooks that record one
forward pass) and :mod:`.calls` (reading one torch call: kind, window, MACs, size checks).
"""

from explorer.probe.graph.calls import InputSizeError
from explorer.probe.graph.structure import BLOCK_KINDS, FOLDABLE, Block, Edge, Graph, Node, Shape
from explorer.probe.graph.trace import build_graph, catalog_graph

__all__ = [
    "BLOCK_KINDS",
    "FOLDABLE",
    "Block",
    "Edge",
    "Graph",
    "InputSizeError",
    "Node",
    "Shape",
    "build_graph",
    "catalog_graph",
]
