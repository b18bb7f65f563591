"""The course's CNN operations one at a time, for the Convolution basics page.

Each function wraps torch's own operator (``F.conv2d``, ``F.max_pool2d``...) so what the page
shows is exactly what a network computes, and checks its settings first so an impossible
combination gets one sentence naming the rule, not a stack trace. The checks refuse exactly
what torch refuses or what gives an output side <= 0 (tested against torch on a grid).
"""

from __future__ import annotations

import math
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


@dataclass(frozen=True)
class ConvPreset:
    """A layer of the course or of a paper, as (N, F, P, S) of the output-size formula."""

    name: str
    n: int
    f: int
    p: int
    s: int
    note: str


PRESETS: dict[str, ConvPreset] = {p.name: p for p in [
    ConvPreset("LeNet-5 C1", 32, 5, 0, 1, "LeCun et al. 1998: 32x32 digit, six 5x5 filters, no padding -> 28x28."),
    ConvPreset("AlexNet conv1", 227, 11, 0, 4,
               "Krizhevsky et al. 2012: 96 filters of 11x11, stride 4 (227 makes the formula exact; "
               "the paper's text says 224)."),
    ConvPreset("VGG 3x3 'same'", 224, 3, 1, 1, "Simonyan & Zisserman 2014: every convolution 3x3, padding 1 "
               "keeps 224x224."),
    ConvPreset("Keras Conv2D(32, (3,3)) on 64x64", 64, 3, 0, 1,
               "The course's first layer: Keras's default padding is 'valid' (P = 0): 64 -> 62."),
]}  # fmt: skip


def effective_kernel(f: int, d: int = 1) -> int:
    """The span a dilated kernel covers: d(F - 1) + 1 (dilation 1: F itself)."""
    return d * (f - 1) + 1


def conv_problem(n: int, f: int, p: int = 0, s: int = 1, d: int = 1) -> str | None:
    """The rule an (N, F, P, S, dilation) convolution breaks, or None when torch accepts it."""
    if s < 1:
        return f"The stride must be at least 1 (got S = {s})."
    if p < 0:
        return f"The padding cannot be negative (got P = {p})."
    if f < 1 or d < 1:
        return f"The filter needs at least one pixel and dilation at least 1 (got F = {f}, d = {d})."
    span = effective_kernel(f, d)
    if n + 2 * p < span:
        return (
            f"The filter must fit inside the padded input: N + 2P = {n} + {2 * p} = {n + 2 * p} "
            f"is smaller than the filter's span {span}, so the output side "
            f"floor((N + 2P - F) / S) + 1 would be <= 0. Use a smaller filter or more padding."
        )
    return None


def pool_problem(n: int, k: int, s: int, p: int = 0) -> str | None:
    """The rule a pooling window breaks (torch's own two), or None when torch accepts it."""
    if s < 1 or k < 1:
        return f"Window and stride must be at least 1 (got {k} and {s})."
    if p < 0:
        return f"The padding cannot be negative (got P = {p})."
    if p > k // 2:
        return (f"Pooling padding can be at most half the window: P = {p} > {k} / 2. "
                "A window made mostly of padding would pool nothing.")  # fmt: skip
    if n + 2 * p < k:
        return (f"The {k}x{k} window does not fit the {n}x{n} map (with padding {p}): the output side "
                "floor((N + 2P - K) / S) + 1 would be <= 0.")  # fmt: skip
    return None


def output_size(n: int, f: int, p: int = 0, s: int = 1, d: int = 1) -> int:
    """Output side length ``floor((N - F + 2P) / S) + 1`` (with dilation: F -> d(F - 1) + 1)."""
    problem = conv_problem(n, f, p, s, d)
    if problem:
        raise LayerSettingsError(problem)
    return (n - effective_kernel(f, d) + 2 * p) // s + 1


def pool_output_size(n: int, k: int, s: int, p: int = 0) -> int:
    """Pooling output side ``floor((N + 2P - K) / S) + 1`` (torch's default floor mode)."""
    problem = pool_problem(n, k, s, p)
    if problem:
        raise LayerSettingsError(problem)
    return (n + 2 * p - k) // s + 1


def _num(x: float) -> str:
    return f"{x:g}" if abs(x - round(x)) > 1e-9 else str(round(x))


def formula(n: int, f: int, p: int, s: int, d: int = 1) -> str:
    """The formula with the numbers filled in, as LaTeX; the floor is always written and the
    fraction's exact value shown, so 21.5 -> 21 is visible when the stride does not divide."""
    out = output_size(n, f, p, s, d)
    span = effective_kernel(f, d)
    f_sym = "F" if d == 1 else r"F_{\text{eff}}"
    f_txt = str(f) if d == 1 else str(span)
    exact = (n - span + 2 * p) / s
    return (rf"\text{{output}} = \left\lfloor \frac{{N - {f_sym} + 2P}}{{S}} \right\rfloor + 1"
            rf" = \left\lfloor \frac{{{n} - {f_txt} + 2 \cdot {p}}}{{{s}}} \right\rfloor + 1"
            rf" = \lfloor {_num(exact)} \rfloor + 1 = {out}")  # fmt: skip


def pool_formula(n: int, k: int, s: int, p: int = 0) -> str:
    """The pooling formula with the floor and the exact fraction, as LaTeX."""
    out = pool_output_size(n, k, s, p)
    exact = (n + 2 * p - k) / s
    pad = "" if p == 0 else f" + 2 \\cdot {p}"
    pad_sym = "" if p == 0 else " + 2P"
    return (rf"\text{{output}} = \left\lfloor \frac{{N - K{pad_sym}}}{{S}} \right\rfloor + 1"
            rf" = \left\lfloor \frac{{{n} - {k}{pad}}}{{{s}}} \right\rfloor + 1"
            rf" = \lfloor {_num(exact)} \rfloor + 1 = {out}")  # fmt: skip


def same_padding(f: int, d: int = 1) -> tuple[int, int]:
    """Keras/torch "same" padding for stride 1: total d(F - 1), split (before, after); the
    extra pixel of an even kernel goes after, as both frameworks do."""
    total = d * (f - 1)
    return total // 2, total - total // 2


def resolve_padding(mode: str, f: int, p: int, s: int, d: int = 1) -> int:
    """Padding P for the formula from a mode: 'valid' (0, Keras's default), 'same', or 'custom'."""
    if mode == "valid":
        return 0
    if mode == "same":
        if s != 1:
            raise LayerSettingsError(
                "'same' padding keeps the output size only with stride 1; torch refuses it for strided "
                "convolutions (Keras pads so that output = ceil(N / S)). Use a custom P instead."
            )
        before, after = same_padding(f, d)
        if before != after:
            raise LayerSettingsError(
                f"'same' with an even filter needs {before} zero(s) before and {after} after: uneven padding "
                "is not one symmetric P. Use an odd filter size or a custom P."
            )
        return before
    if mode == "custom":
        return p
    raise LayerSettingsError(f"Unknown padding mode {mode!r}: use 'valid', 'same' or 'custom'.")


def convolve(image: torch.Tensor, kernel: torch.Tensor, stride: int = 1, padding: int = 0,
             dilation: int = 1, bias: float = 0.0) -> torch.Tensor:  # fmt: skip
    """One filter over a grey image: H x W -> H' x W' (cross-correlation, as in every framework)."""
    h, w = image.shape
    f = kernel.shape[-1]
    output_size(min(h, w), f, padding, stride, dilation)
    b = torch.tensor([bias], dtype=image.dtype)
    # 1 x 1 x H x W conv 1 x 1 x F x F -> 1 x 1 x H' x W'
    return F.conv2d(image[None, None], kernel[None, None].to(image.dtype), b, stride, padding, dilation)[0, 0]


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
        return [(top + i * self.dilation, left + j * self.dilation) for i in range(f) for j in range(f)]


def sliding_steps(image: torch.Tensor, kernel: torch.Tensor, stride: int = 1, padding: int = 0,
                  dilation: int = 1, bias: float = 0.0) -> SlidingSteps:  # fmt: skip
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
    return SlidingSteps(padded, k, float(bias), stride, padding, dilation, patches, products, sums, output)


@dataclass(frozen=True)
class ChannelBreakdown:
    """A multi-channel convolution split into its parts: each input channel's own 2-D result,
    their sum plus the bias, and torch's output (equal, tested)."""

    per_channel: torch.Tensor  # C_out x C_in x H' x W'
    bias: torch.Tensor  # C_out
    output: torch.Tensor  # C_out x H' x W'


def channel_breakdown(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, stride: int = 1,
                      padding: int = 0, dilation: int = 1) -> ChannelBreakdown:  # fmt: skip
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


def conv_params(f: int, c_in: int, c_out: int) -> int:
    """F x F x C_in x C_out weights + C_out biases."""
    return f * f * c_in * c_out + c_out


def dense_params(n_in: int, n_out: int) -> int:
    """A dense layer from n_in to n_out numbers: n_in x n_out weights + n_out biases."""
    return n_in * n_out + n_out


def conv_as_dense(shape: tuple[int, int], kernel: torch.Tensor, bias: float = 0.0, stride: int = 1,
                  padding: int = 0, dilation: int = 1) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
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


def to_grey(image: torch.Tensor, size: int) -> torch.Tensor:
    """3 x H x W (or 1 x H x W) in [0, 1] -> size x size grey, ITU-R 601 luma, antialiased."""
    if image.shape[0] == 3:
        image = (0.299 * image[0] + 0.587 * image[1] + 0.114 * image[2])[None]
    # 1 x H x W -> 1 x 1 x size x size
    return F.interpolate(image[None], size=(size, size), mode="bilinear", antialias=True, align_corners=False)[0, 0]


def to_rgb(image: torch.Tensor, size: int) -> torch.Tensor:
    """3 x H x W (grey images repeated to 3 channels) -> 3 x size x size, antialiased."""
    if image.shape[0] == 1:
        image = image.expand(3, -1, -1)
    # 1 x 3 x H x W -> 1 x 3 x size x size
    return F.interpolate(image[None], size=(size, size), mode="bilinear", antialias=True, align_corners=False)[0]


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
        raise LayerSettingsError(f"Choose between 1 and {len(COLOUR_FILTERS)} filters (got {count}).")
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


def torch_conv_check(n: int, f: int, p: int, s: int, d: int = 1, c_in: int = 1, c_out: int = 1) -> str:
    """A sentence with the shape torch's own ``nn.Conv2d`` produces for these settings (run on the
    meta device: no memory, no arithmetic) and its parameter count."""
    layer = torch.nn.Conv2d(c_in, c_out, f, stride=s, padding=p, dilation=d, device="meta")
    out = layer(torch.empty(1, c_in, n, n, device="meta"))  # 1 x C_in x N x N -> 1 x C_out x N' x N'
    params = sum(t.numel() for t in layer.parameters())
    extra = f", dilation={d}" if d != 1 else ""
    return (f"torch agrees: nn.Conv2d({c_in}, {c_out}, {f}, stride={s}, padding={p}{extra}) turns "
            f"1 x {c_in} x {n} x {n} into {' x '.join(map(str, out.shape))} and has {params:,} parameters.")


def dense_forward(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """y = Wx + b on the flattened map (torch's ``F.linear``): H x W -> H'*W'."""
    return F.linear(x.flatten().to(weight.dtype), weight, bias)


@dataclass(frozen=True)
class UnitSum:
    """One unit of a network's first convolution written out: kernel x patch summed per input
    channel, plus the bias, equal to torch's own conv2d output at that unit."""

    conv_name: str
    channel: int
    row: int
    col: int
    patch: torch.Tensor  # C_in x F x F (the input the unit sees, padding zeros included)
    weight: torch.Tensor  # C_in x F x F
    per_channel: torch.Tensor  # C_in sums of products
    bias: float
    total: float  # sum of products + bias
    torch_value: float  # F.conv2d(x, weight, bias, ...)[channel, row, col]

    def text(self, channel_names: tuple[str, ...] | None = None) -> str:
        """The sum as plain text, one line per input channel."""
        c_in = self.per_channel.numel()
        names = channel_names if channel_names and len(channel_names) == c_in else tuple(
            f"input channel {i}" for i in range(c_in))
        f = self.weight.shape[-1]
        lines = [f"first convolution (module {self.conv_name}), filter {self.channel}, unit ({self.row}, "
                 f"{self.col}): {c_in} x {f} x {f} kernel x patch"]  # fmt: skip
        lines += [f"  {names[i]:<16} sum(w * x) = {float(self.per_channel[i]):+.4f}" for i in range(c_in)]
        lines.append(f"  {'bias':<16}            {self.bias:+.4f}")
        lines.append(f"  total = {self.total:+.4f}   torch's conv2d: {self.torch_value:+.4f}"
                     f"   after ReLU: {max(0.0, self.total):.4f}")  # fmt: skip
        return "\n".join(lines)


def first_conv(model: torch.nn.Module) -> tuple[str, torch.nn.Conv2d] | None:
    """The first ``nn.Conv2d`` a model registers (its first layer for every CNN of the catalog)."""
    return next(((n, m) for n, m in model.named_modules() if isinstance(m, torch.nn.Conv2d)), None)


def first_layer_unit(model: torch.nn.Module, x: torch.Tensor, channel: int, row: int, col: int) -> UnitSum | None:
    """Kernel x patch for unit (row, col) of the first convolution's filter ``channel`` on the
    model input x (1 x C x H x W, as the model sees it); None when the model has no plain conv."""
    found = first_conv(model)
    if found is None:
        return None
    name, conv = found
    if conv.groups != 1 or not isinstance(conv.padding, tuple) or not 0 <= channel < conv.out_channels:
        return None
    (sh, sw), (ph, pw), (dh, dw) = conv.stride, conv.padding, conv.dilation
    kh, kw = conv.kernel_size
    weight = conv.weight.detach()[channel].float().cpu()  # C_in x F x F
    bias = float(conv.bias.detach()[channel]) if conv.bias is not None else 0.0
    xi = x.detach().float().cpu()
    out = F.conv2d(xi, conv.weight.detach().float().cpu(),
                   None if conv.bias is None else conv.bias.detach().float().cpu(),
                   conv.stride, conv.padding, conv.dilation)  # fmt: skip
    if not (0 <= row < out.shape[-2] and 0 <= col < out.shape[-1]):
        return None
    padded = F.pad(xi[0], (pw, pw, ph, ph))  # C x (H + 2P) x (W + 2P)
    top, left = row * sh, col * sw
    patch = padded[:, top:top + dh * (kh - 1) + 1:dh, left:left + dw * (kw - 1) + 1:dw]
    per_channel = (patch * weight).sum(dim=(1, 2))
    total = float(per_channel.sum()) + bias
    return UnitSum(name, channel, row, col, patch, weight, per_channel, bias, total, float(out[0, channel, row, col]))


def is_first_layer_field(model: torch.nn.Module, size: tuple[float, float], jump: tuple[float, float]) -> bool:
    """True when a layer's receptive field (size, jump) is exactly the first convolution's
    window: its units are that convolution's outputs (possibly after ReLU / pooling-free ops)."""
    found = first_conv(model)
    if found is None:
        return False
    conv = found[1]
    span = tuple(d * (k - 1) + 1 for k, d in zip(conv.kernel_size, conv.dilation, strict=True))
    return tuple(size) == span and tuple(jump) == tuple(conv.stride)


def resize_kernel(values: tuple[float, ...], size: int) -> tuple[float, ...]:
    """A square kernel (row-major values) centred in a larger zero grid or cut to its centre:
    the filter keeps what it does (an identity stays an identity, Sobel stays Sobel)."""
    old = math.isqrt(len(values))
    if old * old != len(values) or size < 1 or (size - old) % 2:
        raise LayerSettingsError(f"Cannot resize a kernel of {len(values)} numbers to {size} x {size}.")
    k = torch.tensor(values, dtype=torch.float64).reshape(old, old)
    if size >= old:
        m = (size - old) // 2
        k = F.pad(k, (m, m, m, m))
    else:
        m = (old - size) // 2
        k = k[m:m + size, m:m + size]
    return tuple(float(v) for v in k.flatten())
