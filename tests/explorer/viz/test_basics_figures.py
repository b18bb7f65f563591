"""Figures of the Convolution basics page: whole-cell ticks on every integer grid, cell numbers
readable on a projector, ReLU's zeroed cells in one colour."""

from __future__ import annotations

import pytest
import torch

from explorer.basics import KERNELS, conv_as_dense, sliding_steps
from explorer.viz.cell_grid import integer_dtick
from explorer.viz.convolution_figures import ZEROED, dense_matrix, relu_pair
from explorer.viz.sliding_window import step_figure

SOBEL = torch.tensor(KERNELS["vertical edges (Sobel x)"].weights, dtype=torch.float64)


def _ticks(n: int, dtick: int) -> list[float]:
    """The tick positions plotly draws on a cell axis of range [-0.5, n - 0.5] from tick0 = 0."""
    return [k * dtick for k in range(n) if k * dtick <= n - 0.5]


@pytest.mark.parametrize("n", [1, 2, 3, 7, 10, 11, 16, 64, 225])
def test_cell_axes_tick_whole_cells_only(n: int) -> None:
    d = integer_dtick(n)
    assert isinstance(d, int) and d >= 1
    assert all(float(t).is_integer() for t in _ticks(n, d))
    assert 1 <= len(_ticks(n, d)) <= 11  # readable: never more than about ten labels


@pytest.mark.parametrize(
    ("side", "kernel", "padding", "stride"),
    [(7, SOBEL, 0, 3), (8, torch.ones(1, 1), 0, 1), (12, SOBEL, 2, 1)],
)
def test_step_figure_axes_have_integer_ticks(
    side: int, kernel: torch.Tensor, padding: int, stride: int
) -> None:
    steps = sliding_steps(torch.rand(side, side, dtype=torch.float64), kernel, stride, padding)
    layout = step_figure(steps, 0).to_dict()["layout"]
    for axis in ("xaxis", "yaxis", "xaxis2", "yaxis2", "xaxis3", "yaxis3"):
        assert layout[axis]["tick0"] == 0 and isinstance(layout[axis]["dtick"], int), axis
    # 1 x 1 output: one tick, at 0
    assert layout["xaxis3"]["range"] == [-0.5, steps.out_shape[1] - 0.5]


def test_projector_cell_numbers_are_at_least_16_px() -> None:
    steps = sliding_steps(
        torch.rand(12, 12, dtype=torch.float64), torch.ones(5, 5, dtype=torch.float64), 1, 2
    )
    small = [
        t["textfont"]["size"] for t in step_figure(steps, 3).to_dict()["data"] if "textfont" in t
    ]
    large = [
        t["textfont"]["size"]
        for t in step_figure(steps, 3, large=True).to_dict()["data"]
        if "textfont" in t
    ]
    assert min(small) < 16 and len(large) == len(small) >= 3
    assert min(large) >= 16


def test_dense_matrix_ticks_whole_pixels() -> None:
    weight, _ = conv_as_dense((3, 3), SOBEL, 0.0, 1, 1)
    layout = dense_matrix(weight, "W").to_dict()["layout"]
    assert (
        layout["xaxis"]["dtick"] == 1
        and layout["yaxis"]["dtick"] == 1
        and layout["xaxis"]["tick0"] == 0
    )


def test_relu_pair_paints_every_negative_cell_and_only_those_in_one_colour() -> None:
    x = torch.tensor([[-1.0, 2.0], [0.5, -3.0]])
    data = relu_pair(x).data
    kept, zeroed = data[1].z, data[2].z
    assert data[2].colorscale[0][1] == data[2].colorscale[-1][1] == ZEROED  # one colour
    for i in range(2):
        for j in range(2):
            negative = bool(x[i, j] <= 0)
            assert (zeroed[i][j] == 0) == negative
            assert (kept[i][j] == kept[i][j]) == (not negative)  # NaN != NaN
    assert torch.equal(torch.relu(x), torch.tensor([[0.0, 2.0], [0.5, 0.0]]))
