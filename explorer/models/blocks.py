"""Building blocks named as in the papers (and in d2l's chapters).

Every activation is its own ``nn.ReLU`` module (never functional, never in-place), so
the capture mechanism can hook each one and a captured tensor is never overwritten.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn


def conv_relu(c_in: int, c_out: int, k: int, s: int = 1, p: int = 0) -> list[nn.Module]:
    """Convolution followed by its own ReLU module."""
    return [nn.Conv2d(c_in, c_out, k, s, p), nn.ReLU()]


def vgg_block(num_convs: int, c_in: int, c_out: int) -> nn.Sequential:
    """VGG's idea: a run of 3x3 convolutions (padding 1 keeps H x W), then a 2x2 max-pool halves it."""
    layers: list[nn.Module] = []
    for _ in range(num_convs):
        layers += conv_relu(c_in, c_out, 3, 1, 1)
        c_in = c_out
    layers.append(nn.MaxPool2d(2, 2))
    return nn.Sequential(*layers)


def nin_block(c_in: int, c_out: int, k: int, s: int, p: int) -> nn.Sequential:
    """NiN's idea: one spatial convolution, then two 1x1 convolutions act as a per-pixel MLP."""
    return nn.Sequential(
        *conv_relu(c_in, c_out, k, s, p), *conv_relu(c_out, c_out, 1), *conv_relu(c_out, c_out, 1)
    )


class Inception(nn.Module):
    """GoogLeNet's block: four parallel branches concatenated along channels.

    c1: 1x1 | c2: 1x1 bottleneck -> 3x3 | c3: 1x1 bottleneck -> 5x5 | c4: 3x3 max-pool -> 1x1.
    The 1x1 bottlenecks shrink the channels before the costly 3x3 and 5x5 convolutions.
    """

    def __init__(self, c_in: int, c1: int, c2: tuple[int, int], c3: tuple[int, int], c4: int):
        super().__init__()
        self.b1 = nn.Sequential(*conv_relu(c_in, c1, 1))
        self.b2 = nn.Sequential(*conv_relu(c_in, c2[0], 1), *conv_relu(c2[0], c2[1], 3, 1, 1))
        self.b3 = nn.Sequential(*conv_relu(c_in, c3[0], 1), *conv_relu(c3[0], c3[1], 5, 1, 2))
        self.b4 = nn.Sequential(nn.MaxPool2d(3, 1, 1), *conv_relu(c_in, c4, 1))
        self.out_channels = c1 + c2[1] + c3[1] + c4

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # N x C_in x H x W -> N x (c1 + c2 + c3 + c4) x H x W
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], dim=1)


class ZeroPadShortcut(nn.Module):
    """He et al.'s parameter-free shortcut ("option A", their CIFAR networks): identity, and
    where a block halves H x W and widens, a stride-2 subsample padded with zero channels."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1):
        super().__init__()
        if c_out < c_in:
            raise ValueError(f"a zero-padding shortcut cannot narrow {c_in} channels to {c_out}")
        self.extra, self.stride = c_out - c_in, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, :: self.stride, :: self.stride]  # N x C_in x H/s x W/s
        return F.pad(x, (0, 0, 0, 0, 0, self.extra))  # N x C_out x H/s x W/s, new channels zero


class Residual(nn.Module):
    """ResNet's basic block: y = ReLU(F(x) + shortcut(x)), F = conv-BN-ReLU-conv-BN.

    ``shortcut="projection"`` uses a 1x1 convolution (+ BN) where the shape changes (option B,
    torchvision's choice); ``"zero_pad"`` keeps every shortcut parameter-free (option A).
    With ``residual=False`` the shortcut is dropped and the same layers form a plain block,
    the "plain twin" used to show why very deep plain networks stop learning.
    """

    def __init__(
        self,
        c_in: int,
        c_out: int,
        stride: int = 1,
        *,
        batch_norm: bool = True,
        residual: bool = True,
        shortcut: Literal["projection", "zero_pad"] = "projection",
    ):
        super().__init__()
        norm = nn.BatchNorm2d if batch_norm else nn.Identity
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=not batch_norm)
        self.bn1 = norm(c_out)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=not batch_norm)
        self.bn2 = norm(c_out)
        self.residual = residual
        self.shortcut: nn.Module = nn.Identity()
        if residual and (stride != 1 or c_in != c_out):
            if shortcut == "zero_pad":
                self.shortcut = ZeroPadShortcut(c_in, c_out, stride)
            else:
                self.shortcut = nn.Sequential(
                    nn.Conv2d(c_in, c_out, 1, stride, bias=False), norm(c_out)
                )
        self.relu2 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        if self.residual:
            y = y + self.shortcut(x)
        return self.relu2(y)
