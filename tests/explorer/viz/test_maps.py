"""Montages hold the captured values (rescaled as documented); filters and figures are sound."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from explorer.probe.capture import LayerInfo
from explorer.probe.stats import channel_order, compute_feature_maps, layer_maps, rescale_uint8
from explorer.viz import maps as viz


def test_montage_places_tiles_row_by_row_in_order() -> None:
    tiles = np.arange(5 * 2 * 3, dtype=np.uint8).reshape(5, 2, 3)  # C x h x w
    grid = viz.montage(tiles, order=[4, 0, 2, 1, 3], cols=3, gap=1, fill=255)
    assert grid.shape == (2 * 2 + 1, 3 * 3 + 2)
    assert np.array_equal(grid[0:2, 0:3], tiles[4])
    assert np.array_equal(grid[0:2, 4:7], tiles[0])
    assert np.array_equal(grid[0:2, 8:11], tiles[2])
    assert np.array_equal(grid[3:5, 0:3], tiles[1])
    assert np.array_equal(grid[3:5, 4:7], tiles[3])
    assert (grid[2, :] == 255).all() and (grid[:, 3] == 255).all()  # gaps
    assert (grid[3:5, 8:11] == 255).all()  # the empty sixth cell


def test_montage_pixels_are_the_captured_tensors_rescaled() -> None:
    # A conv whose output we know: capture it, rescale per channel, montage, compare to torch.
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU())
    x = torch.randn(1, 3, 10, 12)
    fm = compute_feature_maps(net, x, [LayerInfo("0", "Conv2d", "conv")])
    expected = net[0](x)[0].detach()  # 6 x 10 x 12, torch's own result
    m = fm.get("0")
    assert m.shape == (6, 10, 12) and m.tile_factor == 1
    lo = expected.amin(dim=(1, 2), keepdim=True)
    hi = expected.amax(dim=(1, 2), keepdim=True)
    want = ((expected - lo) / (hi - lo) * 255).round().to(torch.uint8).numpy()
    # float rounding may move a value sitting on .5 by one level, never more
    assert np.abs(m.tiles.astype(int) - want.astype(int)).max() <= 1
    assert (m.tiles == want).mean() > 0.99
    order = channel_order(m.stats, "max")
    grid = viz.montage(m.tiles, order, cols=3, gap=2)
    for k, c in enumerate(order):
        r, col = divmod(k, 3)
        assert np.array_equal(grid[r * 12 : r * 12 + 10, col * 14 : col * 14 + 12], m.tiles[c])
    # float16 values keep the raw activations for hover and export
    assert np.allclose(m.values.astype(np.float32), expected.numpy(), atol=2e-3, rtol=1e-3)


def test_rescale_constant_channel_is_zero() -> None:
    a = torch.stack([torch.zeros(4, 4), torch.full((4, 4), 3.0), torch.arange(16.0).view(4, 4)])
    u8, lo, hi = rescale_uint8(a)
    assert (u8[0] == 0).all() and (u8[1] == 0).all()
    assert int(u8[2].min()) == 0 and int(u8[2].max()) == 255 and int(u8[2, 0, 1]) == 17  # 1/15*255
    assert lo.tolist() == [0.0, 3.0, 0.0] and hi.tolist() == [0.0, 3.0, 15.0]


def test_one_by_one_maps_use_the_layer_range() -> None:
    u8, lo, hi = rescale_uint8(torch.tensor([0.0, 2.0, 4.0]).view(3, 1, 1))
    assert (
        u8.flatten().tolist() == [0, 128, 255]
        and lo.tolist() == [0.0] * 3
        and hi.tolist() == [4.0] * 3
    )


def test_big_maps_are_average_pooled_for_tiles() -> None:
    a = torch.arange(2 * 200 * 200, dtype=torch.float32).view(1, 2, 200, 200)
    m = layer_maps(LayerInfo("x", "ReLU", "act"), a, max_tile=100)
    assert m.tile_factor == 2 and m.tiles.shape == (2, 100, 100)
    assert m.values.shape == (2, 200, 200) and m.values.dtype == np.float16


def test_montage_rgb_colours_with_the_table_and_enlarges() -> None:
    tiles = np.array([[[0, 255]], [[128, 64]]], dtype=np.uint8)  # 2 x 1 x 2
    img = viz.montage_rgb(tiles, [1, 0], scale="grey", cols=2, gap=1)
    assert img.shape == (1, 5, 3)
    assert img[0, 0].tolist() == [128, 128, 128]
    assert img[0, 2].tolist() == [255, 255, 255]  # gap white
    assert img[0, 3].tolist() == [0, 0, 0] and img[0, 4].tolist() == [255, 255, 255]
    big = viz.montage_rgb(tiles, None, scale="grey", cols=2, min_width=23)
    assert big.shape == (4, 20, 3)  # factor 23 // 5 = 4, nearest neighbour
    assert (big[:4, :4] == 0).all() and (big[:4, 4:8] == 255).all()  # tile 0 = [0, 255], 4x wider
    assert viz.montage_rgb(tiles, None, scale="grey", cols=2, min_width=9).shape == (1, 5, 3)


@pytest.mark.parametrize("name", list(viz.COLOUR_SCALES))
def test_colour_tables(name: str) -> None:
    t = viz.colour_table(name)
    assert t.shape == (256, 3) and t.dtype == np.uint8
    assert len({tuple(r) for r in t}) > 100  # a real gradient, not a constant
    if name == "grey":
        assert t[0].tolist() == [0, 0, 0] and t[255].tolist() == [255, 255, 255]


def test_overview_strip_takes_the_first_k_of_the_order() -> None:
    tiles = np.stack([np.full((4, 4), v, np.uint8) for v in (10, 200, 30, 90)])
    strip = viz.overview_strip(tiles, [1, 3, 0, 2], k=2, tile=8, scale="grey", gap=2)
    assert strip.shape == (8, 18, 3)
    assert (
        (strip[:, :8] == 200).all()
        and (strip[:, 10:] == 90).all()
        and (strip[:, 8:10] == 255).all()
    )


def test_png_roundtrip() -> None:
    img = np.random.default_rng(0).integers(0, 256, (7, 9, 3), dtype=np.uint8)
    back = np.asarray(Image.open(io.BytesIO(viz.png_bytes(img))))
    assert np.array_equal(back, img)
    arr = np.arange(6, dtype=np.float16).reshape(2, 3)
    assert np.array_equal(np.load(io.BytesIO(viz.npy_bytes(arr))), arr)


def test_overlay_blends_the_enlarged_map() -> None:
    view = np.zeros((8, 8, 3), np.uint8)
    values = np.array([[0.0, 0.0], [0.0, 1.0]], np.float32)
    out = viz.overlay(view, values, alpha=1.0, scale="grey")
    assert out.shape == (8, 8, 3)
    assert out[0, 0].tolist() == [0, 0, 0] and out[7, 7].tolist() == [255, 255, 255]
    assert (viz.overlay(view, values, alpha=0.0) == 0).all()


def test_first_layer_patches_keep_colour_and_sign() -> None:
    w = torch.zeros(2, 3, 1, 1)
    w[0, 0] = 1.0  # pure red-positive kernel
    w[1, 2] = -1.0  # negative blue
    img = viz.first_layer_patches(w, zoom=2, cols=2)
    assert img.shape == (2, 2 + 2 + 2, 3)
    assert img[0, 0].tolist() == [255, 128, 128]
    assert img[0, 4].tolist() == [128, 128, 0]


def test_kernel_grid_bounds_and_diverging_scale() -> None:
    w = torch.zeros(3, 2, 3, 3)
    w[1, 1, 1, 1] = 2.0
    img = viz.kernel_grid(w, 1, zoom=1, cols=3)
    assert img.shape == (3, 3 * 3 + 2 * 2, 3)
    red = img[1, 5 + 1]
    white = img[0, 0]
    assert red.tolist() == viz.colour_table(viz.DIVERGING)[255].tolist()  # the darkest red
    assert red[0] > red[2] + 50 and min(white) > 230
    with pytest.raises(IndexError):
        viz.kernel_grid(w, 2)


def test_clip_box_and_field_figure() -> None:
    assert viz.clip_box((-3.0, -1.0, 4.0, 40.0), 10, 20) == (0, 0, 4, 19)
    view = np.zeros((10, 20, 3), np.uint8)
    fig = viz.field_figure(view, (-3.0, -1.0, 4.0, 40.0), (0.5, 19.5), heat=np.ones((10, 20)))
    rect = fig.layout.shapes[0]
    assert rect.line.dash == "dash" and rect.x0 == -1.5 and rect.x1 == 40.5
    fig2 = viz.field_figure(view, (1.0, 1.0, 3.0, 3.0))
    assert fig2.layout.shapes[0].line.dash == "solid"


def test_figures_build() -> None:
    assert viz.channel_figure(np.ones((3, 4))).data[0].z.shape == (3, 4)
    assert len(viz.weight_histogram(torch.randn(1000)).data[0].x) == 1000
    h = viz.weight_histogram(torch.randn(500_000), max_values=100_000)
    assert len(h.data[0].x) == 100_000
    f = viz.stats_figure(
        np.array([1.0, 0.0]), np.array([0.1, 1.0]), [0, 1], np.array([False, True])
    )
    assert list(f.data[0].marker.color) == ["#3b6fb6", "#bbbbbb"]
    p = viz.predictions_figure(["a", "b"], [0.7, 0.3])
    assert list(p.data[0].y) == ["b", "a"]


def test_colour_bar_spans_the_values_it_names() -> None:
    from explorer.viz.colour import colour_bar, colour_table

    fig = colour_bar("inferno", -2.0, 5.0, "activation")
    heat = fig.data[0]
    # the image's uint8 steps
    assert list(heat.z[0]) == list(range(256)) and (heat.zmin, heat.zmax) == (0, 255)
    # hover: the value of each step
    assert heat.customdata[0][0] == -2.0 and heat.customdata[0][-1] == 5.0
    assert [a.text for a in fig.layout.annotations] == ["-2", "5"]  # both ends labelled
    # inner ticks sit where their value falls on the 0..255 strip
    for pos, text in zip(fig.layout.xaxis.tickvals, fig.layout.xaxis.ticktext, strict=True):
        assert pos == (float(text) + 2.0) / 7.0 * 255
    assert len(colour_table("inferno")) == 256
    flat = colour_bar("viridis", 1.0, 1.0, "constant map")  # a constant channel still draws a bar
    assert [a.text for a in flat.layout.annotations] == ["1", "2"]
    named = colour_bar("viridis", 0.0, 1.0, "montage", ("lowest", "highest"))
    assert [a.text for a in named.layout.annotations] == ["lowest", "highest"]
    assert list(named.layout.xaxis.tickvals) == []


@pytest.mark.parametrize("scale", ["viridis", "grey", "inferno"])
def test_indexed_pngs_decode_to_the_rgb_pictures(scale: str) -> None:
    """The strip and the montage a page sends (palette PNGs) show the RGB pictures' colours; a
    tile's top value 255 is drawn with entry 254 (255 is the gaps' white)."""
    rng = np.random.default_rng(1)
    tiles = rng.integers(0, 256, (6, 5, 7), dtype=np.uint8)
    tiles[0, 0, 0] = 255
    clamped = np.minimum(tiles, 254)
    order = [4, 1, 5, 0, 2, 3]
    strip = np.asarray(
        Image.open(
            io.BytesIO(viz.overview_strip_png(tiles, order, k=4, tile=16, scale=scale))
        ).convert("RGB")
    )
    assert np.array_equal(strip, viz.overview_strip(clamped, order, k=4, tile=16, scale=scale))
    png = viz.montage_png(tiles, order, scale=scale, gap=1, min_width=60)
    back = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    assert np.array_equal(back, viz.montage_rgb(clamped, order, scale=scale, gap=1, min_width=60))
    assert Image.open(io.BytesIO(png)).mode == "P"  # one byte a pixel
