"""Where transfer learning starts: trained weights as a source, a new head, the first layer adapted.

A :class:`SourceWeights` names the starting weights in plain, picklable values (a job spec
carries it): the project's bundled weights, a model the user trained, or torchvision's ImageNet
weights when they are in the local cache. :func:`build_transfer_model` builds the architecture for
the new number of classes and input channels and copies every tensor whose name and shape match;
the first convolution is adapted when the channels differ (grey <- colour: the kernels summed over
colour, so a grey image gives the response the source gave to that grey image in colour; colour
<- grey: the kernel shared equally by the three channels), and the head starts fresh, drawn from a
local generator (the process-wide RNG is never seeded).

ImageNet sources keep torchvision's definition with its three input channels: their data are
turned into what the weights expect (grey repeated into R, G and B, resized to 224, ImageNet's
normalisation; :func:`explorer.training.transfer.to_source_input`), so the fine-tuned model is an
ordinary catalog model with another head, rebuilt anywhere with ``num_classes`` alone, and the
Feature maps page feeds it exactly that recipe.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

SOURCE_KINDS = ("bundled", "user", "imagenet", "spec")
HEAD_SEED = 0  # the new head's initialisation is reproducible


class TransferError(ValueError):
    """Weights that cannot be used as asked; the message says what to do."""


@dataclass(frozen=True)
class SourceWeights:
    """Where the starting weights come from: plain, picklable values (a job spec carries them).

    ``bundled``: the project's weights for ``arch`` (assets/weights); ``user``: a model the user
    trained or loaded (``state_dict`` and ``build`` given); ``imagenet``: torchvision's weights
    when cached (or downloadable, if ``download``); ``spec``: an imported model, its spec's JSON
    in ``build`` and its weights in ``state_dict`` (:mod:`explorer.training.spec_transfer`).
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


def bundled_source(arch: str) -> SourceWeights:
    """The project's bundled weights for ``arch`` as a source (header read only: cheap)."""
    from explorer.models.checkpoint import read_meta
    from explorer.models.weights import WeightsUnavailableError, bundled_path

    path = bundled_path(arch)
    if not path.is_file():
        raise WeightsUnavailableError(f"No bundled weights for {arch} (expected {path.name}).")
    meta = read_meta(path.read_bytes())
    return SourceWeights(
        "bundled",
        arch,
        dict(meta.build),
        None,
        tuple(meta.classes),
        meta.dataset,
        title=f"{arch} trained on {meta.dataset}",
    )


def imagenet_source(arch: str, *, download: bool = False) -> SourceWeights:
    """torchvision's ImageNet weights of catalog entry ``arch`` as a source (nothing is read yet;
    :func:`load_source` reads the cache, or downloads when ``download`` and a network is there)."""
    from explorer.models import get_spec

    spec = get_spec(arch)
    if spec.weights is None:
        raise TransferError(f"{spec.title} has no ImageNet weights: choose another source.")
    return SourceWeights(
        "imagenet",
        arch,
        {},
        None,
        (),
        "ImageNet (1000 classes)",
        title=f"{spec.title} trained on ImageNet",
        download=download,
    )


def cached_imagenet_archs(candidates: tuple[str, ...] | None = None) -> list[str]:
    """Catalog entries whose ImageNet weights are in the local cache (no network, no reading)."""
    from explorer.models import CATALOG
    from explorer.models.weights import pretrained_cache_path

    keys = candidates if candidates is not None else tuple(CATALOG)
    return [
        k
        for k in keys
        if CATALOG[k].weights is not None and pretrained_cache_path(CATALOG[k]).is_file()
    ]


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
    raise TransferError(
        f"Unknown weights source {source.kind!r}: choose one of {', '.join(SOURCE_KINDS)}."
    )


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


def owner_of(param_name: str) -> str:
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


def load_weights(
    model: nn.Module, state: dict[str, torch.Tensor], transfer: bool = False
) -> dict[str, list[str]]:
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
        owner = owner_of(name)
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


def reset_seeded(module: nn.Module, seed: int = HEAD_SEED) -> None:
    """torch's default initialisation of a ``Linear`` / ``Conv2d`` (its ``reset_parameters``),
    drawn from a local generator: the same seed gives the same new head."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        nn.init.kaiming_uniform_(module.weight, a=math.sqrt(5), generator=g)
        if module.bias is not None:
            bound = 1 / math.sqrt(module.weight[0].numel())
            module.bias.uniform_(-bound, bound, generator=g)


def _fresh_linear(in_features: int, out_features: int, seed: int = HEAD_SEED) -> nn.Linear:
    """A new ``nn.Linear`` with torch's default initialisation, drawn from a local generator."""
    head = nn.Linear(in_features, out_features)
    reset_seeded(head, seed)
    return head


def _fresh_head(model: nn.Module) -> list[str]:
    """Re-draw the head's parameters from the local generator; their names."""
    head = model.get_submodule(head_name(model))
    reset_seeded(head)
    return [n for n, _ in head.named_parameters(prefix=head_name(model))]


def build_transfer_model(
    source: SourceWeights, num_classes: int, in_channels: int
) -> tuple[nn.Module, dict[str, Any], dict[str, list[str]]]:
    """The source architecture built for ``num_classes`` outputs and ``in_channels`` inputs,
    holding the source's weights except the new head. Returns (model, build, load report).

    An ImageNet source keeps its three input channels whatever ``in_channels`` says (its data are
    converted instead, see the module docstring). An imported model (a ``spec`` source) is built
    by :func:`explorer.training.spec_transfer.build_spec_transfer` instead."""
    from explorer.models import get_spec

    if source.kind == "imagenet":
        model, build = load_source(source)
        names = list(model.state_dict())
        new = _replace_head(model, num_classes)
        copied = [n for n in names if n not in new and n in model.state_dict()]
        return (
            model,
            {**build, "num_classes": num_classes},
            {"copied": copied, "adapted": [], "new": new},
        )
    src_model, src_build = load_source(source)
    build = {**src_build, "num_classes": num_classes, "in_channels": in_channels}
    model = get_spec(source.arch).build(**build)
    _fresh_head(model)
    report = load_weights(model, src_model.state_dict(), transfer=True)
    return model, build, report


def _replace_head(model: nn.Module, num_classes: int) -> list[str]:
    """For torchvision models: a new last ``Linear`` for ``num_classes``; the new tensors' names."""
    head = head_name(model)
    parent_name, _, attr = head.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    old = getattr(parent, attr)
    if not isinstance(old, nn.Linear):
        raise TransferError(
            "Only models whose classifier is a Linear layer can get a new head here."
        )
    setattr(parent, attr, _fresh_linear(old.in_features, num_classes))
    return [f"{head}.weight", f"{head}.bias"]
