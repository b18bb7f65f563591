"""What a module is, read from its structure alone: a residual block, an Inception module, a
NiN block, a VGG block, a convolution unit, and which naming convention a whole model follows.

Shared by the paper-style names (:mod:`explorer.probe.names`) and the graph's collapsible blocks
(:mod:`explorer.probe.graph`), so a block is recognised the same way in both.
"""

from __future__ import annotations

from torch import nn

from explorer.probe.capture import ACTIVATIONS

RESIDUAL = ("BasicBlock", "Bottleneck", "Residual")
CONV_UNIT = ("BasicConv2d",)
POOLS = (nn.MaxPool2d, nn.AvgPool2d)
ADAPTIVE = (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)


def is_residual(m: nn.Module) -> bool:
    """torchvision's BasicBlock and Bottleneck, the catalog's Residual."""
    return type(m).__name__ in RESIDUAL


def is_inception(m: nn.Module) -> bool:
    """GoogLeNet's Inception module (torchvision's and the catalog's share the class name)."""
    return type(m).__name__ == "Inception"


def is_conv(m: nn.Module) -> bool:
    """A convolution, or a unit named as one (GoogLeNet's BasicConv2d: conv, BN, ReLU)."""
    return isinstance(m, nn.Conv2d) or type(m).__name__ in CONV_UNIT


def convs_of(m: nn.Module) -> list[nn.Conv2d]:
    """Every ``nn.Conv2d`` inside ``m``."""
    return [c for c in m.modules() if isinstance(c, nn.Conv2d)]


def is_nin_block(m: nn.Module) -> bool:
    """A Sequential of one spatial convolution followed by 1x1 convolutions (and ReLUs)."""
    if type(m) is not nn.Sequential:
        return False
    convs = [c for c in m.children() if isinstance(c, nn.Conv2d)]
    others = [c for c in m.children() if not isinstance(c, (nn.Conv2d, *ACTIVATIONS))]
    return (
        len(convs) >= 2
        and not others
        and convs[0].kernel_size != (1, 1)
        and all(c.kernel_size == (1, 1) for c in convs[1:])
    )


def is_vgg_block(m: nn.Module) -> bool:
    """A Sequential of convolutions (and ReLUs) ending in a pooling layer."""
    if type(m) is not nn.Sequential:
        return False
    kids = list(m.children())
    return (
        len(kids) >= 2
        and isinstance(kids[-1], POOLS)
        and any(isinstance(k, nn.Conv2d) for k in kids)
        and all(isinstance(k, (nn.Conv2d, *ACTIVATIONS, nn.BatchNorm2d)) for k in kids[:-1])
    )


def naming_style(model: nn.Module, arch: str | None) -> str:
    """Which naming convention: 'lenet', 'keras', 'vgg', 'alexnet', 'generic' or 'own' (an
    imported model, explorer.models.spec_layers: the names in the user's file)."""
    if type(model).__name__ == "SpecModel":
        return "own"
    family = ""
    if arch:
        from explorer.models import get_spec

        try:
            spec = get_spec(arch)
            family = spec.family
            if spec.key == "keras_cnn":
                return "keras"
        except KeyError:
            family = ""
    cls = type(model).__name__
    if family == "LeNet":
        return "lenet"
    if family == "AlexNet" or cls == "AlexNet":
        return "alexnet"
    if family == "VGG" or cls == "VGG":
        return "vgg"
    if family in ("GoogLeNet", "ResNet", "NiN", "Basics"):
        return "generic"
    convs = convs_of(model)
    if any(is_vgg_block(m) for m in model.modules()):
        return "vgg"
    blocks = any(is_residual(m) or is_inception(m) or is_nin_block(m) for m in model.modules())
    if convs and not blocks and all(c.kernel_size == (3, 3) for c in convs):
        return "vgg"
    return "generic"
