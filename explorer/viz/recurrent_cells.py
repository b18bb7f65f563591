"""How a page shows each recurrent cell: its equations (LaTeX), what the symbols mean, the
paper's own form where torch's differs, its colour in every chart and one time step as Graphviz
DOT nodes and edges. The cells themselves (blocks, quantities, steps) are data in
:mod:`explorer.models.recurrent_cells`; a new cell adds its entry here too (the test checks
that every cell has one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from explorer.viz.theme import OKABE_ITO


@dataclass(frozen=True)
class CellText:
    """What a page writes about one cell."""

    equations: tuple[str, ...]  # LaTeX, as torch computes (and the page shows)
    symbols: str  # what the symbols of the equations mean ({nonlinearity} is filled in)
    paper_equations: tuple[str, ...] = ()  # the paper's own form, where it differs from torch's
    torch_note: str = ""  # a caption before ``equations`` when a paper form follows
    paper_note: str = ""  # a caption before ``paper_equations``


# --- the text ------------------------------------------------------------------------------

_GATED_SYMBOLS = "sigma is the logistic sigmoid; the circled dot multiplies element by element."

CELL_TEXT: dict[str, CellText] = {
    "rnn": CellText(
        equations=(r"h_t = \phi\left(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh}\right)",),
        symbols="phi = {nonlinearity}. sigma is the logistic sigmoid, a product of vectors is element-wise.",
    ),
    "gru": CellText(
        equations=(
            r"r_t = \sigma\left(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}\right)",
            r"z_t = \sigma\left(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}\right)",
            r"n_t = \tanh\left(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})\right)",
            r"h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}",
        ),
        symbols=_GATED_SYMBOLS,
        # Cho et al. (2014) apply the reset gate to h_(t-1) before the matrix; torch after it.
        torch_note="As torch.nn.GRU computes it (and this page): the reset gate multiplies "
        "W_hn h_(t-1) + b_hn, after the matrix.",
        paper_note="Cho et al. (2014), the paper's form: the reset gate multiplies h_(t-1) before "
        "the matrix (r and z as above, biases left out). The two forms behave alike in "
        "practice, but their weights are not interchangeable.",
        paper_equations=(
            r"\tilde{h}_t = \tanh\left(W x_t + U \left(r_t \odot h_{t-1}\right)\right) \qquad "
            r"h_t = z_t \odot h_{t-1} + (1 - z_t) \odot \tilde{h}_t",
        ),
    ),
    "lstm": CellText(
        equations=(
            r"i_t = \sigma\left(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi}\right)",
            r"f_t = \sigma\left(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf}\right)",
            r"g_t = \tanh\left(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg}\right)",
            r"o_t = \sigma\left(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho}\right)",
            r"c_t = f_t \odot c_{t-1} + i_t \odot g_t \qquad h_t = o_t \odot \tanh(c_t)",
        ),
        symbols=_GATED_SYMBOLS,
    ),
}

# Each cell's colour in every chart.
# The theme's Okabe-Ito colours (colour-blind safe): vermillion, bluish green and blue.
CELL_COLOURS: dict[str, str] = {"rnn": OKABE_ITO[3], "gru": OKABE_ITO[2], "lstm": OKABE_ITO[0]}


# --- one time step as a Graphviz picture (DOT nodes and edges at the chosen sizes) -----------

_OP = 'shape=circle, width=0.35, fixedsize=true, fillcolor="#f4f4f4"'


def _dot_gate(name: str, fn: str, what: str, inp: int, hid: int) -> str:
    shapes = f"W_i{name} {hid}x{inp}, W_h{name} {hid}x{hid}"
    return f'{name} [label="{what}\\n{name} = {fn}(W_i{name} x + W_h{name} h)\\n{shapes}", fillcolor="#e8f0fe"];'


def _rnn_diagram(inp: int, hid: int, nonlinearity: str) -> list[str]:
    return [
        f'h [label="h_t = {nonlinearity}(W_ih x + W_hh h_(t-1) + b)\\nW_ih {hid}x{inp}, W_hh {hid}x{hid}\\n({hid})", fillcolor="#fde2e1"];',
        "x -> h; hprev -> h;",
    ]


def _gru_diagram(inp: int, hid: int, nonlinearity: str) -> list[str]:
    return [
        _dot_gate("r", "σ", "reset gate", inp, hid),
        _dot_gate("z", "σ", "update gate", inp, hid),
        f'n [label="candidate\\nn = tanh(W_in x + r ⊙ (W_hn h))\\nW_in {hid}x{inp}, W_hn {hid}x{hid}", fillcolor="#e6f4ea"];',
        f'mix [label="h_t = (1 - z) ⊙ n + z ⊙ h_(t-1)\\n({hid})", fillcolor="#fde2e1"];',
        "x -> r; x -> z; x -> n; hprev -> r; hprev -> z; hprev -> n; r -> n;",
        "z -> mix; n -> mix; hprev -> mix;",
    ]


def _lstm_diagram(inp: int, hid: int, nonlinearity: str) -> list[str]:
    return [
        f'cprev [label="c_(t-1)\\n({hid})", fillcolor="#fff0d9"];',
        _dot_gate("i", "σ", "input gate", inp, hid),
        _dot_gate("f", "σ", "forget gate", inp, hid),
        f'g [label="candidate\\ng = tanh(W_ig x + W_hg h)\\nW_ig {hid}x{inp}, W_hg {hid}x{hid}", fillcolor="#e6f4ea"];',
        _dot_gate("o", "σ", "output gate", inp, hid),
        f'mf [label="×", {_OP}]; mi [label="×", {_OP}]; add [label="+", {_OP}];',
        f'c [label="c_t\\n({hid})", fillcolor="#fff0d9"];',
        f'th [label="tanh", {_OP}, width=0.5]; mo [label="×", {_OP}];',
        f'h [label="h_t\\n({hid})", fillcolor="#fde2e1"];',
        "x -> i; x -> f; x -> g; x -> o; hprev -> i; hprev -> f; hprev -> g; hprev -> o;",
        "cprev -> mf; f -> mf; i -> mi; g -> mi; mf -> add; mi -> add; add -> c;",
        "c -> th; th -> mo; o -> mo; mo -> h;",
    ]


_DIAGRAMS: dict[str, Callable[[int, int, str], list[str]]] = {
    "rnn": _rnn_diagram,
    "gru": _gru_diagram,
    "lstm": _lstm_diagram,
}


def cell_text(cell: str) -> CellText:
    """The equations and captions of ``cell``; a KeyError that lists the known cells otherwise."""
    try:
        return CELL_TEXT[cell]
    except KeyError:
        raise KeyError(f"Unknown cell {cell!r}: choose one of {', '.join(CELL_TEXT)}.") from None


def cell_diagram(cell: str, inp: int, hid: int, nonlinearity: str) -> list[str]:
    """The DOT nodes and edges of one step of ``cell`` (input size, hidden size, nonlinearity)."""
    return _DIAGRAMS[cell](inp, hid, nonlinearity)


def cell_diagram_dot(
    cell: str, input_size: int, hidden_size: int, nonlinearity: str = "tanh"
) -> str:
    """Graphviz DOT of one cell at the chosen sizes: inputs, gates with their weight shapes, ops."""
    hid, inp = hidden_size, input_size
    lines = [
        "digraph cell {",
        'rankdir=LR; bgcolor="transparent";',
        'node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica", fontsize=11];',
        'edge [color="#666666"];',
        f'x [label="x_t\\n({inp})", fillcolor="#fff3cd"];',
        f'hprev [label="h_(t-1)\\n({hid})", fillcolor="#fde2e1"];',
        *cell_diagram(cell, inp, hid, nonlinearity),  # the cell's own nodes and edges
        "}",
    ]
    return "\n".join(lines)
