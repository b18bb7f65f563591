"""Builders for the architectures torchvision does not ship, and compact variants of each family.

Each family has one private builder driven by a config; the public builders are one-liners.
Compact variants take ``in_channels`` (1 for 28x28 grey, 3 for 32x32 colour), ``num_classes``
and ``image_size`` so the same architecture trains on every offline dataset of the app.
"""

from __future__ import annotations

from typing import Literal

from torch import nn

from explorer.models.blocks import Inception, Residual, conv_relu, nin_block, vgg_block


def _pooled(size: int, times: int, k: int = 2, s: int = 2, p: int = 0) -> int:
    """Spatial size after ``times`` poolings (floor mode), to size the first dense layer."""
    for _ in range(times):
        size = (size + 2 * p - k) // s + 1
    return size


# --- LeNet (LeCun et al., 1998): the conv-pool-dense template ---------------------------------


def lenet5(in_channels: int = 1, num_classes: int = 10, image_size: int = 32) -> nn.Sequential:
    """LeNet-5 with ReLU and max-pooling (modern choices; the paper used sigmoid-like units
    and subsampling). 32x32 input as in the paper; 28x28 input gets padding 2 on the first
    convolution (as in d2l) so both reach the same 16 x 5 x 5 features."""
    pad = (32 - image_size) // 2
    return nn.Sequential(
        nn.Conv2d(in_channels, 6, 5, padding=pad),
        nn.ReLU(),
        nn.MaxPool2d(2, 2),  # 6 x 28 x 28 -> 6 x 14 x 14
        nn.Conv2d(6, 16, 5),
        nn.ReLU(),
        nn.MaxPool2d(2, 2),  # 16 x 10 x 10 -> 16 x 5 x 5
        nn.Flatten(),  # 400
        nn.Linear(16 * 5 * 5, 120),
        nn.ReLU(),
        nn.Linear(120, 84),
        nn.ReLU(),
        nn.Linear(84, num_classes),
    )


# --- The course's Keras example -------------------------------------------------------------


def keras_cnn(in_channels: int = 3, num_classes: int = 1, image_size: int = 64) -> nn.Sequential:
    """Conv32-Pool-Conv64-Pool-Dense128-Dense1 from the course's Keras notebook (valid padding).

    The head returns one logit per image; the sigmoid lives in the loss
    (``BCEWithLogitsLoss``) and in prediction (``torch.sigmoid``), which is the numerically
    stable way to write Keras' ``Dense(1, activation="sigmoid")`` + binary cross-entropy.
    """
    side = ((image_size - 2) // 2 - 2) // 2  # 64 -> 62 -> 31 -> 29 -> 14
    return nn.Sequential(
        *conv_relu(in_channels, 32, 3),
        nn.MaxPool2d(2),
        *conv_relu(32, 64, 3),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * side * side, 128),
        nn.ReLU(),
        nn.Linear(128, num_classes),
    )


# --- AlexNet (compact) ----------------------------------------------------------------------


def alexnet_small(
    in_channels: int = 3, num_classes: int = 10, image_size: int = 32
) -> nn.Sequential:
    """AlexNet's shape at CIFAR scale: five convolutions (wide, then narrow), three poolings,
    two dropout-regularised dense layers."""
    side = _pooled(image_size, 3)
    return nn.Sequential(
        *conv_relu(in_channels, 48, 5, 1, 2),
        nn.MaxPool2d(2),
        *conv_relu(48, 96, 3, 1, 1),
        nn.MaxPool2d(2),
        *conv_relu(96, 128, 3, 1, 1),
        *conv_relu(128, 128, 3, 1, 1),
        *conv_relu(128, 96, 3, 1, 1),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.5),
        nn.Linear(96 * side * side, 256),
        nn.ReLU(),
        nn.Dropout(0.5),
        nn.Linear(256, 256),
        nn.ReLU(),
        nn.Linear(256, num_classes),
    )


# --- VGG (compact) --------------------------------------------------------------------------

VGG_SMALL = ((1, 32), (1, 64), (2, 128))  # (convs, channels) per block


def vgg_small(in_channels: int = 3, num_classes: int = 10, image_size: int = 32) -> nn.Sequential:
    """Three VGG blocks of 3x3 convolutions, each ending in a 2x2 max-pool."""
    blocks, c_in = [], in_channels
    for num_convs, c_out in VGG_SMALL:
        blocks.append(vgg_block(num_convs, c_in, c_out))
        c_in = c_out
    side = _pooled(image_size, len(VGG_SMALL))
    return nn.Sequential(
        *blocks,
        nn.Flatten(),
        nn.Linear(c_in * side * side, 256),
        nn.ReLU(),
        nn.Dropout(0.5),
        nn.Linear(256, num_classes),
    )


# --- NiN (Lin et al., 2013) -----------------------------------------------------------------


def _nin(
    config: list[tuple[int, int, int, int]],
    in_channels: int,
    num_classes: int,
    pool: tuple[int, int, int],
) -> nn.Sequential:
    """NiN blocks separated by max-pools; the last block maps to one channel per class and
    global average pooling replaces the dense layers."""
    layers: list[nn.Module] = []
    c_in = in_channels
    for c_out, k, s, p in config:
        layers += [nin_block(c_in, c_out, k, s, p), nn.MaxPool2d(*pool)]
        c_in = c_out
    layers += [
        nn.Dropout(0.5),
        nin_block(c_in, num_classes, 3, 1, 1),
        nn.AdaptiveAvgPool2d(1),  # N x classes x H x W -> N x classes x 1 x 1
        nn.Flatten(),  # N x classes
    ]
    return nn.Sequential(*layers)


def nin(num_classes: int = 1000, in_channels: int = 3) -> nn.Sequential:
    """Network in Network for 224x224 ImageNet input (d2l's layout after AlexNet's widths)."""
    return _nin(
        [(96, 11, 4, 0), (256, 5, 1, 2), (384, 3, 1, 1)], in_channels, num_classes, (3, 2, 0)
    )


def nin_small(in_channels: int = 3, num_classes: int = 10, image_size: int = 32) -> nn.Sequential:
    """Two NiN blocks and a class-map block for 28x28 / 32x32 input."""
    return _nin([(64, 5, 1, 2), (128, 3, 1, 1)], in_channels, num_classes, (3, 2, 1))


# --- GoogLeNet (compact) --------------------------------------------------------------------


def googlenet_small(
    in_channels: int = 3, num_classes: int = 10, image_size: int = 32
) -> nn.Sequential:
    """A stem and four Inception blocks (channel plans scaled down from GoogLeNet's 3a-4b)."""
    i3a = Inception(64, 16, (24, 32), (4, 8), 8)  # -> 64
    i3b = Inception(i3a.out_channels, 32, (32, 48), (8, 24), 16)  # -> 120
    i4a = Inception(i3b.out_channels, 48, (24, 52), (4, 12), 16)  # -> 128
    i4b = Inception(i4a.out_channels, 40, (28, 56), (6, 16), 16)  # -> 128
    return nn.Sequential(
        *conv_relu(in_channels, 64, 3, 1, 1),
        i3a,
        i3b,
        nn.MaxPool2d(3, 2, 1),
        i4a,
        i4b,
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(i4b.out_channels, num_classes),
    )


# --- ResNet (compact) and the plain/residual twins ------------------------------------------


def _resnet(
    stages: list[tuple[int, int, int]],
    in_channels: int,
    num_classes: int,
    stem: int,
    *,
    batch_norm: bool = True,
    residual: bool = True,
    shortcut: Literal["projection", "zero_pad"] = "projection",
) -> nn.Sequential:
    """A 3x3 stem, then stages of (blocks, channels, first stride), global average pool, dense."""
    layers: list[nn.Module] = list(conv_relu(in_channels, stem, 3, 1, 1))
    c_in = stem
    for blocks, c_out, stride in stages:
        for b in range(blocks):
            layers.append(
                Residual(
                    c_in,
                    c_out,
                    stride if b == 0 else 1,
                    batch_norm=batch_norm,
                    residual=residual,
                    shortcut=shortcut,
                )
            )
            c_in = c_out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c_in, num_classes)]
    return nn.Sequential(*layers)


def resnet_small(
    in_channels: int = 3, num_classes: int = 10, image_size: int = 32
) -> nn.Sequential:
    """ResNet for 32x32 input: three stages of two basic blocks (32, 64, 128 channels)."""
    return _resnet([(2, 32, 1), (2, 64, 2), (2, 128, 2)], in_channels, num_classes, stem=32)


def _deep_twin(
    residual: bool, in_channels: int, num_classes: int, blocks: int, batch_norm: bool = False
) -> nn.Sequential:
    # No batch norm by default: with torch's default init, the plain net's gradient vanishes
    # (the Experiments page's first comparison). With batch_norm=True (and He init) the gradients
    # are healthy and what remains is He et al.'s degradation problem (its second comparison).
    # Parameter-free shortcuts (He et al.'s option A, as in their CIFAR ResNet-20) keep the twins
    # identical layer for layer: the shortcut is the only difference.
    per_stage = max(1, blocks // 3)
    stages = [(per_stage, 16, 1), (per_stage, 32, 2), (blocks - 2 * per_stage, 64, 2)]
    return _resnet(
        stages,
        in_channels,
        num_classes,
        stem=16,
        batch_norm=batch_norm,
        residual=residual,
        shortcut="zero_pad",
    )


def plain_deep(
    in_channels: int = 3,
    num_classes: int = 10,
    image_size: int = 32,
    blocks: int = 9,
    batch_norm: bool = False,
) -> nn.Sequential:
    """A deep plain CNN: 2 x ``blocks`` + 1 convolutions and a dense layer (20 weight layers for
    the default 9 blocks, the depth of He et al.'s CIFAR ResNet-20), no shortcuts, no batch norm
    unless ``batch_norm``."""
    return _deep_twin(False, in_channels, num_classes, blocks, batch_norm)


def residual_deep(
    in_channels: int = 3,
    num_classes: int = 10,
    image_size: int = 32,
    blocks: int = 9,
    batch_norm: bool = False,
) -> nn.Sequential:
    """The plain CNN's residual twin: the same weight layers plus parameter-free shortcuts
    (identity; stride-2 subsample padded with zero channels where the width doubles)."""
    return _deep_twin(True, in_channels, num_classes, blocks, batch_norm)
