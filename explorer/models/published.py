"""LeNet-5, AlexNet and GoogLeNet as their papers describe them, beside the variants in use.

LeNet-5's everyday version (``explorer.models.cnn.lenet5``) is today's teaching variant: ReLU,
max-pooling, a fully connected C3 and a linear output. torchvision's AlexNet and GoogLeNet
carry the ImageNet weights, but both depart from the papers:
its AlexNet is the "one weird trick" network (64/192/384/256/256 filters, no local response
normalisation, no grouping) and its GoogLeNet puts a 3x3 convolution in the "5x5" branch and
batch norm everywhere. The builders here follow the papers' text and tables, with random
weights (nobody publishes weights for these exact layouts), so the two can be compared.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from explorer.models.blocks import Inception

# --- LeNet-5 (LeCun, Bottou, Bengio, Haffner, 1998) ----------------------------------------

# Table I: the S2 maps (0-5) each C3 map (0-15) combines. Maps 0-5 take three contiguous maps,
# 6-11 four contiguous, 12-14 four discontinuous, 15 all six: 1,516 trainable parameters.
LENET_C3_TABLE: tuple[str, ...] = (
    "012",
    "123",
    "234",
    "345",
    "045",
    "015",
    "0123",
    "1234",
    "2345",
    "0345",
    "0145",
    "0125",
    "0134",
    "1245",
    "0235",
    "012345",
)

# Section II.B's output layer compares F6's 84 units with a fixed +-1 code per class, "a stylized
# image of the corresponding character class drawn on a 7x12 bitmap". The paper prints the
# bitmaps as a picture (Fig. 3), not as numbers: these are our own 7x12 drawings of the digits
# ('#' = +1, '.' = -1), fixed, never trained.
# Row r of digits 0-9, left to right:
LENET_DIGIT_ROWS: tuple[str, ...] = (
    ".#####. ...#... .#####. .#####. #.....# ####### .#####. ####### .#####. .#####.",
    "#.....# ..##... #.....# #.....# #.....# #...... #.....# ......# #.....# #.....#",
    "#.....# .#.#... ......# ......# #.....# #...... #...... .....#. #.....# #.....#",
    "#.....# ...#... ......# ......# #.....# #...... #...... .....#. #.....# #.....#",
    "#.....# ...#... .....#. ..####. #.....# ######. #...... ....#.. .#####. #.....#",
    "#.....# ...#... ....#.. ......# ####### ......# ######. ....#.. #.....# .######",
    "#.....# ...#... ...#... ......# ......# ......# #.....# ...#... #.....# ......#",
    "#.....# ...#... ..#.... ......# ......# ......# #.....# ...#... #.....# ......#",
    "#.....# ...#... .#..... ......# ......# ......# #.....# ..#.... #.....# ......#",
    "#.....# ...#... #...... #.....# ......# #.....# #.....# ..#.... #.....# #.....#",
    ".#####. .#####. ####### .#####. ......# .#####. .#####. ..#.... .#####. .#####.",
    "....... ....... ....... ....... ....... ....... ....... ....... ....... .......",
)
# One 84-character code per digit, row after row.
LENET_DIGIT_BITMAPS: tuple[str, ...] = tuple(
    "".join(r.split()[d] for r in LENET_DIGIT_ROWS) for d in range(10)
)


class ScaledTanh(nn.Module):
    """LeCun's squashing function f(a) = 1.7159 tanh(2a/3) (Appendix A), so f(1) = 1, f(-1) = -1."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 1.7159 * torch.tanh(x * (2.0 / 3.0))


class PartialConv(nn.Module):
    """LeNet-5's C3: each output map is a 5x5 convolution of its own subset of the input maps
    (Table I), written as one small convolution per map, concatenated."""

    def __init__(self, table: str, kernel_size: int = 5):
        super().__init__()
        self.table = table  # the subsets, space separated: "012 123 ... 012345"
        for i, subset in enumerate(table.split()):
            self.add_module(f"map{i}", nn.Conv2d(len(subset), 1, kernel_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        maps = [
            getattr(self, f"map{i}")(x[:, [int(c) for c in subset]])
            for i, subset in enumerate(self.table.split())
        ]
        return torch.cat(maps, dim=1)


class EuclideanRBF(nn.Module):
    """LeNet-5's output: y_i = sum_j (x_j - w_ij)^2 against a fixed +-1 code per class (no
    trainable parameter). Returned negated, -y_i, so that the highest score is the nearest code
    (the class) as every other model here; the paper's loss reads y_i itself."""

    def __init__(self, codes: str):
        super().__init__()
        self.codes = codes  # one string of '#'/'.' per class, space separated

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = [[1.0 if c == "#" else -1.0 for c in code] for code in self.codes.split()]
        w = torch.tensor(rows, dtype=x.dtype, device=x.device)  # classes x 84
        return -((x.unsqueeze(1) - w) ** 2).sum(dim=2)


def _subsampling(channels: int) -> nn.Sequential:
    """S2 / S4: the sum of each 2x2 window, times a trainable coefficient plus a trainable bias,
    per map (2 parameters per map); the squashing follows."""
    return nn.Sequential(
        OrderedDict(
            [
                ("sum", nn.AvgPool2d(2, divisor_override=1)),  # the sum of the four inputs
                (
                    "coefficient",
                    nn.Conv2d(channels, channels, 1, groups=channels),
                ),  # w * sum + b, per map
            ]
        )
    )


def lenet5_1998(num_classes: int = 10, in_channels: int = 1) -> nn.Sequential:
    """LeNet-5 as in Section II.B: C1 (6 maps, 5x5), S2 (trainable subsampling), C3 with Table
    I's partial connections, S4, C5 (120 maps, 5x5 on 5x5 = a full connection), F6 (84), all
    with the scaled tanh, and ten Euclidean RBF units on fixed codes: 60,000 trainable parameters
    (156 + 12 + 1,516 + 32 + 48,120 + 10,164) for a 1 x 32 x 32 input."""
    if not 1 <= num_classes <= len(LENET_DIGIT_BITMAPS):
        raise ValueError(
            f"LeNet-5's RBF output has one fixed code per digit: 1 to {len(LENET_DIGIT_BITMAPS)} classes."
        )
    return nn.Sequential(
        OrderedDict(
            [
                ("c1", nn.Conv2d(in_channels, 6, 5)),
                ("f1", ScaledTanh()),  # 1 x 32 x 32 -> 6 x 28 x 28
                ("s2", _subsampling(6)),
                ("f2", ScaledTanh()),  # -> 6 x 14 x 14
                ("c3", PartialConv(" ".join(LENET_C3_TABLE))),
                ("f3", ScaledTanh()),  # -> 16 x 10 x 10
                ("s4", _subsampling(16)),
                ("f4", ScaledTanh()),  # -> 16 x 5 x 5
                ("c5", nn.Conv2d(16, 120, 5)),
                ("f5", ScaledTanh()),  # -> 120 x 1 x 1
                ("flatten", nn.Flatten()),  # N x 120
                ("f6", nn.Linear(120, 84)),
                ("f6_act", ScaledTanh()),
                ("output", EuclideanRBF(" ".join(LENET_DIGIT_BITMAPS[:num_classes]))),
            ]
        )
    )


# --- AlexNet (Krizhevsky, Sutskever, Hinton, 2012) -----------------------------------------

# Section 3.3: k = 2, n = 5, alpha = 1e-4, beta = 0.75 with b = a / (k + alpha * sum a^2)^beta.
# torch divides alpha by n (b = a / (k + alpha / n * sum a^2)^beta), so it gets n * alpha.
ALEXNET_LRN = dict(size=5, alpha=5 * 1e-4, beta=0.75, k=2.0)


def alexnet2012(num_classes: int = 1000, in_channels: int = 3) -> nn.Sequential:
    """AlexNet as in Section 3.5 and Figure 2: 96/256/384/384/256 filters, the layers that the
    paper split across two GPUs as two groups (conv2, conv4, conv5), local response
    normalisation after conv1 and conv2, overlapping 3x3/2 max-pooling, dropout in fc6/fc7.

    The paper's 224 x 224 input only gives its 55 x 55 first maps with padding 2 (or a 227
    input); we pad, as torchvision does. The adaptive pool is the identity at 224 and lets
    other input sizes through.
    """
    features = nn.Sequential(
        OrderedDict(
            [
                ("conv1", nn.Conv2d(in_channels, 96, 11, 4, 2)),
                ("relu1", nn.ReLU()),  # 3 x 224 x 224 -> 96 x 55 x 55
                ("norm1", nn.LocalResponseNorm(**ALEXNET_LRN)),
                ("pool1", nn.MaxPool2d(3, 2)),  # -> 96 x 27 x 27
                ("conv2", nn.Conv2d(96, 256, 5, 1, 2, groups=2)),
                ("relu2", nn.ReLU()),  # 2 groups of 48 -> 128
                ("norm2", nn.LocalResponseNorm(**ALEXNET_LRN)),
                ("pool2", nn.MaxPool2d(3, 2)),  # -> 256 x 13 x 13
                ("conv3", nn.Conv2d(256, 384, 3, 1, 1)),
                ("relu3", nn.ReLU()),  # conv3 sees both groups
                ("conv4", nn.Conv2d(384, 384, 3, 1, 1, groups=2)),
                ("relu4", nn.ReLU()),
                ("conv5", nn.Conv2d(384, 256, 3, 1, 1, groups=2)),
                ("relu5", nn.ReLU()),
                ("pool5", nn.MaxPool2d(3, 2)),  # -> 256 x 6 x 6
            ]
        )
    )
    classifier = nn.Sequential(
        OrderedDict(
            [
                ("fc6", nn.Linear(256 * 6 * 6, 4096)),
                ("relu6", nn.ReLU()),
                ("drop6", nn.Dropout(0.5)),
                ("fc7", nn.Linear(4096, 4096)),
                ("relu7", nn.ReLU()),
                ("drop7", nn.Dropout(0.5)),
                ("fc8", nn.Linear(4096, num_classes)),
            ]
        )
    )
    return nn.Sequential(
        OrderedDict(
            [
                ("features", features),
                ("avgpool", nn.AdaptiveAvgPool2d(6)),
                ("flatten", nn.Flatten()),  # N x 9216
                ("classifier", classifier),
            ]
        )
    )


# --- GoogLeNet / Inception v1 (Szegedy et al., 2014) ---------------------------------------

# Table 1: #1x1, (#3x3 reduce, #3x3), (#5x5 reduce, #5x5), pool proj, per Inception module.
GOOGLENET_V1: dict[str, tuple[int, tuple[int, int], tuple[int, int], int]] = {
    "inception3a": (64, (96, 128), (16, 32), 32),
    "inception3b": (128, (128, 192), (32, 96), 64),
    "inception4a": (192, (96, 208), (16, 48), 64),
    "inception4b": (160, (112, 224), (24, 64), 64),
    "inception4c": (128, (128, 256), (24, 64), 64),
    "inception4d": (112, (144, 288), (32, 64), 64),
    "inception4e": (256, (160, 320), (32, 128), 128),
    "inception5a": (256, (160, 320), (32, 128), 128),
    "inception5b": (384, (192, 384), (48, 128), 128),
}
# The paper gives no LRN constants; these are the BVLC Caffe reference model's (Caffe, like
# torch, divides alpha by the window size).
GOOGLENET_LRN = dict(size=5, alpha=1e-4, beta=0.75, k=1.0)


class AuxHead(nn.Module):
    """Section 5's auxiliary classifier: 5x5/3 average pool, 1x1 conv (128), fc 1024, 70%
    dropout, fc to the classes. Used only in training, to push gradient into the middle."""

    def __init__(self, c_in: int, num_classes: int):
        super().__init__()
        self.pool = nn.AvgPool2d(5, 3)  # 14 x 14 -> 4 x 4 (at 224 input)
        self.conv = nn.Conv2d(c_in, 128, 1)
        self.relu = nn.ReLU()
        self.flatten = nn.Flatten()  # N x 2048
        self.fc1 = nn.Linear(128 * 4 * 4, 1024)
        self.relu_fc = nn.ReLU()
        self.dropout = nn.Dropout(0.7)
        self.fc2 = nn.Linear(1024, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.flatten(self.relu(self.conv(self.pool(x))))
        return self.fc2(self.dropout(self.relu_fc(self.fc1(x))))


class GoogLeNetV1(nn.Module):
    """Inception v1 after Table 1 and Figure 3: real 5x5 branches, no batch norm (it came with
    Inception v2), local response normalisation in the stem, optional auxiliary heads.

    In training mode with ``aux_logits`` the forward returns ``(logits, aux1, aux2)`` (the
    paper weights the auxiliary losses by 0.3); otherwise the logits alone.
    """

    def __init__(self, num_classes: int = 1000, aux_logits: bool = False, in_channels: int = 3):
        super().__init__()
        # Stem. ceil_mode pooling gives the table's 112 -> 56 -> 28 sizes.
        self.conv1 = nn.Conv2d(in_channels, 64, 7, 2, 3)  # 3 x 224 x 224 -> 64 x 112 x 112
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)  # -> 64 x 56 x 56
        self.norm1 = nn.LocalResponseNorm(**GOOGLENET_LRN)
        # Table 1's "convolution 3x3/1" row with its "#3x3 reduce 64": named conv2 (the 1x1) and
        # conv3 (the 3x3) as in torchvision, so the two definitions line up layer by layer.
        self.conv2 = nn.Conv2d(64, 64, 1)
        self.relu2 = nn.ReLU()
        self.conv3 = nn.Conv2d(64, 192, 3, 1, 1)  # -> 192 x 56 x 56
        self.relu3 = nn.ReLU()
        self.norm2 = nn.LocalResponseNorm(**GOOGLENET_LRN)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)  # -> 192 x 28 x 28
        c = 192
        modules: dict[str, Inception] = {}
        for name, (c1, c2, c3, c4) in GOOGLENET_V1.items():
            modules[name] = Inception(c, c1, c2, c3, c4)
            c = modules[name].out_channels
        self.inception3a, self.inception3b = (
            modules["inception3a"],
            modules["inception3b"],
        )  # -> 480 x 28 x 28
        self.pool3 = nn.MaxPool2d(3, 2, ceil_mode=True)  # -> 480 x 14 x 14
        self.inception4a, self.inception4b = modules["inception4a"], modules["inception4b"]
        self.inception4c, self.inception4d = modules["inception4c"], modules["inception4d"]
        self.inception4e = modules["inception4e"]  # -> 832 x 14 x 14
        self.pool4 = nn.MaxPool2d(3, 2, ceil_mode=True)  # -> 832 x 7 x 7
        self.inception5a, self.inception5b = (
            modules["inception5a"],
            modules["inception5b"],
        )  # -> 1024 x 7 x 7
        self.avgpool = nn.AdaptiveAvgPool2d(1)  # the paper's 7x7 average pool at 224 input
        self.flatten = nn.Flatten()  # N x 1024
        self.dropout = nn.Dropout(0.4)
        self.fc = nn.Linear(c, num_classes)
        self.aux_logits = aux_logits
        self.aux1 = AuxHead(self.inception4a.out_channels, num_classes) if aux_logits else None
        self.aux2 = AuxHead(self.inception4d.out_channels, num_classes) if aux_logits else None

    def forward(
        self, x: torch.Tensor
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.pool1(self.relu1(self.conv1(x)))
        x = self.norm1(x)
        x = self.relu3(self.conv3(self.relu2(self.conv2(x))))
        x = self.pool2(self.norm2(x))
        x = self.pool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        aux1 = self.aux1(x) if self.aux1 is not None and self.training else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if self.aux2 is not None and self.training else None
        x = self.pool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        logits = self.fc(self.dropout(self.flatten(self.avgpool(x))))
        if aux1 is not None and aux2 is not None:
            return logits, aux1, aux2
        return logits


def googlenet_v1(
    num_classes: int = 1000, aux_logits: bool = False, in_channels: int = 3
) -> GoogLeNetV1:
    """GoogLeNet (Inception v1) as published; ``aux_logits`` adds the two training heads."""
    return GoogLeNetV1(num_classes=num_classes, aux_logits=aux_logits, in_channels=in_channels)
