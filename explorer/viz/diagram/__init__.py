"""Architecture diagrams: a layered layout of a :class:`~explorer.probe.graph.Graph`, drawn as a
plotly figure (clickable nodes), a standalone SVG or a PNG. Pure functions, no display.

One concern per module: :mod:`.layout` (rows, columns, edge routes), :mod:`.style` (a node's
colour, symbol, label, hover text), :mod:`.canvas` (pixel geometry at a type size: labels, block
boxes, residual shortcuts, wrapping into columns), :mod:`.figure` (the plotly figure),
:mod:`.side` (several networks at one depth scale) and :mod:`.export` (SVG, PNG, DOT).
"""

from explorer.viz.diagram.canvas import Canvas, canvas
from explorer.viz.diagram.export import COL_PX, to_dot, to_png, to_svg
from explorer.viz.diagram.figure import PROJECTOR_PX, ROW_PX, SCREEN_PX, figure
from explorer.viz.diagram.layout import CROWDED_GAP, Layout, layout
from explorer.viz.diagram.side import box_depth, network_depth, side_by_side
from explorer.viz.diagram.style import (
    COLOURSCALE,
    KIND_NAMES,
    MEASURES,
    SYMBOLS,
    ZERO_COLOUR,
    describe,
    hover,
    measure,
    node_label,
    shape_text,
    short,
)

__all__ = [
    "COLOURSCALE",
    "COL_PX",
    "CROWDED_GAP",
    "KIND_NAMES",
    "MEASURES",
    "PROJECTOR_PX",
    "ROW_PX",
    "SCREEN_PX",
    "SYMBOLS",
    "ZERO_COLOUR",
    "Canvas",
    "Layout",
    "box_depth",
    "canvas",
    "describe",
    "figure",
    "hover",
    "layout",
    "measure",
    "network_depth",
    "node_label",
    "shape_text",
    "short",
    "side_by_side",
    "to_dot",
    "to_png",
    "to_svg",
]
