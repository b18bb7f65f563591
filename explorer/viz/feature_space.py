"""Figures for "what a unit looks for": the feature-space scatter and the hierarchy grid.

Pure functions (numpy and plotly) of what :mod:`explorer.probe.feature_space` and
:mod:`explorer.probe.feature_vis` return; nothing here displays anything.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from explorer.viz.montage import GAP_COLOUR, montage, resize_nearest
from explorer.viz.theme import INK, PROJECTOR_PX

_METHOD_TITLES = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
# Plotly's qualitative "Plotly" palette extended by D3's: enough for 20 classes.
_PALETTE = (
    "#636EFA",
    "#EF553B",
    "#00CC96",
    "#AB63FA",
    "#FFA15A",
    "#19D3F3",
    "#FF6692",
    "#B6E880",
    "#FF97FF",
    "#FECB52",
    "#1F77B4",
    "#FF7F0E",
    "#2CA02C",
    "#D62728",
    "#9467BD",
    "#8C564B",
    "#E377C2",
    "#7F7F7F",
    "#BCBD22",
    "#17BECF",
)


def feature_scatter(
    points: np.ndarray,
    labels: Sequence[int] | np.ndarray,
    classes: Sequence[str],
    *,
    method: str = "pca",
    title: str = "",
    probe_accuracy: float | None = None,
    height: int = 480,
) -> go.Figure:
    """The 2-D projection, one trace (colour) per class; the hover names the class and the image
    index (``customdata``), so a page can show that image when a point is clicked (plotly's hover
    shows text only: a data-URI picture in ``customdata`` is not rendered; see
    :func:`selected_index`)."""
    pts = np.asarray(points, dtype=np.float32)
    y = np.asarray(labels).reshape(-1).astype(int)
    fig = go.Figure()
    for k, name in enumerate(classes):
        idx = np.flatnonzero(y == k)
        if idx.size == 0:
            continue
        fig.add_trace(
            go.Scattergl(
                x=pts[idx, 0],
                y=pts[idx, 1],
                mode="markers",
                name=str(name),
                customdata=idx,
                marker={"size": 6, "color": _PALETTE[k % len(_PALETTE)], "opacity": 0.8},
                hovertemplate=f"{name}<br>image %{{customdata}}<extra></extra>",
            )
        )
    m = _METHOD_TITLES.get(method, method)
    heading = title or f"Feature space ({m})"
    if probe_accuracy is not None:
        heading += f" - linear probe accuracy {probe_accuracy:.0%}"
    fig.update_layout(
        title=heading,
        height=height,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        legend={"title": {"text": "class"}, "itemsizing": "constant"},
    )
    fig.update_xaxes(title=f"{m} 1", zeroline=False)
    fig.update_yaxes(title=f"{m} 2", zeroline=False)
    return fig


def selected_index(
    points: Sequence[dict], labels: Sequence[int] | np.ndarray, classes: Sequence[str]
) -> int | None:
    """The image index of the first selected point of a :func:`feature_scatter` (the points of a
    Streamlit ``on_select`` event), or None: its ``customdata`` when present, else read from the
    trace (one per class present, in class order) and the point's index within it."""
    if not points:
        return None
    point = points[0]
    custom = point.get("customdata")
    if isinstance(custom, list | tuple):
        custom = custom[0] if custom else None
    if custom is not None:
        return int(custom)
    y = np.asarray(labels).reshape(-1).astype(int)
    present = [k for k in range(len(classes)) if np.any(y == k)]
    curve, index = point.get("curve_number"), point.get("point_index", point.get("point_number"))
    if curve is None or index is None or not 0 <= int(curve) < len(present):
        return None
    members = np.flatnonzero(y == present[int(curve)])
    return int(members[int(index)]) if 0 <= int(index) < len(members) else None


def _rgb(img: np.ndarray) -> np.ndarray:
    a = np.asarray(img, dtype=np.uint8)
    if a.ndim == 2:
        a = a[..., None]
    return np.repeat(a, 3, axis=2) if a.shape[2] == 1 else a


def hierarchy_montage(
    rows: Sequence[Sequence[np.ndarray]], tile: int = 96, gap: int = 4
) -> np.ndarray:
    """One H x W x 3 uint8 picture of the grid: a row per depth, each image resized to ``tile``."""
    cols = max(len(r) for r in rows)
    blank = np.full((tile, tile, 3), GAP_COLOUR, np.uint8)
    cells = [
        c
        for r in rows
        for c in [resize_nearest(_rgb(img), tile) for img in r] + [blank] * (cols - len(r))
    ]
    return montage(np.stack(cells), cols=cols, gap=gap, fill=GAP_COLOUR)


def _wrap_title(title: str) -> str:
    """'middle: stage 2, block 1 / conv2' -> 'middle<br>stage 2, block 1<br>/ conv2' (a narrow label)."""
    return title.replace(": ", "<br>", 1).replace(" / ", "<br>/ ")


PROJECTOR_TILE_PX = (
    84  # projector mode: three rows of tiles fit under the folded settings at 720 px
)
_PROJECTOR_GAP_PX = 10  # between two rows of tiles (their channel labels sit beside them)


def hierarchy_figure(
    rows: Sequence[Sequence[np.ndarray]],
    row_titles: Sequence[str],
    col_titles: Sequence[Sequence[str]],
    *,
    title: str = "What the channels look for: early, middle and late layers",
    tile_px: int | None = None,
    projector: bool = False,
) -> go.Figure:
    """The hierarchy grid: a row per layer, labelled on its left (``row_titles``, paper-style
    names, wrapped), a column per channel (``col_titles[row][col]``), each cell an optimised input.

    ``projector``: a compact grid for a 1280 x 720 screen, whose three rows must fit under the
    page's settings: no title, each channel's label beside its tile (not above it), tiles of
    ``PROJECTOR_TILE_PX`` and text at the projector's 16 px."""
    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    labels = [
        [col_titles[r][c] if c < len(col_titles[r]) else "" for c in range(n_cols)]
        for r in range(n_rows)
    ]
    tile = tile_px or (PROJECTOR_TILE_PX if projector else 150)
    plot_px = n_rows * tile + (n_rows - 1) * _PROJECTOR_GAP_PX
    fig = make_subplots(
        rows=n_rows,
        cols=n_cols,
        subplot_titles=None if projector else [t for row in labels for t in row],
        horizontal_spacing=0.02,
        vertical_spacing=_PROJECTOR_GAP_PX / plot_px if projector else 0.08,
    )
    font = {"size": PROJECTOR_PX, "color": INK} if projector else {"size": 14}
    for r, images in enumerate(rows):
        for c, img in enumerate(images):
            fig.add_trace(go.Image(z=_rgb(img), hoverinfo="skip"), row=r + 1, col=c + 1)
            if projector:
                _label_beside(fig, r * n_cols + c + 1, labels[r][c], tile, font)
        domain = fig.get_subplot(r + 1, 1).yaxis.domain
        fig.add_annotation(
            text=_wrap_title(row_titles[r]),
            xref="paper",
            yref="paper",
            x=-0.02,
            y=(domain[0] + domain[1]) / 2,
            xanchor="right",
            yanchor="middle",
            showarrow=False,
            align="right",
            font=font,
        )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    if projector:
        fig.update_layout(height=plot_px + 16, margin={"l": 150, "r": 10, "t": 8, "b": 8})
    else:
        fig.update_layout(
            title=title,
            height=max(300, n_rows * tile + 80),
            margin={"l": 150, "r": 10, "t": 70, "b": 10},
        )
    return fig


def _label_beside(fig: go.Figure, axis: int, text: str, tile: int, font: dict) -> None:
    """A channel's label ('channel 7' as 'channel' over '7') left of its tile, which plotly
    centres in its cell: the projector grid spends no row height on labels."""
    suffix = "" if axis == 1 else str(axis)
    fig.add_annotation(
        text=text.replace(" ", "<br>", 1),
        xref=f"x{suffix} domain",
        yref=f"y{suffix} domain",
        x=0.5,
        y=0.5,
        xshift=-(tile / 2 + 6),
        xanchor="right",
        yanchor="middle",
        showarrow=False,
        align="right",
        font=font,
    )
