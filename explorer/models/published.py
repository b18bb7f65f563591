"""AlexNet and GoogLeNet as their papers describe them, beside torchvision's variants.

torchvision's definitions carry the ImageNet weights, but both depart from the papers:
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
    features = nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(in_channels, 96, 11, 4, 2)), ("relu1", nn.ReLU()),  # 3 x 224 x 224 -> 96 x 55 x 55
        ("norm1", nn.LocalResponseNorm(**ALEXNET_LRN)), ("pool1", nn.MaxPool2d(3, 2)),  # -> 96 x 27 x 27
        ("conv2", nn.Conv2d(96, 256, 5, 1, 2, groups=2)), ("relu2", nn.ReLU()),  # 2 groups of 48 -> 128
        ("norm2", nn.LocalResponseNorm(**ALEXNET_LRN)), ("pool2", nn.MaxPool2d(3, 2)),  # -> 256 x 13 x 13
        ("conv3", nn.Conv2d(256, 384, 3, 1, 1)), ("relu3", nn.ReLU()),  # conv3 sees both groups
        ("conv4", nn.Conv2d(384, 384, 3, 1, 1, groups=2)), ("relu4", nn.ReLU()),
        ("conv5", nn.Conv2d(384, 256, 3, 1, 1, groups=2)), ("relu5", nn.ReLU()),
        ("pool5", nn.MaxPool2d(3, 2)),  # -> 256 x 6 x 6
    ]))  # fmt: skip
    classifier = nn.Sequential(OrderedDict([
        ("fc6", nn.Linear(256 * 6 * 6, 4096)), ("relu6", nn.ReLU()), ("drop6", nn.Dropout(0.5)),
        ("fc7", nn.Linear(4096, 4096)), ("relu7", nn.ReLU()), ("drop7", nn.Dropout(0.5)),
        ("fc8", nn.Linear(4096, num_classes)),
    ]))  # fmt: skip
    return nn.Sequential(OrderedDict([
        ("features", features),
        ("avgpool", nn.AdaptiveAvgPool2d(6)),
        ("flatten", nn.Flatten()),  # N x 9216
        ("classifier", classifier),
    ]))  # fmt: skip


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
        self.inception3a, self.inception3b = modules["inception3a"], modules["inception3b"]  # -> 480 x 28 x 28
        self.pool3 = nn.MaxPool2d(3, 2, ceil_mode=True)  # -> 480 x 14 x 14
        self.inception4a, self.inception4b = modules["inception4a"], modules["inception4b"]
        self.inception4c, self.inception4d = modules["inception4c"], modules["inception4d"]
        self.inception4e = modules["inception4e"]  # -> 832 x 14 x 14
        self.pool4 = nn.MaxPool2d(3, 2, ceil_mode=True)  # -> 832 x 7 x 7
        self.inception5a, self.inception5b = modules["inception5a"], modules["inception5b"]  # -> 1024 x 7 x 7
        self.avgpool = nn.AdaptiveAvgPool2d(1)  # the paper's 7x7 average pool at 224 input
        self.flatten = nn.Flatten()  # N x 1024
        self.dropout = nn.Dropout(0.4)
        self.fc = nn.Linear(c, num_classes)
        self.aux_logits = aux_logits
        self.aux1 = AuxHead(self.inception4a.out_channels, num_classes) if aux_logits else None
        self.aux2 = AuxHead(self.inception4d.out_channels, num_classes) if aux_logits else None

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
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


def googlenet_v1(num_classes: int = 1000, aux_logits: bool = False, in_channels: int = 3) -> GoogLeNetV1:
    """GoogLeNet (Inception v1) as published; ``aux_logits`` adds the two training heads."""
    return GoogLeNetV1(num_classes=num_classes, aux_logits=aux_logits, in_channels=in_channels)
