"""Figure style shared by the app: a colour-blind-safe palette, readable type, safe titles.

Okabe and Ito's eight colours (2008) stay distinguishable under the three common colour-vision
deficiencies and in grey print; the sequential maps the app uses for heatmaps (viridis, cividis,
magma, inferno) are perceptually uniform and colour-blind safe too. `style(fig, projector=True)`
sets the type a projector needs (titles 20 px, ticks and labels 16 px, near-black).
"""

from __future__ import annotations

import html
import textwrap

import plotly.graph_objects as go

# Okabe & Ito (2008): blue, orange, bluish green, vermillion, reddish purple, sky blue, yellow, black.
OKABE_ITO: tuple[str, ...] = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#CC79A7",
    "#56B4E9",
    "#F0E442",
    "#000000",
)
INK = "#111111"  # near-black: readable on a washed-out projector
BODY_PX, PROJECTOR_PX = 13, 16
TITLE_PX, PROJECTOR_TITLE_PX = 15, 20


def safe_title(text: str, width: int = 60) -> tuple[str, int]:
    """A figure title that never runs off the figure: HTML-escaped (plotly renders a subset of
    HTML in titles, and a model name may come from a user) and wrapped at ``width`` characters
    with <br>; returns (title, number of lines)."""
    lines = textwrap.wrap(text, width=width, break_long_words=True) or [""]
    return "<br>".join(html.escape(line) for line in lines), len(lines)


def style(fig: go.Figure, projector: bool = False) -> go.Figure:
    """The app's palette and type on a figure (in place; returned for chaining)."""
    size = PROJECTOR_PX if projector else BODY_PX
    fig.update_layout(
        colorway=list(OKABE_ITO),
        font={"size": size, "color": INK if projector else None},
        title_font={"size": PROJECTOR_TITLE_PX if projector else TITLE_PX},
    )
    fig.update_xaxes(tickfont={"size": size, "color": INK if projector else None}, automargin=True)
    fig.update_yaxes(tickfont={"size": size, "color": INK if projector else None}, automargin=True)
    return fig
