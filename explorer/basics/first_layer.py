"""One unit of a real network's first convolution written out as kernel x patch, per input
channel, plus the bias: the bridge from the page's toy filter to a trained model (Feature maps).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


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
        names = (
            channel_names
            if channel_names and len(channel_names) == c_in
            else tuple(f"input channel {i}" for i in range(c_in))
        )
        f = self.weight.shape[-1]
        lines = [
            f"first convolution (module {self.conv_name}), filter {self.channel}, unit ({self.row}, "
            f"{self.col}): {c_in} x {f} x {f} kernel x patch"
        ]
        lines += [
            f"  {names[i]:<16} sum(w * x) = {float(self.per_channel[i]):+.4f}" for i in range(c_in)
        ]
        lines.append(f"  {'bias':<16}            {self.bias:+.4f}")
        lines.append(
            f"  total = {self.total:+.4f}   torch's conv2d: {self.torch_value:+.4f}"
            f"   after ReLU: {max(0.0, self.total):.4f}"
        )
        return "\n".join(lines)


def first_conv(model: torch.nn.Module) -> tuple[str, torch.nn.Conv2d] | None:
    """The first ``nn.Conv2d`` a model registers (its first layer for every CNN of the catalog)."""
    return next(((n, m) for n, m in model.named_modules() if isinstance(m, torch.nn.Conv2d)), None)


def first_layer_unit(
    model: torch.nn.Module, x: torch.Tensor, channel: int, row: int, col: int
) -> UnitSum | None:
    """Kernel x patch for unit (row, col) of the first convolution's filter ``channel`` on the
    model input x (1 x C x H x W, as the model sees it); None when the model has no plain conv."""
    found = first_conv(model)
    if found is None:
        return None
    name, conv = found
    if (
        conv.groups != 1
        or not isinstance(conv.padding, tuple)
        or not 0 <= channel < conv.out_channels
    ):
        return None
    (sh, sw), (ph, pw), (dh, dw) = conv.stride, conv.padding, conv.dilation
    kh, kw = conv.kernel_size
    weight = conv.weight.detach()[channel].float().cpu()  # C_in x F x F
    bias = float(conv.bias.detach()[channel]) if conv.bias is not None else 0.0
    xi = x.detach().float().cpu()
    out = F.conv2d(
        xi,
        conv.weight.detach().float().cpu(),
        None if conv.bias is None else conv.bias.detach().float().cpu(),
        conv.stride,
        conv.padding,
        conv.dilation,
    )
    if not (0 <= row < out.shape[-2] and 0 <= col < out.shape[-1]):
        return None
    padded = F.pad(xi[0], (pw, pw, ph, ph))  # C x (H + 2P) x (W + 2P)
    top, left = row * sh, col * sw
    patch = padded[:, top : top + dh * (kh - 1) + 1 : dh, left : left + dw * (kw - 1) + 1 : dw]
    per_channel = (patch * weight).sum(dim=(1, 2))
    total = float(per_channel.sum()) + bias
    return UnitSum(
        name,
        channel,
        row,
        col,
        patch,
        weight,
        per_channel,
        bias,
        total,
        float(out[0, channel, row, col]),
    )


def is_first_layer_field(
    model: torch.nn.Module, size: tuple[float, float], jump: tuple[float, float]
) -> bool:
    """True when a layer's receptive field (size, jump) is exactly the first convolution's
    window: its units are that convolution's outputs (possibly after ReLU / pooling-free ops)."""
    found = first_conv(model)
    if found is None:
        return False
    conv = found[1]
    span = tuple(d * (k - 1) + 1 for k, d in zip(conv.kernel_size, conv.dilation, strict=True))
    return tuple(size) == span and tuple(jump) == tuple(conv.stride)
