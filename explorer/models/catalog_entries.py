"""The catalog's convolutional networks as data, in the order the course tells them: the
course's Keras CNN, LeNet, AlexNet, VGG, NiN, GoogLeNet, ResNet and the deep twins.

Builders import torchvision's model code (and the project's own) lazily, so that pages which
only need the metadata (the home page, the sidebar) start fast.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from explorer.models.catalog_references import (
    AS_PUBLISHED,
    COURSE,
    HE15,
    IDEA_ALEXNET,
    IDEA_GOOGLENET,
    IDEA_LENET,
    IDEA_NIN,
    IDEA_RESNET,
    IDEA_VGG,
    KRIZHEVSKY12,
    LECUN98,
    LIN13,
    SIMONYAN14,
    SZEGEDY14,
    TV_ALEXNET,
    TV_GOOGLENET,
    TV_RESNET50,
)
from explorer.models.catalog_types import ArchSpec, TrainingRecipe

if TYPE_CHECKING:
    from torch import nn


def _tv(name: str, **kwargs: Any) -> Callable[..., nn.Module]:
    """A lazy builder for torchvision's own definition (published parameter counts)."""

    def build(**overrides: Any) -> nn.Module:
        from torchvision import models

        return models.get_model(name, weights=None, **{**kwargs, **overrides})

    build.__name__ = f"torchvision_{name}"
    return build


def _local(name: str) -> Callable[..., nn.Module]:
    def build(**kwargs: Any) -> nn.Module:
        from explorer.models import cnn

        return getattr(cnn, name)(**kwargs)

    build.__name__ = name
    return build


def _published(name: str) -> Callable[..., nn.Module]:
    """A lazy builder for an as-published definition (explorer.models.published)."""

    def build(**kwargs: Any) -> nn.Module:
        from explorer.models import published

        return getattr(published, name)(**kwargs)

    build.__name__ = name
    return build


_COMPACT = (("in_channels", 3), ("num_classes", 10), ("image_size", 32))
# Compact nets without batch norm (AlexNet, NiN, GoogLeNet, the deep twins) sit at chance for a
# while before they take off, so their recipes use small batches (more steps) and their easiest
# dataset (printed digits). The twins share one recipe so that the only difference is the
# shortcut: on digits the residual net reaches ~90% in 3-4 epochs while the plain one stays at
# chance (without BN and with torch's default init its first layers' gradient norms are orders of
# magnitude smaller: vanishing gradients, not He et al.'s degradation, see explorer.training.depth).
_TWINS = TrainingRecipe("digits", ("digits",), epochs=4, train_samples=4000)
_GREY = (("in_channels", 1), ("num_classes", 10), ("image_size", 28))


def cnn_entries() -> list[ArchSpec]:
    """Every CNN entry, in course order."""
    e: list[ArchSpec] = []

    def add(key, family, title, year, ref, idea, shape, classes, builder, **kw):
        e.append(
            ArchSpec(key, family, title, year, ref[0], ref[1], idea, shape, classes, builder, **kw)
        )

    # The course's first CNN: undated, so it stays out of the chronological progression.
    add(
        "keras_cnn",
        "Basics",
        "The course's Keras CNN",
        None,
        COURSE,
        "Two conv-pool stages learn features, a dense layer and a sigmoid unit decide yes or no.",
        (3, 64, 64),
        1,
        _local("keras_cnn"),
        task="binary",
        compact=True,
        sample="shapes",
        defaults=(("in_channels", 3), ("num_classes", 1), ("image_size", 64)),
        recipe=TrainingRecipe("circles_squares", ("circles_squares",), batch_size=32),
    )
    # LeNet: the template. LeNet-5 is small enough to be its own compact variant.
    add(
        "lenet5",
        "LeNet",
        "LeNet-5",
        1998,
        LECUN98,
        IDEA_LENET,
        (1, 32, 32),
        10,
        _local("lenet5"),
        compact=True,
        sample="digit",
        defaults=(("in_channels", 1), ("num_classes", 10), ("image_size", 32)),
        twin="lenet5_1998",
        variant="Today's teaching version, not the paper's: ReLU and max-pooling where the paper had "
        "scaled tanh units and trainable subsampling, C3 connected to all six S2 maps where the "
        "paper's Table I connects each map to 3, 4 or 6 of them, and a linear 84 -> 10 output "
        "where the paper has ten Euclidean RBF units on fixed codes: 61,706 parameters against "
        "the paper's 60,000 ('LeNet-5 (1998, as published)').",
        recipe=TrainingRecipe(
            "digits",
            ("digits", "shapes"),
            lr=2e-3,
            epochs=4,
            train_samples=6000,
            per_dataset={"shapes": dict(epochs=5, train_samples=6000)},
        ),
    )
    add(
        "lenet5_1998",
        "LeNet",
        "LeNet-5 (1998, as published)",
        1998,
        LECUN98,
        IDEA_LENET,
        (1, 32, 32),
        10,
        _published("lenet5_1998"),
        twin="lenet5",
        sample="digit",
        defaults=(("num_classes", 10),),
        variant="Section II.B's network: scaled tanh units, trainable subsampling (a coefficient and a bias "
        "per map), C3 wired by Table I (1,516 parameters), and ten Euclidean RBF output units on "
        "fixed +-1 codes: 60,000 trainable parameters. The paper draws the codes as 7x12 bitmaps "
        "of the characters without printing them; ours are our own 7x12 drawings of the digits. "
        + AS_PUBLISHED,
    )
    add(
        "alexnet",
        "AlexNet",
        "AlexNet",
        2012,
        KRIZHEVSKY12,
        IDEA_ALEXNET,
        (3, 224, 224),
        1000,
        _tv("alexnet"),
        weights="AlexNet_Weights.IMAGENET1K_V1",
        variant=TV_ALEXNET,
        twin="alexnet2012",
    )
    add(
        "alexnet2012",
        "AlexNet",
        "AlexNet (2012, as published)",
        2012,
        KRIZHEVSKY12,
        IDEA_ALEXNET,
        (3, 224, 224),
        1000,
        _published("alexnet2012"),
        twin="alexnet",
        variant="96/256/384/384/256 filters; conv2, conv4 and conv5 in two groups (the paper's two GPUs); "
        "local response normalisation after conv1 and conv2. " + AS_PUBLISHED,
    )
    add(
        "alexnet_small",
        "AlexNet",
        "AlexNet (compact)",
        2012,
        KRIZHEVSKY12,
        IDEA_ALEXNET,
        (3, 32, 32),
        10,
        _local("alexnet_small"),
        compact=True,
        defaults=_COMPACT,
        sample="digit",
        recipe=TrainingRecipe(
            "digits",
            ("digits", "shapes"),
            epochs=3,
            train_samples=4000,
            per_dataset={"shapes": dict(lr=5e-4, batch_size=32, epochs=6, train_samples=3000)},
        ),
    )
    for depth, weights in (
        (11, "VGG11_Weights.IMAGENET1K_V1"),
        (16, "VGG16_Weights.IMAGENET1K_V1"),
        (19, "VGG19_Weights.IMAGENET1K_V1"),
    ):
        add(
            f"vgg{depth}",
            "VGG",
            f"VGG-{depth}",
            2014,
            SIMONYAN14,
            IDEA_VGG,
            (3, 224, 224),
            1000,
            _tv(f"vgg{depth}"),
            weights=weights,
        )
    add(
        "vgg_small",
        "VGG",
        "VGG (compact)",
        2014,
        SIMONYAN14,
        IDEA_VGG,
        (3, 32, 32),
        10,
        _local("vgg_small"),
        compact=True,
        defaults=_COMPACT,
        sample="digit",
        recipe=TrainingRecipe(
            "shapes",
            ("shapes", "digits"),
            train_samples=3000,
            per_dataset={"digits": dict(epochs=2)},
        ),
    )
    add(
        "nin",
        "NiN",
        "Network in Network",
        2013,
        LIN13,
        IDEA_NIN,
        (3, 224, 224),
        1000,
        _local("nin"),
        defaults=(("num_classes", 1000),),
        variant="d2l's ImageNet layout after AlexNet's widths (96/256/384, then a 1000-channel block); "
        "the paper's own ImageNet configuration is not tabulated.",
    )
    add(
        "nin_small",
        "NiN",
        "NiN (compact)",
        2013,
        LIN13,
        IDEA_NIN,
        (3, 32, 32),
        10,
        _local("nin_small"),
        compact=True,
        defaults=_COMPACT,
        sample="digit",
        recipe=TrainingRecipe("digits", ("digits",), batch_size=32, train_samples=4000),
    )
    add(
        "googlenet",
        "GoogLeNet",
        "GoogLeNet (Inception v1, torchvision)",
        2014,
        SZEGEDY14,
        IDEA_GOOGLENET,
        (3, 224, 224),
        1000,
        _tv("googlenet", aux_logits=False, init_weights=True),
        weights="GoogLeNet_Weights.IMAGENET1K_V1",
        variant=TV_GOOGLENET,
        twin="googlenet_v1",
    )
    add(
        "googlenet_v1",
        "GoogLeNet",
        "GoogLeNet (Inception v1, as published)",
        2014,
        SZEGEDY14,
        IDEA_GOOGLENET,
        (3, 224, 224),
        1000,
        _published("googlenet_v1"),
        twin="googlenet",
        variant="Table 1's channels with real 5x5 branches, no batch norm, local response normalisation in "
        "the stem; the two auxiliary heads are optional (aux_logits=True). " + AS_PUBLISHED,
    )
    add(
        "googlenet_small",
        "GoogLeNet",
        "GoogLeNet (compact)",
        2014,
        SZEGEDY14,
        IDEA_GOOGLENET,
        (3, 32, 32),
        10,
        _local("googlenet_small"),
        compact=True,
        defaults=_COMPACT,
        sample="digit",
        recipe=TrainingRecipe(
            "digits", ("digits",), lr=3e-3, batch_size=32, epochs=6, schedule="onecycle"
        ),
    )
    for depth in (18, 34, 50):
        add(
            f"resnet{depth}",
            "ResNet",
            f"ResNet-{depth}",
            2015,
            HE15,
            IDEA_RESNET,
            (3, 224, 224),
            1000,
            _tv(f"resnet{depth}"),
            weights=f"ResNet{depth}_Weights.IMAGENET1K_V1",
            variant=TV_RESNET50 if depth == 50 else "",
        )
    add(
        "resnet_small",
        "ResNet",
        "ResNet (compact)",
        2015,
        HE15,
        IDEA_RESNET,
        (3, 32, 32),
        10,
        _local("resnet_small"),
        compact=True,
        defaults=_COMPACT,
        sample="shapes",
        recipe=TrainingRecipe(
            "shapes", ("shapes", "digits"), lr=2e-3, epochs=3, schedule="onecycle"
        ),
    )
    add(
        "plain_deep",
        "ResNet",
        "Deep plain CNN (20 layers)",
        2015,
        HE15,
        "Without shortcuts, batch norm or a careful initialisation, gradients fade on their way back through "
        "20 layers: the early layers barely learn.",
        (3, 32, 32),
        10,
        _local("plain_deep"),
        compact=True,
        defaults=_COMPACT,
        sample="digit",
        variant="19 convolutions and a dense layer (20 weight layers, 269,034 parameters), no batch norm, torch's "
        "default initialisation: its gradient vanishes (the first layer's is ~1e-8 of the last's at the "
        "start). That is not He et al.'s finding: their plain nets had batch norm and healthy gradients "
        "and still trained worse when deeper (the degradation problem, sec. 4.1). The Experiments page "
        "shows the two effects apart.",
        recipe=_TWINS,
    )
    add(
        "residual_deep",
        "ResNet",
        "Its residual twin (20 layers)",
        2015,
        HE15,
        "The same 20 layers with parameter-free shortcuts: gradients reach the first layers and the deep "
        "net trains.",
        (3, 32, 32),
        10,
        _local("residual_deep"),
        compact=True,
        defaults=_COMPACT,
        sample="digit",
        variant="He et al.'s CIFAR shortcuts (option A): identity, and where the width doubles a stride-2 "
        "subsample padded with zero channels, so it has exactly the plain net's 269,034 parameters.",
        recipe=_TWINS,
    )
    return e
