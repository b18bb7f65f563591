"""Tile stacks as pictures: montages, overview strips and their PNG bytes (pure numpy and Pillow).

A "tile stack" is uint8 C x h x w (values 0-255, see ``explorer.probe.stats.rescale_uint8``);
pictures are uint8 H x W x 3 or, for what a page sends, indexed PNGs whose palette is the colour
scale's 256-entry table (:mod:`explorer.viz.colour`): one byte a pixel to encode and send.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import numpy as np
from PIL import Image

from explorer.viz.colour import colour_table

GAP_COLOUR = (255, 255, 255)


def grid_shape(n: int, cols: int | None = None) -> tuple[int, int]:
    """(rows, cols) of a nearly square grid of n tiles (or n tiles in ``cols`` columns)."""
    cols = max(1, min(n, cols if cols else math.ceil(math.sqrt(n))))
    return math.ceil(n / cols), cols


def montage(
    tiles: np.ndarray,
    order: Sequence[int] | np.ndarray | None = None,
    cols: int | None = None,
    gap: int = 1,
    fill: int | tuple[int, ...] = 0,
) -> np.ndarray:
    """Lay tiles out in a grid, row by row, in ``order``.

    ``tiles`` is C x h x w (grey) or C x h x w x 3 (colour). Tile k of the order occupies rows
    ``r*(h+gap) .. r*(h+gap)+h-1`` and columns ``c*(w+gap) ..`` with ``r, c = divmod(k, cols)``;
    gaps and empty cells hold ``fill``. The pixels inside a tile are the tile's, unchanged.
    """
    t = np.asarray(tiles)
    idx = np.arange(t.shape[0]) if order is None else np.asarray(order, dtype=np.int64)
    n = len(idx)
    rows, cols = grid_shape(max(n, 1), cols)
    h, w = t.shape[1], t.shape[2]
    extra = t.shape[3:]
    cell = np.empty((rows * cols, h + gap, w + gap, *extra), dtype=t.dtype)
    cell[...] = np.asarray(fill, dtype=t.dtype)
    if n:
        cell[:n, :h, :w] = t[idx]
    # rows*cols x (h+gap) x (w+gap) -> rows x (h+gap) x cols x (w+gap): one reshape, no loop
    grid = cell.reshape(rows, cols, h + gap, w + gap, *extra).swapaxes(1, 2)
    grid = grid.reshape(rows * (h + gap), cols * (w + gap), *extra)
    return grid[: grid.shape[0] - gap or None, : grid.shape[1] - gap or None]


def montage_rgb(
    tiles: np.ndarray,
    order: Sequence[int] | np.ndarray | None = None,
    scale: str = "viridis",
    cols: int | None = None,
    gap: int = 1,
    min_width: int = 0,
) -> np.ndarray:
    """A coloured montage (H x W x 3 uint8) of a uint8 tile stack, white gaps between tiles,
    enlarged by an integer factor (nearest neighbour, see :func:`enlarge`) towards ``min_width``."""
    t = np.asarray(tiles)
    idx = np.arange(t.shape[0]) if order is None else np.asarray(order, dtype=np.int64)
    coloured = colour_table(scale)[t[idx]]  # C x h x w x 3
    img = montage(coloured, None, cols=cols, gap=gap, fill=GAP_COLOUR)
    return enlarge(img, min_width)


def enlarge(img: np.ndarray, min_width: int) -> np.ndarray:
    """Integer nearest-neighbour enlargement (by ``min_width // width``) so that small maps stay
    crisp when a browser scales them up; images at least half ``min_width`` wide are kept."""
    f = min_width // img.shape[1] if min_width > 0 else 1
    if f <= 1:
        return img
    return np.repeat(np.repeat(img, f, axis=0), f, axis=1)


def resize_nearest(tile: np.ndarray, size: int) -> np.ndarray:
    """A h x w (x 3) tile to size x size by nearest neighbour (each output pixel samples one input)."""
    h, w = tile.shape[:2]
    ri = (np.arange(size) * h // size).clip(0, h - 1)
    ci = (np.arange(size) * w // size).clip(0, w - 1)
    return tile[ri][:, ci]


def overview_strip(
    tiles: np.ndarray,
    order: Sequence[int] | np.ndarray,
    k: int = 8,
    tile: int = 64,
    scale: str = "viridis",
    gap: int = 3,
) -> np.ndarray:
    """The first ``k`` channels of ``order`` as one row of tile x tile squares (H x W x 3)."""
    sq = _strip_tiles(tiles, order, k, tile)
    return montage(colour_table(scale)[sq], None, cols=max(1, len(sq)), gap=gap, fill=GAP_COLOUR)


def _strip_tiles(
    tiles: np.ndarray, order: Sequence[int] | np.ndarray, k: int, tile: int
) -> np.ndarray:
    """The first ``k`` channels of ``order``, each resized to tile x tile (k x tile x tile)."""
    idx = np.asarray(order, dtype=np.int64)[:k]
    if not len(idx):
        return np.zeros((0, tile, tile), np.uint8)
    return np.stack([resize_nearest(tiles[i], tile) for i in idx])


GAP_INDEX = 255  # palette entry of the gaps in an indexed picture (tile value 255 shows as 254)


def palette_png(indices: np.ndarray, scale: str = "viridis", compress_level: int = 1) -> bytes:
    """A PNG of a uint8 H x W picture whose values index ``scale``'s 256-colour table, with
    :data:`GAP_INDEX` drawn in the gap colour: one byte per pixel to compress and send instead of
    three, the same colours as :func:`montage_rgb` (a tile's top value, 255, shows as 254: one
    step of 256, invisible)."""
    palette = colour_table(scale).copy()  # 256 x 3 uint8
    palette[GAP_INDEX] = GAP_COLOUR
    img = Image.fromarray(np.ascontiguousarray(indices, dtype=np.uint8), mode="P")
    img.putpalette(palette.reshape(-1).tolist())
    buf = io.BytesIO()
    img.save(buf, "PNG", compress_level=compress_level)
    return buf.getvalue()


def overview_strip_png(
    tiles: np.ndarray,
    order: Sequence[int] | np.ndarray,
    k: int = 8,
    tile: int = 64,
    scale: str = "viridis",
    gap: int = 3,
) -> bytes:
    """:func:`overview_strip` as an indexed PNG (what a page sends): about 3x faster to encode."""
    sq = _strip_tiles(tiles, order, k, tile)
    np.minimum(sq, GAP_INDEX - 1, out=sq)  # 255 is the gap's entry
    return palette_png(montage(sq, None, cols=max(1, len(sq)), gap=gap, fill=GAP_INDEX), scale)


def montage_png(
    tiles: np.ndarray,
    order: Sequence[int] | np.ndarray | None = None,
    scale: str = "viridis",
    cols: int | None = None,
    gap: int = 1,
    min_width: int = 0,
) -> bytes:
    """:func:`montage_rgb` as an indexed PNG (what a page sends): the same layout and colours."""
    t = np.asarray(tiles)
    idx = np.arange(t.shape[0]) if order is None else np.asarray(order, dtype=np.int64)
    sq = np.minimum(t[idx], GAP_INDEX - 1)  # 255 is the gap's entry
    return palette_png(
        enlarge(montage(sq, None, cols=cols, gap=gap, fill=GAP_INDEX), min_width), scale
    )


def png_bytes(img: np.ndarray, compress_level: int = 1) -> bytes:
    """Encode a uint8 H x W (x 3) array as PNG (fast compression: these are sent each view)."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(img)).save(buf, "PNG", compress_level=compress_level)
    return buf.getvalue()


def npy_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=False)
    return buf.getvalue()
