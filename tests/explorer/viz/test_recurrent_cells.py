"""One recurrent cell's step as Graphviz DOT: the inputs at the chosen sizes around the cell's
own nodes and edges."""

from __future__ import annotations

import pytest

from explorer.models.recurrent_cells import CELL_SPECS
from explorer.viz.recurrent_cells import cell_diagram, cell_diagram_dot


@pytest.mark.parametrize("cell", sorted(CELL_SPECS))
def test_cell_dot_is_one_digraph_with_the_inputs_at_their_sizes(cell: str) -> None:
    dot = cell_diagram_dot(cell, 5, 7)
    lines = dot.split("\n")
    assert lines[0] == "digraph cell {" and lines[-1] == "}"
    assert dot.count("{") == dot.count("}")
    assert 'x [label="x_t\\n(5)"' in dot and 'hprev [label="h_(t-1)\\n(7)"' in dot
    own = cell_diagram(cell, 5, 7, "tanh")
    assert lines[-1 - len(own) : -1] == own
