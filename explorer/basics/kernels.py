"""The filters and images the Convolution basics page works on: named 3x3 kernels, a grid the
user types, kernels resized without changing what they do, RGB filter banks, and an image
brought to the page's grey or colour grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from explorer.basics.sizes import LayerSettingsError


@dataclass(frozen=True)
class Kernel:
    name: str
    weights: tuple[tuple[float, ...], ...]
    description: str

    def tensor(self) -> torch.Tensor:
        return torch.tensor(self.weights, dtype=torch.float32)


KERNELS: dict[str, Kernel] = {
    k.name: k
    for k in [
        Kernel(
            "vertical edges (Sobel x)",
            ((-1, 0, 1), (-2, 0, 2), (-1, 0, 1)),
            "Responds where brightness changes from left to right.",
        ),
        Kernel(
            "horizontal edges (Sobel y)",
            ((-1, -2, -1), (0, 0, 0), (1, 2, 1)),
            "Responds where brightness changes from top to bottom.",
        ),
        Kernel(
            "outline (Laplacian)",
            ((0, 1, 0), (1, -4, 1), (0, 1, 0)),
            "Responds to spots and outlines in every direction.",
        ),
        Kernel(
            "blur (box 3x3)",
            tuple(tuple(1 / 9 for _ in range(3)) for _ in range(3)),
            "Averages each 3x3 neighbourhood: a low-pass filter.",
        ),
        Kernel(
            "sharpen",
            ((0, -1, 0), (-1, 5, -1), (0, -1, 0)),
            "Boosts a pixel against its neighbours.",
        ),
        Kernel("identity", ((0, 0, 0), (0, 1, 0), (0, 0, 0)), "Copies the input: a sanity check."),
    ]
}


def parse_grid(rows: list[list[object]], name: str = "kernel") -> torch.Tensor:
    """A square grid of numbers typed by the user -> tensor; one clear message on bad cells."""
    try:
        values = [[float(v) for v in row] for row in rows]
    except (TypeError, ValueError):
        raise LayerSettingsError(f"Every cell of the {name} must be a number.") from None
    if not values or any(len(r) != len(values) for r in values):
        raise LayerSettingsError(f"The {name} must be a square grid of numbers.")
    if not all(math.isfinite(v) for r in values for v in r):
        raise LayerSettingsError(f"Every cell of the {name} must be a finite number.")
    return torch.tensor(values, dtype=torch.float64)


COLOUR_FILTERS: tuple[str, ...] = (
    "your kernel on R, G and B (colour-blind edges)",
    "red minus green (colour opponent)",
    "blur of the blue channel",
    "brightness (luma weights at the centre)",
)


def colour_filters(kernel: torch.Tensor, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` (1-4) RGB filters of the kernel's size: C_out x 3 x F x F weights and C_out
    biases. Each shows a different way three channels combine into one output map."""
    if not 1 <= count <= len(COLOUR_FILTERS):
        raise LayerSettingsError(
            f"Choose between 1 and {len(COLOUR_FILTERS)} filters (got {count})."
        )
    k = kernel.to(torch.float32)
    f = k.shape[-1]
    centre = torch.zeros(f, f)
    centre[f // 2, f // 2] = 1.0
    blur = torch.full((f, f), 1.0 / (f * f))
    zero = torch.zeros(f, f)
    bank = [
        torch.stack([k, k, k]),
        torch.stack([centre, -centre, zero]),
        torch.stack([zero, zero, blur]),
        torch.stack([0.299 * centre, 0.587 * centre, 0.114 * centre]),
    ]
    biases = torch.tensor([0.0, 0.0, -0.2, 0.0])
    return torch.stack(bank[:count]), biases[:count].clone()  # C_out x 3 x F x F, C_out


def resize_kernel(values: tuple[float, ...], size: int) -> tuple[float, ...]:
    """A square kernel (row-major values) centred in a larger zero grid or cut to its centre:
    the filter keeps what it does (an identity stays an identity, Sobel stays Sobel)."""
    old = math.isqrt(len(values))
    if old * old != len(values) or size < 1 or (size - old) % 2:
        raise LayerSettingsError(
            f"Cannot resize a kernel of {len(values)} numbers to {size} x {size}."
        )
    k = torch.tensor(values, dtype=torch.float64).reshape(old, old)
    if size >= old:
        m = (size - old) // 2
        k = F.pad(k, (m, m, m, m))
    else:
        m = (old - size) // 2
        k = k[m : m + size, m : m + size]
    return tuple(float(v) for v in k.flatten())


def to_grey(image: torch.Tensor, size: int) -> torch.Tensor:
    """3 x H x W (or 1 x H x W) in [0, 1] -> size x size grey, ITU-R 601 luma, antialiased."""
    if image.shape[0] == 3:
        image = (0.299 * image[0] + 0.587 * image[1] + 0.114 * image[2])[None]
    # 1 x H x W -> 1 x 1 x size x size
    return F.interpolate(
        image[None], size=(size, size), mode="bilinear", antialias=True, align_corners=False
    )[0, 0]


def to_rgb(image: torch.Tensor, size: int) -> torch.Tensor:
    """3 x H x W (grey images repeated to 3 channels) -> 3 x size x size, antialiased."""
    if image.shape[0] == 1:
        image = image.expand(3, -1, -1)
    # 1 x 3 x H x W -> 1 x 3 x size x size
    return F.interpolate(
        image[None], size=(size, size), mode="bilinear", antialias=True, align_corners=False
    )[0]
