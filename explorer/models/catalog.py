"""The catalog: every architecture of the course as data, in the order the course tells it.

Pages read titles, years, papers and ideas from here; nothing is hard-coded in a page.
Builders import torchvision's model code lazily so that pages which only need the
metadata (the home page, the sidebar) start fast.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # annotations only: the catalog is read without torch (the app's Home page)
    from torch import nn

Kind = Literal["cnn", "rnn"]
Task = Literal["multiclass", "binary", "sequence"]


@dataclass(frozen=True)
class TrainingRecipe:
    """Settings that learn for a trainable (compact) entry, measured on 2 CPU cores.

    ``datasets`` are the offline datasets on which these settings were seen to learn (the
    downloadable ones of the entry's task are offered too); ``per_dataset`` overrides some of
    them on one dataset. Field names are those of ``explorer.training.settings.TrainSettings``.
    """

    dataset: str  # the default dataset, the first offered
    datasets: tuple[str, ...]
    optimizer: str = "adam"
    lr: float = 1e-3
    batch_size: int = 64
    epochs: int = 5
    train_samples: int = 2000
    schedule: str = "constant"
    per_dataset: dict[str, dict[str, Any]] = field(default_factory=dict, compare=False)

    def settings(self, dataset: str) -> dict[str, Any]:
        """The recipe's settings for ``dataset`` (its own overrides applied)."""
        base = {
            k: getattr(self, k)
            for k in ("optimizer", "lr", "batch_size", "epochs", "train_samples", "schedule")
        }
        return {**base, **self.per_dataset.get(dataset, {})}


@dataclass(frozen=True)
class ArchSpec:
    """One catalog entry: what the architecture is, where it comes from, how to build it."""

    key: str
    family: str
    title: str
    year: int | None  # None: no publication date (the course's own example)
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
    # What exactly is built when it departs from the cited paper, in one or two sentences.
    variant: str = ""
    # Further references: (citation, url) pairs, e.g. where a part of the design came later.
    also: tuple[tuple[str, str], ...] = ()
    twin: str | None = None  # the other definition of the same network (torchvision / as published)
    sample: str = "cat"  # a sample image (explorer.data.samples) that suits this model's input
    recipe: TrainingRecipe | None = field(default=None, compare=False)  # trainable entries only

    def build(self, **overrides: Any) -> nn.Module:
        """A freshly initialised model; ``overrides`` replace this entry's builder defaults."""
        return self.builder(**{**dict(self.defaults), **overrides})

    @property
    def build_kwargs(self) -> dict[str, Any]:
        return dict(self.defaults)

    @property
    def dated_title(self) -> str:
        """``"LeNet-5 (1998)"``; the title alone for an undated entry."""
        return f"{self.title} ({self.year})" if self.year is not None else self.title

    @property
    def citation(self) -> str:
        """The paper and the further references, as one line of plain text."""
        return " ".join([self.paper, *(ref for ref, _ in self.also)])


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


def _recurrent(cell: str, **fixed: Any) -> Callable[..., nn.Module]:
    def build(**kwargs: Any) -> nn.Module:
        from explorer.models.recurrent import build_recurrent

        return build_recurrent(cell, **{**fixed, **kwargs})

    build.__name__ = f"recurrent_{cell}"
    return build


LECUN98 = (
    "LeCun, Bottou, Bengio, Haffner. Gradient-based learning applied to document recognition. "
    "Proc. IEEE, 1998.",
    "https://doi.org/10.1109/5.726791",
)
KRIZHEVSKY12 = (
    "Krizhevsky, Sutskever, Hinton. ImageNet classification with deep convolutional neural "
    "networks. NIPS 2012.",
    "https://papers.nips.cc/paper/4824",
)
SIMONYAN14 = (
    "Simonyan, Zisserman. Very deep convolutional networks for large-scale image recognition. "
    "ICLR 2015.",
    "https://arxiv.org/abs/1409.1556",
)
LIN13 = ("Lin, Chen, Yan. Network in network. ICLR 2014.", "https://arxiv.org/abs/1312.4400")
SZEGEDY14 = (
    "Szegedy et al. Going deeper with convolutions. CVPR 2015.",
    "https://arxiv.org/abs/1409.4842",
)
HE15 = (
    "He, Zhang, Ren, Sun. Deep residual learning for image recognition. CVPR 2016.",
    "https://arxiv.org/abs/1512.03385",
)
ELMAN90 = (
    "Elman. Finding structure in time. Cognitive Science, 1990.",
    "https://doi.org/10.1207/s15516709cog1402_1",
)
SCHUSTER97 = (
    "Schuster, Paliwal. Bidirectional recurrent neural networks. IEEE Trans. Signal Processing, 1997.",
    "https://doi.org/10.1109/78.650093",
)
CHO14 = (
    "Cho et al. Learning phrase representations using RNN encoder-decoder for statistical machine "
    "translation. EMNLP 2014.",
    "https://arxiv.org/abs/1406.1078",
)
GERS00 = (
    "Gers, Schmidhuber, Cummins. Learning to forget: continual prediction with LSTM. "
    "Neural Computation, 2000.",
    "https://doi.org/10.1162/089976600300015015",
)
SCHMIDHUBER92 = (
    "Schmidhuber. Learning complex, extended sequences using the principle of history "
    "compression. Neural Computation, 1992.",
    "https://doi.org/10.1162/neco.1992.4.2.234",
)
ELHIHI96 = (
    "El Hihi, Bengio. Hierarchical recurrent neural networks for long-term dependencies. "
    "NIPS 1995 (1996).",
    "https://papers.nips.cc/paper/1102",
)
GRAVES13 = (
    "Graves, Mohamed, Hinton. Speech recognition with deep recurrent neural networks. ICASSP 2013.",
    "https://arxiv.org/abs/1303.5778",
)
HOCHREITER97 = (
    "Hochreiter, Schmidhuber. Long short-term memory. Neural Computation, 1997.",
    "https://doi.org/10.1162/neco.1997.9.8.1735",
)
COURSE = (
    "The course's Keras example (Conv32-Pool-Conv64-Pool-Dense128-sigmoid); the course gives it no "
    "date or paper.",
    "",
)

IDEA_LENET = "The template every CNN still follows: convolution and pooling extract features, dense layers classify."
IDEA_ALEXNET = "Depth, ReLU, dropout and training on GPUs won ImageNet 2012 by a wide margin."
IDEA_VGG = (
    "Uniform blocks of 3x3 convolutions: two 3x3 layers see as far as one 5x5, with fewer weights."
)
IDEA_NIN = (
    "1x1 convolutions act as a per-pixel MLP, and global average pooling replaces the dense layers."
)
IDEA_GOOGLENET = (
    "Parallel multi-scale branches (1x1, 3x3, 5x5, pool), with 1x1 bottlenecks to keep them cheap."
)

# How torchvision's definitions (the ones with ImageNet weights) depart from the papers.
TV_ALEXNET = (
    "torchvision's variant, from Krizhevsky's 2014 'One weird trick' paper: 64/192/384/256/256 "
    "filters, no local response normalisation, no two-group split. The 2012 network "
    "(96/256/384/384/256 filters in two groups, LRN) is 'AlexNet (2012, as published)'."
)
TV_GOOGLENET = (
    "torchvision's variant: its '5x5' branch is a 3x3 convolution (a deviation kept for its "
    "pretrained weights), every convolution has batch norm (which Inception v1 predates) and "
    "there is no LRN; parameters and MACs shown are this variant's. The paper's network is "
    "'GoogLeNet (Inception v1, as published)'."
)
TV_RESNET50 = (
    "torchvision's ResNet-50 v1.5: the stride-2 of each downsampling bottleneck sits in its 3x3 "
    "convolution, not in the first 1x1 as in the paper, which costs 4.09 G MACs per 224 x 224 "
    "image against the paper's 3.8 G multiply-adds (and sees a smaller receptive field)."
)
AS_PUBLISHED = (
    "Built from the paper's text and tables, with random weights (no weights are published for it)."
)

IDEA_RESNET = "Residual connections (y = F(x) + x) make very deep networks trainable."

_COMPACT = (("in_channels", 3), ("num_classes", 10), ("image_size", 32))
# Compact nets without batch norm (AlexNet, NiN, GoogLeNet, the deep twins) sit at chance for a
# while before they take off, so their recipes use small batches (more steps) and their easiest
# dataset (printed digits). The twins share one recipe so that the only difference is the
# shortcut: on digits the residual net reaches ~90% in 3-4 epochs while the plain one stays at
# chance (without BN and with torch's default init its first layers' gradient norms are orders of
# magnitude smaller: vanishing gradients, not He et al.'s degradation, see explorer.training.depth).
_TWINS = TrainingRecipe("digits", ("digits",), epochs=4, train_samples=4000)
_GREY = (("in_channels", 1), ("num_classes", 10), ("image_size", 28))


def _entries() -> list[ArchSpec]:
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

    # Recurrent family: metadata now, explicit cells in explorer.models.recurrent.
    seq = (("input_size", 32), ("hidden_size", 64))
    add(
        "rnn",
        "RNN",
        "Recurrent network (Elman)",
        1990,
        ELMAN90,
        "A hidden state carried through time: h_t = tanh(W_x x_t + W_h h_(t-1) + b).",
        (100, 32),
        0,
        _recurrent("rnn"),
        kind="rnn",
        task="sequence",
        compact=True,
        defaults=seq,
    )
    add(
        "stacked_rnn",
        "RNN",
        "Stacked RNN",
        1992,
        SCHMIDHUBER92,
        "Layers of recurrent units: each layer's hidden states are the next layer's inputs.",
        (100, 32),
        0,
        _recurrent("rnn", num_layers=2),
        kind="rnn",
        task="sequence",
        compact=True,
        defaults=seq,
        also=(ELHIHI96, GRAVES13),
        variant="Elman's network has one recurrent layer; stacks came with Schmidhuber's hierarchy of RNNs "
        "(1992) and El Hihi & Bengio (1996), and were popularised by Graves et al. (2013).",
    )
    add(
        "birnn",
        "RNN",
        "Bidirectional RNN",
        1997,
        SCHUSTER97,
        "Two RNNs read the sequence forwards and backwards; each step sees its past and its future.",
        (100, 32),
        0,
        _recurrent("rnn", bidirectional=True),
        kind="rnn",
        task="sequence",
        compact=True,
        defaults=seq,
    )
    add(
        "gru",
        "RNN",
        "GRU",
        2014,
        CHO14,
        "Reset and update gates decide what to forget and what to carry, so gradients survive long sequences.",
        (100, 32),
        0,
        _recurrent("gru"),
        kind="rnn",
        task="sequence",
        compact=True,
        defaults=seq,
    )
    add(
        "lstm",
        "RNN",
        "LSTM",
        1997,
        HOCHREITER97,
        "A memory cell with input, forget and output gates: an additive path for information and gradients.",
        (100, 32),
        0,
        _recurrent("lstm"),
        kind="rnn",
        task="sequence",
        compact=True,
        defaults=seq,
        also=(GERS00,),
        variant="The 1997 LSTM had input and output gates only; the forget gate came with Gers, Schmidhuber "
        "& Cummins (2000). The cell here is today's form, as torch.nn.LSTM.",
    )
    return e


CATALOG: dict[str, ArchSpec] = {spec.key: spec for spec in _entries()}
FAMILIES: tuple[str, ...] = tuple(dict.fromkeys(spec.family for spec in CATALOG.values()))
# Entries of users' imported models (explorer.models.imported_entry), never listed by catalog(): a key is
# the digest of the model's spec, so only a session that imported that model holds its key.
OWN_ENTRIES: dict[str, ArchSpec] = {}


def get_spec(key: str) -> ArchSpec:
    """The catalog entry for ``key`` (or an imported model's); a clear KeyError for unknown keys."""
    try:
        return CATALOG[key] if key in CATALOG else OWN_ENTRIES[key]
    except KeyError:
        raise KeyError(f"Unknown architecture {key!r}. Known: {', '.join(CATALOG)}.") from None


def progression(kind: Kind = "cnn") -> list[ArchSpec]:
    """The first dated entry of each family, in the course's order (LeNet, AlexNet, VGG, NiN,
    GoogLeNet, ResNet: the catalog's order, which puts VGG (2014) before NiN (2013) as the course
    tells it).

    Undated entries (the course's own example) are left out rather than given a made-up year.
    """
    firsts: dict[str, ArchSpec] = {}
    for spec in catalog(kind=kind):
        if spec.year is not None and spec.family not in firsts:
            firsts[spec.family] = spec
    return list(firsts.values())


def catalog(
    kind: Kind | None = None, compact: bool | None = None, family: str | None = None
) -> list[ArchSpec]:
    """Catalog entries in course order, optionally filtered."""
    return [
        s
        for s in CATALOG.values()
        if (kind is None or s.kind == kind)
        and (compact is None or s.compact == compact)
        and (family is None or s.family == family)
    ]
