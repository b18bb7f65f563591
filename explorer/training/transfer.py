"""Transfer learning: start from trained weights, put a new head on, choose what trains.

The course's three choices, as ``freeze`` modes:

- ``head``: the feature extractor is frozen; only the new classifier (the last ``Linear``) trains.
- ``last_stage``: the last convolutional block and everything above it train; the rest is frozen.
- ``all``: everything trains (fine-tuning), optionally the backbone at a lower learning rate.

The target model is the catalog architecture built for the new number of classes and input
channels; every tensor of the source whose name and shape match is copied, the first
convolution is adapted when the channels differ (grey <- colour: the kernels summed over colour,
so a grey image gives the response the source gave to that grey image in colour; colour <- grey:
the kernel shared equally by the three channels), and the head starts fresh. Target images are
resized to the source's input size, so every layer (also a ``Flatten`` -> ``Linear``) keeps its
shape. Frozen batch-norm layers stay in inference mode (their running statistics are part of the
frozen features and do not drift with the new data), as Keras does for ``trainable = False``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from explorer.data.datasets import Splits, get_dataset_info, load_dataset
from explorer.training.events import Event, Preparing
from explorer.training.fit import FitResult, fit
from explorer.training.settings import TrainSettings

FREEZE_MODES = ("head", "last_stage", "all")
FREEZE_TITLES = {
    "head": "Train the new head only (feature extractor frozen)",
    "last_stage": "Unfreeze the last stage (last conv block and the classifier)",
    "all": "Fine-tune everything",
}
SOURCE_KINDS = ("bundled", "user", "imagenet")


class TransferError(ValueError):
    """Weights that cannot be used as asked; the message says what to do."""


@dataclass(frozen=True)
class SourceWeights:
    """Where the starting weights come from: plain, picklable values (a job spec carries them).

    ``bundled``: the project's weights for ``arch`` (assets/weights); ``user``: a model the user
    trained or loaded (``state_dict`` and ``build`` given); ``imagenet``: torchvision's weights
    when cached (or downloadable, if ``download``).
    """

    kind: str
    arch: str
    build: dict[str, Any] = field(default_factory=dict)
    state_dict: dict[str, torch.Tensor] | None = field(default=None, repr=False)
    classes: tuple[str, ...] = ()
    dataset: str = ""
    title: str = ""
    download: bool = False

    def describe(self) -> str:
        if self.title:
            return self.title
        if self.kind == "bundled":
            return f"bundled {self.arch} weights (trained on {self.dataset or 'project data'})"
        if self.kind == "imagenet":
            return f"ImageNet weights of {self.arch}"
        return f"your {self.arch} model"


@dataclass(frozen=True)
class TransferInfo:
    """What the transfer did (a kept event, shown before the first step)."""

    source: str
    mode: str
    trainable: int  # parameters with requires_grad
    total: int
    copied: tuple[str, ...]  # tensors taken from the source unchanged
    adapted: tuple[str, ...]  # tensors converted (first convolution's channels)
    new: tuple[str, ...]  # tensors that start fresh (the head)
    head: str
    image_size: int  # side the target images were resized to


# -- loading and the new head ---------------------------------------------------------------


def bundled_source(arch: str) -> SourceWeights:
    """The project's bundled weights for ``arch`` as a source (header read only: cheap)."""
    from explorer.models.checkpoint import read_meta
    from explorer.models.weights import WeightsUnavailableError, bundled_path

    path = bundled_path(arch)
    if not path.is_file():
        raise WeightsUnavailableError(f"No bundled weights for {arch} (expected {path.name}).")
    meta = read_meta(path.read_bytes())
    return SourceWeights(
        "bundled", arch, dict(meta.build), None, tuple(meta.classes), meta.dataset,
        title=f"{arch} trained on {meta.dataset}",
    )  # fmt: skip


def load_source(source: SourceWeights) -> tuple[nn.Module, dict[str, Any]]:
    """The source model with its weights, and its build arguments."""
    from explorer.models import get_spec

    if source.kind == "bundled":
        from explorer.models.weights import load_bundled

        model, meta = load_bundled(source.arch)
        return model, dict(meta.build)
    if source.kind == "user":
        if source.state_dict is None:
            raise TransferError("This source has no weights: train or load a model first.")
        model = get_spec(source.arch).build(**source.build)
        load_weights(model, source.state_dict)
        return model, dict(source.build)
    if source.kind == "imagenet":
        from explorer.models.weights import load_pretrained

        spec = get_spec(source.arch)
        return load_pretrained(spec, download=source.download), dict(spec.build_kwargs)
    raise TransferError(f"Unknown weights source {source.kind!r}: choose one of {', '.join(SOURCE_KINDS)}.")


def head_name(model: nn.Module) -> str:
    """Module path of the classifier: the last ``nn.Linear`` (or 1x1 ``Conv2d`` of NiN-like nets)."""
    last = None
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear | nn.Conv2d):
            last = name
    if last is None:
        raise TransferError("This model has no linear or convolutional layer to use as a head.")
    return last


def first_conv_name(model: nn.Module) -> str | None:
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            return name
    return None


def _owner(param_name: str) -> str:
    return param_name.rsplit(".", 1)[0] if "." in param_name else ""


def _adapt_first_conv(weight: torch.Tensor, in_channels: int) -> torch.Tensor:
    """C_out x C_src x k x k -> C_out x in_channels x k x k, keeping the response to grey input."""
    c_src = weight.shape[1]
    if c_src == in_channels:
        return weight
    if in_channels == 1:  # grey target: a grey image is the colour image with equal channels
        return weight.sum(1, keepdim=True)
    if c_src == 1:  # colour target: share the grey kernel equally
        return weight.repeat(1, in_channels, 1, 1) / in_channels
    mean = weight.mean(1, keepdim=True)  # any other pair: the mean kernel on every channel
    return mean.repeat(1, in_channels, 1, 1) * (c_src / in_channels)


def load_weights(model: nn.Module, state: dict[str, torch.Tensor], transfer: bool = False) -> dict[str, list[str]]:
    """Load ``state`` into ``model``. Without ``transfer`` every name and shape must match, and a
    different head is refused with a message; with it, the head starts fresh, the first
    convolution is adapted to the model's input channels, and everything else must match.

    Returns the names copied, adapted and left new.
    """
    target = model.state_dict()
    head = head_name(model)
    conv = first_conv_name(model)
    missing = [k for k in target if k not in state]
    extra = [k for k in state if k not in target]
    if missing or extra:
        raise TransferError(
            "These weights belong to another architecture: "
            + (f"missing {', '.join(missing[:4])}" if missing else "")
            + ("; " if missing and extra else "")
            + (f"unexpected {', '.join(extra[:4])}" if extra else "")
            + "."
        )
    report: dict[str, list[str]] = {"copied": [], "adapted": [], "new": []}
    new_state: dict[str, torch.Tensor] = {}
    for name, value in target.items():
        src = state[name]
        owner = _owner(name)
        if src.shape == value.shape and not (transfer and owner == head):
            new_state[name] = src.to(value.dtype)
            report["copied"].append(name)
        elif owner == head:
            if not transfer:
                raise TransferError(
                    f"The weights' classifier ({head}) has {state[name].shape[0]} outputs but this model "
                    f"has {value.shape[0]}: they were trained for other classes. Choose transfer learning "
                    "to replace the head with a new one."
                )
            new_state[name] = value  # the fresh initialisation of the new head
            report["new"].append(name)
        elif transfer and owner == conv and name.endswith("weight") and src.dim() == 4:
            new_state[name] = _adapt_first_conv(src, value.shape[1]).to(value.dtype)
            report["adapted"].append(name)
        elif not transfer and owner == conv:
            raise TransferError(
                f"The weights expect {src.shape[1]} input channel(s) but this model takes {value.shape[1]}. "
                "Choose transfer learning to adapt the first layer."
            )
        else:
            raise TransferError(
                f"{name} has shape {tuple(src.shape)} in the weights but {tuple(value.shape)} in the model; "
                "only the head and the first layer's channels can differ."
            )
    model.load_state_dict(new_state)
    return report


def build_transfer_model(
    source: SourceWeights, num_classes: int, in_channels: int
) -> tuple[nn.Module, dict[str, Any], dict[str, list[str]]]:
    """The source architecture built for ``num_classes`` outputs and ``in_channels`` inputs,
    holding the source's weights except the new head. Returns (model, build, load report)."""
    from explorer.models import get_spec

    if source.kind == "imagenet":
        model, build = load_source(source)
        return _replace_head_in_place(model, num_classes, in_channels), {**build, "num_classes": num_classes}, {
            "copied": [], "adapted": [], "new": [head_name(model) + ".weight"],
        }  # fmt: skip
    src_model, src_build = load_source(source)
    build = {**src_build, "num_classes": num_classes, "in_channels": in_channels}
    torch.manual_seed(0)  # the new head's initialisation is reproducible
    model = get_spec(source.arch).build(**build)
    report = load_weights(model, src_model.state_dict(), transfer=True)
    return model, build, report


def _replace_head_in_place(model: nn.Module, num_classes: int, in_channels: int) -> nn.Module:
    """For torchvision models: a new last Linear, and a first conv adapted to ``in_channels``."""
    head = head_name(model)
    parent_name, _, attr = head.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    old = getattr(parent, attr)
    if not isinstance(old, nn.Linear):
        raise TransferError("Only models whose classifier is a Linear layer can get a new head here.")
    setattr(parent, attr, nn.Linear(old.in_features, num_classes))
    conv_name = first_conv_name(model)
    if conv_name is not None:
        conv = model.get_submodule(conv_name)
        if conv.in_channels != in_channels:
            p_name, _, c_attr = conv_name.rpartition(".")
            p = model.get_submodule(p_name) if p_name else model
            new = nn.Conv2d(in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                            conv.dilation, conv.groups, conv.bias is not None)  # fmt: skip
            with torch.no_grad():
                new.weight.copy_(_adapt_first_conv(conv.weight, in_channels))
                if conv.bias is not None:
                    new.bias.copy_(conv.bias)
            setattr(p, c_attr, new)
    return model


# -- freezing -----------------------------------------------------------------------------------


class _FrozenStatsBatchNorm(nn.BatchNorm2d):
    """A batch-norm layer that stays in inference mode whatever ``train()`` says (same state)."""

    def train(self, mode: bool = True) -> _FrozenStatsBatchNorm:
        return super().train(False)


def last_stage_start(model: nn.Module) -> str:
    """The top-level child that holds the last convolution: it and everything after it form
    the "last stage" (for a flat Sequential: the last conv layer and the classifier)."""
    children = list(model.named_children())
    start = None
    for name, child in children:
        if isinstance(child, nn.Conv2d) or any(isinstance(m, nn.Conv2d) for m in child.modules()):
            start = name
    return start if start is not None else children[-1][0]


def trainable_names(model: nn.Module, mode: str) -> list[str]:
    """Names of the parameters that train in ``mode``."""
    if mode not in FREEZE_MODES:
        raise TransferError(f"Unknown freeze mode {mode!r}: choose one of {', '.join(FREEZE_MODES)}.")
    names = [n for n, _ in model.named_parameters()]
    if mode == "all":
        return names
    if mode == "head":
        head = head_name(model)
        return [n for n in names if _owner(n) == head]
    order = [name for name, _ in model.named_children()]
    first = order.index(last_stage_start(model))
    top = set(order[first:])
    return [n for n in names if n.split(".", 1)[0] in top]


def apply_freeze(model: nn.Module, mode: str) -> int:
    """Set ``requires_grad`` for ``mode`` and keep fully frozen batch norms in inference mode;
    returns the number of trainable parameters."""
    keep = set(trainable_names(model, mode))
    for name, p in model.named_parameters():
        p.requires_grad_(name in keep)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            frozen = all(not p.requires_grad for p in module.parameters(recurse=False))
            module.__class__ = _FrozenStatsBatchNorm if frozen else nn.BatchNorm2d
    model.train(model.training)
    return trainable_parameters(model)


def unfreeze(model: nn.Module) -> nn.Module:
    """Undo :func:`apply_freeze`: every parameter trainable, batch norms ordinary again."""
    for p in model.parameters():
        p.requires_grad_(True)
    for module in model.modules():
        if isinstance(module, _FrozenStatsBatchNorm):
            module.__class__ = nn.BatchNorm2d
    return model


def trainable_parameters(model: nn.Module) -> int:
    """The number of parameters that the optimiser will change."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_by_mode(model: nn.Module) -> dict[str, int]:
    """Trainable parameters in each freeze mode (for the page's table), without changing the model."""
    sizes = dict((n, p.numel()) for n, p in model.named_parameters())
    return {mode: sum(sizes[n] for n in trainable_names(model, mode)) for mode in FREEZE_MODES}


def param_groups(model: nn.Module, lr: float, backbone_factor: float = 1.0) -> list[dict[str, Any]]:
    """Optimiser groups: the head at ``lr`` first, the other trainable parameters at
    ``lr * backbone_factor`` (a smaller step keeps what the backbone learnt)."""
    head = head_name(model)
    head_params = [p for n, p in model.named_parameters() if p.requires_grad and _owner(n) == head]
    body = [p for n, p in model.named_parameters() if p.requires_grad and _owner(n) != head]
    groups = [{"params": head_params, "lr": lr}]
    if body:
        groups.append({"params": body, "lr": lr * backbone_factor})
    return groups


# -- data --------------------------------------------------------------------------------------


def resize_splits(data: Splits, size: int) -> Splits:
    """The same splits with images resized to ``size`` x ``size`` (bilinear, antialiased)."""
    if data.x_train.shape[-1] == size and data.x_train.shape[-2] == size:
        return data

    def r(x: torch.Tensor) -> torch.Tensor:  # N x C x H x W -> N x C x size x size
        return F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)

    return Splits(
        data.info, r(data.x_train), data.y_train, r(data.x_val), data.y_val, r(data.x_test), data.y_test,
        meta={**data.meta, "resized_to": size},
    )  # fmt: skip


def source_image_size(source: SourceWeights) -> int:
    if source.kind == "imagenet":
        return 224
    build = source.build or bundled_source(source.arch).build
    return int(build.get("image_size", 32))


def load_target(settings: TrainSettings) -> Splits:
    """The target dataset of ``settings`` (sizes as ``run_training`` draws them)."""
    return load_dataset(
        settings.dataset, seed=settings.seed, difficulty=settings.difficulty, download=settings.download,
        sizes=(settings.train_samples, settings.val_samples, max(settings.val_samples, 500)),
    )  # fmt: skip


# -- the job -----------------------------------------------------------------------------------


def run_transfer(
    settings: TrainSettings,
    source: SourceWeights | None = None,
    should_stop: Callable[[], bool] | None = None,
    data: Splits | None = None,
    image_size: int | None = None,
    **fit_kwargs: Any,
) -> Generator[Event, None, FitResult]:
    """Fine-tune ``source`` on ``settings.dataset`` (``settings.freeze``, ``settings.backbone_lr``);
    with ``source=None``, the same architecture from random weights on the same resized data and
    budget: the fair "from scratch" twin. A job target (plain arguments only)."""
    settings.check()
    if data is None:
        yield Preparing(f"Preparing {get_dataset_info(settings.dataset).title}...")
        data = load_target(settings)
    size = image_size or (source_image_size(source) if source is not None else None)
    if size is not None:
        data = resize_splits(data, size)
    c, h, _ = data.x_train.shape[1:]
    num_classes = 1 if data.info.task == "binary" else len(data.classes)
    yield Preparing("Building the model...")
    if source is not None:
        model, build, report = build_transfer_model(source, num_classes, c)
        mode = settings.freeze
        label = source.describe()
    else:
        from explorer.training.fit import build_model

        torch.manual_seed(settings.seed)
        model, build = build_model(settings.model, c, num_classes, h)
        report = {"copied": [], "adapted": [], "new": list(model.state_dict())}
        mode, label = "all", "random initialisation (from scratch)"
    trainable = apply_freeze(model, mode)
    total = sum(p.numel() for p in model.parameters())
    yield TransferInfo(
        label, mode, trainable, total, tuple(report["copied"]), tuple(report["adapted"]),
        tuple(report["new"]), head_name(model), int(h),
    )  # fmt: skip
    groups = param_groups(model, settings.lr, settings.backbone_lr) if source is not None else None
    try:
        result = yield from fit(model, data, settings, should_stop=should_stop, param_groups=groups, **fit_kwargs)
    finally:
        unfreeze(model)
    result.model = result.model.cpu().eval()
    arch = source.arch if source is not None else settings.model
    result.arch, result.build, result.dataset = arch, build, settings.dataset
    result.metrics["trainable_parameters"] = trainable
    return result


def same_budget_steps(settings: TrainSettings) -> int:
    """Optimisation steps a run of ``settings`` takes (both arms of a comparison take these)."""
    return settings.epochs * math.ceil(settings.train_samples / min(settings.batch_size, settings.train_samples))


# The default pair, chosen by measuring (bench/bench_transfer.py, docs/architecture.md): the
# compact ResNet trained on the six synthetic shapes, fine-tuned on circles vs squares from 64
# training images; the twin from scratch gets the same images, steps and learning rate.
DEFAULT_PAIR: dict[str, Any] = {
    "source_arch": "resnet_small",
    "settings": dict(
        model="resnet_small", dataset="circles_squares", optimizer="adam", lr=1e-2, batch_size=16, epochs=4,
        train_samples=64, val_samples=200, difficulty=0.3, source="bundled:resnet_small", freeze="head",
    ),
}


def default_transfer_settings(**overrides: Any) -> TrainSettings:
    """The measured default pair's settings (``overrides`` change any field)."""
    return TrainSettings(**{**DEFAULT_PAIR["settings"], **overrides})


def run_own_images(
    settings: TrainSettings,
    folder: str,
    source: SourceWeights | None = None,
    should_stop: Callable[[], bool] | None = None,
    **fit_kwargs: Any,
) -> Generator[Event, None, FitResult]:
    """Train on the user's own images (a folder written by ``explorer.data.own_images``): from
    scratch (``source=None``) or by transfer. A job target: the folder travels as a path."""
    from explorer.data.own_images import load_own

    yield Preparing("Reading your images...")
    data = load_own(folder, seed=settings.seed)
    size = None if source is not None else data.x_train.shape[-1]
    result = yield from run_transfer(settings, source, should_stop, data=data, image_size=size, **fit_kwargs)
    result.dataset = "your images"
    return result
