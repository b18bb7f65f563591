"""The course's CNN operations one at a time, for the Convolution basics page.

Each function wraps torch's own operator (``F.conv2d``, ``F.max_pool2d``...) so what the page
shows is exactly what a network computes, and checks its settings first so an impossible
combination gets a sentence, not a stack trace.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


class LayerSettingsError(ValueError):
    """A convolution or pooling setting that cannot work on this input."""


@dataclass(frozen=True)
class Kernel:
    name: str
    weights: tuple[tuple[float, ...], ...]
    description: str

    def tensor(self) -> torch.Tensor:
        return torch.tensor(self.weights, dtype=torch.float32)


KERNELS: dict[str, Kernel] = {k.name: k for k in [
    Kernel("vertical edges (Sobel x)", ((-1, 0, 1), (-2, 0, 2), (-1, 0, 1)),
           "Responds where brightness changes from left to right."),
    Kernel("horizontal edges (Sobel y)", ((-1, -2, -1), (0, 0, 0), (1, 2, 1)),
           "Responds where brightness changes from top to bottom."),
    Kernel("outline (Laplacian)", ((0, 1, 0), (1, -4, 1), (0, 1, 0)),
           "Responds to spots and outlines in every direction."),
    Kernel("blur (box 3x3)", tuple(tuple(1 / 9 for _ in range(3)) for _ in range(3)),
           "Averages each 3x3 neighbourhood: a low-pass filter."),
    Kernel("sharpen", ((0, -1, 0), (-1, 5, -1), (0, -1, 0)), "Boosts a pixel against its neighbours."),
    Kernel("identity", ((0, 0, 0), (0, 1, 0), (0, 0, 0)), "Copies the input: a sanity check."),
]}  # fmt: skip


def output_size(n: int, f: int, p: int = 0, s: int = 1, d: int = 1) -> int:
    """Output side length ``floor((N - F + 2P) / S) + 1`` (with dilation: F -> d(F - 1) + 1)."""
    if s < 1:
        raise LayerSettingsError(f"The stride must be at least 1 (got {s}).")
    if p < 0:
        raise LayerSettingsError(f"The padding cannot be negative (got {p}).")
    if f < 1:
        raise LayerSettingsError(f"The filter needs at least one pixel (got {f}).")
    span = d * (f - 1) + 1
    if n + 2 * p < span:
        raise LayerSettingsError(
            f"A {span}x{span} filter does not fit a {n}x{n} input with padding {p}: "
            f"(N - F + 2P) / S + 1 = ({n} - {span} + {2 * p}) / {s} + 1 < 1. "
            "Use a smaller filter or more padding."
        )
    return (n - span + 2 * p) // s + 1


def formula(n: int, f: int, p: int, s: int) -> str:
    """The formula with the numbers filled in, as LaTeX."""
    out = output_size(n, f, p, s)
    exact = (n - f + 2 * p) / s + 1
    floor = "" if exact == out else r"\rfloor"
    lead = "" if exact == out else r"\lfloor"
    return (rf"\text{{output}} = {lead}\frac{{N - F + 2P}}{{S}}{floor} + 1 = {lead}\frac{{{n} - {f} + 2 \cdot {p}}}"
            rf"{{{s}}}{floor} + 1 = {out}")  # fmt: skip


def convolve(image: torch.Tensor, kernel: torch.Tensor, stride: int = 1, padding: int = 0) -> torch.Tensor:
    """One filter over a grey image: H x W -> H' x W' (cross-correlation, as in every framework)."""
    h, w = image.shape
    f = kernel.shape[-1]
    output_size(min(h, w), f, padding, stride)
    # 1 x 1 x H x W conv 1 x 1 x F x F -> 1 x 1 x H' x W'
    return F.conv2d(image[None, None], kernel[None, None], stride=stride, padding=padding)[0, 0]


def pool(x: torch.Tensor, kind: str, size: int, stride: int) -> torch.Tensor:
    """Max or average pooling of an H x W map."""
    output_size(min(x.shape), size, 0, stride)
    op = {"max": F.max_pool2d, "average": F.avg_pool2d}.get(kind)
    if op is None:
        raise LayerSettingsError(f"Unknown pooling {kind!r}: use 'max' or 'average'.")
    return op(x[None, None], size, stride)[0, 0]


def softmax_cross_entropy(logits: list[float], target: int) -> tuple[list[float], float]:
    """Class probabilities and the cross-entropy loss -log p[target]."""
    if not 0 <= target < len(logits):
        raise LayerSettingsError(f"The true class must be one of 0..{len(logits) - 1}.")
    z = torch.tensor(logits, dtype=torch.float64)
    probs = torch.softmax(z, dim=0)
    loss = F.cross_entropy(z[None], torch.tensor([target]))
    return probs.tolist(), float(loss)


def to_grey(image: torch.Tensor, size: int) -> torch.Tensor:
    """3 x H x W (or 1 x H x W) in [0, 1] -> size x size grey, ITU-R 601 luma, antialiased."""
    if image.shape[0] == 3:
        image = (0.299 * image[0] + 0.587 * image[1] + 0.114 * image[2])[None]
    # 1 x H x W -> 1 x 1 x size x size
    return F.interpolate(image[None], size=(size, size), mode="bilinear", antialias=True, align_corners=False)[0, 0]
