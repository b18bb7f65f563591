"""The course's CNN operations one at a time: one filter, its sliding window step by step, a
multi-channel convolution split per channel, the same filter as a dense layer, pooling, and the
classification heads with their losses.

Each function wraps torch's own operator (``F.conv2d``, ``F.max_pool2d``...) so what the page
shows is exactly what a network computes, and checks its settings first
(:mod:`explorer.basics.sizes`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from explorer.basics.sizes import LayerSettingsError, output_size, pool_output_size


def convolve(
    image: torch.Tensor,
    kernel: torch.Tensor,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    bias: float = 0.0,
) -> torch.Tensor:
    """One filter over a grey image: H x W -> H' x W' (cross-correlation, as in every framework)."""
    h, w = image.shape
    f = kernel.shape[-1]
    output_size(min(h, w), f, padding, stride, dilation)
    b = torch.tensor([bias], dtype=image.dtype)
    # 1 x 1 x H x W conv 1 x 1 x F x F -> 1 x 1 x H' x W'
    return F.conv2d(
        image[None, None], kernel[None, None].to(image.dtype), b, stride, padding, dilation
    )[0, 0]


@dataclass(frozen=True)
class SlidingSteps:
    """Every position of the sliding window, computed once (the page animates them client-side).

    ``padded`` is the input with its zero border; ``patches[k]`` is the F x F patch the filter
    sees at step k (row-major over the output), ``products[k]`` the element-wise products,
    ``sums[k]`` their sum plus the bias, ``output`` torch's own ``F.conv2d`` result.
    """

    padded: torch.Tensor  # (H + 2P) x (W + 2P)
    kernel: torch.Tensor  # F x F
    bias: float
    stride: int
    padding: int
    dilation: int
    patches: torch.Tensor  # steps x F x F
    products: torch.Tensor  # steps x F x F
    sums: torch.Tensor  # steps
    output: torch.Tensor  # H' x W'

    @property
    def out_shape(self) -> tuple[int, int]:
        return int(self.output.shape[0]), int(self.output.shape[1])

    def __len__(self) -> int:
        return int(self.sums.numel())

    def position(self, step: int) -> tuple[int, int]:
        """(output row, output column) of a step."""
        return divmod(step, self.out_shape[1])

    def top_left(self, step: int) -> tuple[int, int]:
        """Top-left corner of the window in padded-input coordinates."""
        r, c = self.position(step)
        return r * self.stride, c * self.stride

    def cells(self, step: int) -> list[tuple[int, int]]:
        """Padded-input (row, column) of every kernel tap at a step (dilation spreads them)."""
        top, left = self.top_left(step)
        f = self.kernel.shape[0]
        return [
            (top + i * self.dilation, left + j * self.dilation) for i in range(f) for j in range(f)
        ]


def sliding_steps(
    image: torch.Tensor,
    kernel: torch.Tensor,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    bias: float = 0.0,
) -> SlidingSteps:
    """Patches, products and sums at every window position; the output is torch's conv2d."""
    x = image.to(torch.float64)
    k = kernel.to(torch.float64)
    f = k.shape[-1]
    output = convolve(x, k, stride, padding, dilation, bias)
    padded = F.pad(x, (padding,) * 4)  # zeros drawn as zeros
    # 1 x 1 x H+2P x W+2P -> 1 x F*F x L (one column per window position, row-major)
    cols = F.unfold(padded[None, None], f, dilation=dilation, stride=stride)[0]
    patches = cols.T.reshape(-1, f, f)  # L x F x F
    products = patches * k
    sums = products.sum(dim=(1, 2)) + bias
    return SlidingSteps(
        padded, k, float(bias), stride, padding, dilation, patches, products, sums, output
    )


@dataclass(frozen=True)
class ChannelBreakdown:
    """A multi-channel convolution split into its parts: each input channel's own 2-D result,
    their sum plus the bias, and torch's output (equal, tested)."""

    per_channel: torch.Tensor  # C_out x C_in x H' x W'
    bias: torch.Tensor  # C_out
    output: torch.Tensor  # C_out x H' x W'


def channel_breakdown(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
) -> ChannelBreakdown:
    """x: C_in x H x W, weight: C_out x C_in x F x F. Per-channel results via a grouped conv."""
    c_out, c_in, f, _ = weight.shape
    if x.shape[0] != c_in:
        raise LayerSettingsError(f"The filter has {c_in} channels but the input has {x.shape[0]}.")
    output_size(min(x.shape[1:]), f, padding, stride, dilation)
    # groups=C_in convolves each input channel with its own slice: 1 x C_in x H x W -> 1 x C_out*C_in x H' x W'
    w = weight.transpose(0, 1).reshape(c_in * c_out, 1, f, f)
    parts = F.conv2d(x[None], w, None, stride, padding, dilation, groups=c_in)[0]
    per_channel = parts.reshape(c_in, c_out, *parts.shape[1:]).transpose(0, 1)
    output = F.conv2d(x[None], weight, bias, stride, padding, dilation)[0]
    return ChannelBreakdown(per_channel, bias, output)


def conv_as_dense(
    shape: tuple[int, int],
    kernel: torch.Tensor,
    bias: float = 0.0,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The dense layer y = Wx + b that computes the same as one filter on an H x W map.

    W has one row per output pixel, one column per input pixel; each row holds the same F x F
    weights at a shifted place and zeros elsewhere: weight sharing made visible. Built by
    convolving every one-hot input image (torch's conv2d, so borders and padding match).
    """
    h, w = shape
    f = kernel.shape[-1]
    output_size(min(h, w), f, padding, stride, dilation)
    basis = torch.eye(h * w, dtype=kernel.dtype).reshape(h * w, 1, h, w)  # one-hot images
    # (H*W) x 1 x H x W -> (H*W) x 1 x H' x W': column j of W is the response to pixel j
    responses = F.conv2d(basis, kernel[None, None], None, stride, padding, dilation)
    weight = responses.reshape(h * w, -1).T.contiguous()  # (H'*W') x (H*W)
    return weight, torch.full((weight.shape[0],), float(bias), dtype=kernel.dtype)


def pool(x: torch.Tensor, kind: str, size: int, stride: int, padding: int = 0) -> torch.Tensor:
    """Max or average pooling of an H x W map or a C x H x W stack (every channel)."""
    op = {"max": F.max_pool2d, "average": F.avg_pool2d}.get(kind)
    if op is None:
        raise LayerSettingsError(f"Unknown pooling {kind!r}: use 'max' or 'average'.")
    pool_output_size(min(x.shape[-2:]), size, stride, padding)
    if x.dim() == 2:
        return op(x[None, None], size, stride, padding)[0, 0]
    return op(x[None], size, stride, padding)[0]  # 1 x C x H x W -> 1 x C x H' x W'


def global_average_pool(x: torch.Tensor) -> torch.Tensor:
    """C x H x W -> C: each channel's mean, torch's adaptive_avg_pool2d to 1 x 1."""
    return F.adaptive_avg_pool2d(x[None], 1)[0, :, 0, 0]


def softmax_cross_entropy(logits: list[float], target: int) -> tuple[list[float], float]:
    """Class probabilities and the cross-entropy loss -log p[target]."""
    if not 0 <= target < len(logits):
        raise LayerSettingsError(f"The true class must be one of 0..{len(logits) - 1}.")
    z = torch.tensor(logits, dtype=torch.float64)
    probs = torch.softmax(z, dim=0)
    loss = F.cross_entropy(z[None], torch.tensor([target]))
    return probs.tolist(), float(loss)


def sigmoid_binary_cross_entropy(logit: float, target: int) -> tuple[float, float]:
    """The course's Keras head: Dense(1, sigmoid) gives p = sigmoid(z), the probability of class
    1; binary cross-entropy is -[y log p + (1 - y) log(1 - p)]."""
    if target not in (0, 1):
        raise LayerSettingsError(f"The true label of a binary task is 0 or 1 (got {target}).")
    z = torch.tensor([logit], dtype=torch.float64)
    p = torch.sigmoid(z)
    loss = F.binary_cross_entropy(p, torch.tensor([float(target)], dtype=torch.float64))
    return float(p), float(loss)


def dense_forward(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """y = Wx + b on the flattened map (torch's ``F.linear``): H x W -> H'*W'."""
    return F.linear(x.flatten().to(weight.dtype), weight, bias)
