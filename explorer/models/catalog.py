"""The catalog: every architecture of the course as data, in the order the course tells it.

Pages read titles, years, papers and ideas from here; nothing is hard-coded in a page.
Builders import torchvision's model code lazily so that pages which only need the
metadata (the home page, the sidebar) start fast.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from torch import nn

Kind = Literal["cnn", "rnn"]
Task = Literal["multiclass", "binary", "sequence"]


@dataclass(frozen=True)
class ArchSpec:
    """One catalog entry: what the architecture is, where it comes from, how to build it."""

    key: str
    family: str
    title: str
    year: int
    paper: str
    paper_url: str
    idea: str
    input_shape: tuple[int, ...]  # C x H x W for CNNs; (steps, features) for RNNs
    num_classes: int
    builder: Callable[..., nn.Module] = field(repr=False, compare=False)
    kind: Kind = "cnn"
    task: Task = "multiclass"
    compact: bool = False
    weights: str | None = None  # torchvision weights enum, e.g. "ResNet18_Weights.IMAGENET1K_V1"
    defaults: tuple[tuple[str, Any], ...] = ()  # builder keyword arguments of this entry

    def build(self, **overrides: Any) -> nn.Module:
        """A freshly initialised model; ``overrides`` replace this entry's builder defaults."""
        return self.builder(**{**dict(self.defaults), **overrides})

    @property
    def build_kwargs(self) -> dict[str, Any]:
        return dict(self.defaults)


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


def _recurrent(cell: str, **fixed: Any) -> Callable[..., nn.Module]:
    def build(**kwargs: Any) -> nn.Module:
        from explorer.models.recurrent import build_recurrent

        return build_recurrent(cell, **{**fixed, **kwargs})

    build.__name__ = f"recurrent_{cell}"
    return build


LECUN98 = ("LeCun, Bottou, Bengio, Haffner. Gradient-based learning applied to document recognition. "
           "Proc. IEEE, 1998.", "https://doi.org/10.1109/5.726791")  # fmt: skip
KRIZHEVSKY12 = ("Krizhevsky, Sutskever, Hinton. ImageNet classification with deep convolutional neural "
                "networks. NeurIPS 2012.", "https://papers.nips.cc/paper/4824")  # fmt: skip
SIMONYAN14 = ("Simonyan, Zisserman. Very deep convolutional networks for large-scale image recognition. "
              "ICLR 2015.", "https://arxiv.org/abs/1409.1556")  # fmt: skip
LIN13 = ("Lin, Chen, Yan. Network in network. ICLR 2014.", "https://arxiv.org/abs/1312.4400")
SZEGEDY14 = ("Szegedy et al. Going deeper with convolutions. CVPR 2015.", "https://arxiv.org/abs/1409.4842")
HE15 = ("He, Zhang, Ren, Sun. Deep residual learning for image recognition. CVPR 2016.",
        "https://arxiv.org/abs/1512.03385")  # fmt: skip
ELMAN90 = ("Elman. Finding structure in time. Cognitive Science, 1990.", "https://doi.org/10.1207/s15516709cog1402_1")
SCHUSTER97 = ("Schuster, Paliwal. Bidirectional recurrent neural networks. IEEE Trans. Signal Processing, 1997.",
              "https://doi.org/10.1109/78.650093")  # fmt: skip
CHO14 = ("Cho et al. Learning phrase representations using RNN encoder-decoder for statistical machine "
         "translation. EMNLP 2014.", "https://arxiv.org/abs/1406.1078")  # fmt: skip
HOCHREITER97 = ("Hochreiter, Schmidhuber. Long short-term memory. Neural Computation, 1997.",
                "https://doi.org/10.1162/neco.1997.9.8.1735")  # fmt: skip
COURSE = ("The course's Keras example (Conv32-Pool-Conv64-Pool-Dense128-sigmoid).", "")

IDEA_LENET = "The template every CNN still follows: convolution and pooling extract features, dense layers classify."
IDEA_ALEXNET = "Depth, ReLU, dropout and training on GPUs won ImageNet 2012 by a wide margin."
IDEA_VGG = "Uniform blocks of 3x3 convolutions: two 3x3 layers see as far as one 5x5, with fewer weights."
IDEA_NIN = "1x1 convolutions act as a per-pixel MLP, and global average pooling replaces the dense layers."
IDEA_GOOGLENET = "Parallel multi-scale branches (1x1, 3x3, 5x5, pool), with 1x1 bottlenecks to keep them cheap."
IDEA_RESNET = "Residual connections (y = F(x) + x) make very deep networks trainable."

_COMPACT = (("in_channels", 3), ("num_classes", 10), ("image_size", 32))
_GREY = (("in_channels", 1), ("num_classes", 10), ("image_size", 28))


def _entries() -> list[ArchSpec]:
    e: list[ArchSpec] = []

    def add(key, family, title, year, ref, idea, shape, classes, builder, **kw):  # noqa: ANN001
        e.append(ArchSpec(key, family, title, year, ref[0], ref[1], idea, shape, classes, builder, **kw))

    # The course's first CNN.
    add("keras_cnn", "Basics", "The course's Keras CNN", 2017, COURSE,
        "Two conv-pool stages learn features, a dense layer and a sigmoid unit decide yes or no.",
        (3, 64, 64), 1, _local("keras_cnn"), task="binary", compact=True,
        defaults=(("in_channels", 3), ("num_classes", 1), ("image_size", 64)))
    # LeNet: the template. LeNet-5 is small enough to be its own compact variant.
    add("lenet5", "LeNet", "LeNet-5", 1998, LECUN98, IDEA_LENET, (1, 32, 32), 10, _local("lenet5"),
        compact=True, defaults=(("in_channels", 1), ("num_classes", 10), ("image_size", 32)))
    add("alexnet", "AlexNet", "AlexNet", 2012, KRIZHEVSKY12, IDEA_ALEXNET, (3, 224, 224), 1000,
        _tv("alexnet"), weights="AlexNet_Weights.IMAGENET1K_V1")
    add("alexnet_small", "AlexNet", "AlexNet (compact)", 2012, KRIZHEVSKY12, IDEA_ALEXNET, (3, 32, 32), 10,
        _local("alexnet_small"), compact=True, defaults=_COMPACT)
    for depth, weights in ((11, "VGG11_Weights.IMAGENET1K_V1"), (16, "VGG16_Weights.IMAGENET1K_V1"),
                           (19, "VGG19_Weights.IMAGENET1K_V1")):  # fmt: skip
        add(f"vgg{depth}", "VGG", f"VGG-{depth}", 2014, SIMONYAN14, IDEA_VGG, (3, 224, 224), 1000,
            _tv(f"vgg{depth}"), weights=weights)
    add("vgg_small", "VGG", "VGG (compact)", 2014, SIMONYAN14, IDEA_VGG, (3, 32, 32), 10,
        _local("vgg_small"), compact=True, defaults=_COMPACT)
    add("nin", "NiN", "Network in Network", 2013, LIN13, IDEA_NIN, (3, 224, 224), 1000, _local("nin"),
        defaults=(("num_classes", 1000),))
    add("nin_small", "NiN", "NiN (compact)", 2013, LIN13, IDEA_NIN, (3, 32, 32), 10, _local("nin_small"),
        compact=True, defaults=_COMPACT)
    add("googlenet", "GoogLeNet", "GoogLeNet (Inception v1)", 2014, SZEGEDY14, IDEA_GOOGLENET,
        (3, 224, 224), 1000, _tv("googlenet", aux_logits=False, init_weights=True),
        weights="GoogLeNet_Weights.IMAGENET1K_V1")
    add("googlenet_small", "GoogLeNet", "GoogLeNet (compact)", 2014, SZEGEDY14, IDEA_GOOGLENET,
        (3, 32, 32), 10, _local("googlenet_small"), compact=True, defaults=_COMPACT)
    for depth in (18, 34, 50):
        add(f"resnet{depth}", "ResNet", f"ResNet-{depth}", 2015, HE15, IDEA_RESNET, (3, 224, 224), 1000,
            _tv(f"resnet{depth}"), weights=f"ResNet{depth}_Weights.IMAGENET1K_V1")
    add("resnet_small", "ResNet", "ResNet (compact)", 2015, HE15, IDEA_RESNET, (3, 32, 32), 10,
        _local("resnet_small"), compact=True, defaults=_COMPACT)
    add("plain_deep", "ResNet", "Deep plain CNN (20 layers)", 2015, HE15,
        "Without shortcuts, gradients fade on their way back through many layers: the early layers barely learn.",
        (3, 32, 32), 10, _local("plain_deep"), compact=True, defaults=_COMPACT)
    add("residual_deep", "ResNet", "Its residual twin (20 layers)", 2015, HE15,
        "The same layers with identity shortcuts: gradients reach the first layers and the deep net trains.",
        (3, 32, 32), 10, _local("residual_deep"), compact=True, defaults=_COMPACT)

    # Recurrent family: metadata now, explicit cells in explorer.models.recurrent.
    seq = (("input_size", 32), ("hidden_size", 64))
    add("rnn", "RNN", "Recurrent network (Elman)", 1990, ELMAN90,
        "A hidden state carried through time: h_t = tanh(W_x x_t + W_h h_(t-1) + b).",
        (100, 32), 0, _recurrent("rnn"), kind="rnn", task="sequence", compact=True, defaults=seq)
    add("stacked_rnn", "RNN", "Stacked RNN", 1990, ELMAN90,
        "Layers of recurrent units: each layer's hidden states are the next layer's inputs.",
        (100, 32), 0, _recurrent("rnn", num_layers=2), kind="rnn", task="sequence", compact=True, defaults=seq)
    add("birnn", "RNN", "Bidirectional RNN", 1997, SCHUSTER97,
        "Two RNNs read the sequence forwards and backwards; each step sees its past and its future.",
        (100, 32), 0, _recurrent("rnn", bidirectional=True), kind="rnn", task="sequence", compact=True,
        defaults=seq)
    add("gru", "RNN", "GRU", 2014, CHO14,
        "Reset and update gates decide what to forget and what to carry, so gradients survive long sequences.",
        (100, 32), 0, _recurrent("gru"), kind="rnn", task="sequence", compact=True, defaults=seq)
    add("lstm", "RNN", "LSTM", 1997, HOCHREITER97,
        "A memory cell with input, forget and output gates: an additive path for information and gradients.",
        (100, 32), 0, _recurrent("lstm"), kind="rnn", task="sequence", compact=True, defaults=seq)
    return e


CATALOG: dict[str, ArchSpec] = {spec.key: spec for spec in _entries()}
FAMILIES: tuple[str, ...] = tuple(dict.fromkeys(spec.family for spec in CATALOG.values()))


def get_spec(key: str) -> ArchSpec:
    """The catalog entry for ``key``; a clear KeyError for unknown keys."""
    try:
        return CATALOG[key]
    except KeyError:
        raise KeyError(f"Unknown architecture {key!r}. Known: {', '.join(CATALOG)}.") from None


def catalog(kind: Kind | None = None, compact: bool | None = None, family: str | None = None) -> list[ArchSpec]:
    """Catalog entries in course order, optionally filtered."""
    return [
        s for s in CATALOG.values()
        if (kind is None or s.kind == kind)
        and (compact is None or s.compact == compact)
        and (family is None or s.family == family)
    ]  # fmt: skip
