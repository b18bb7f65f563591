"""Two definitions of one network side by side: torchvision's variant and the paper's.

Facts are measured, not typed: parameters and MACs on the meta device, kernel sizes, grouped
convolutions, LRN and batch-norm layers read from the module tree.
"""

from __future__ import annotations

import functools

import torch
from torch import nn

from explorer.models.catalog import get_spec
from explorer.probe.summary import summarize


@functools.lru_cache(maxsize=8)
def _facts(key: str, input_shape: tuple[int, int, int]) -> tuple[tuple[str, str], ...]:
    spec = get_spec(key)
    with torch.device("meta"):
        model = spec.build()
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    kernels = sorted({m.kernel_size[0] for m in convs}, reverse=True)
    summary = summarize(spec.build, input_shape)
    if spec.family == "LeNet":
        return _lenet_facts(model, summary.total_params, summary.total_macs, spec.key)
    count = lambda kind: sum(isinstance(m, kind) for m in model.modules())  # noqa: E731
    return tuple(
        {
            "parameters": f"{summary.total_params:,}",
            f"MACs per {input_shape[1]} x {input_shape[2]} image": f"{summary.total_macs / 1e9:.2f} G",
            "convolutions": str(len(convs)),
            "kernel sizes": ", ".join(f"{k}x{k}" for k in kernels),
            "filters of the first five convolutions": "/".join(
                str(m.out_channels) for m in convs[:5]
            ),
            "grouped convolutions (two GPUs)": str(sum(m.groups > 1 for m in convs)),
            "local response normalisation layers": str(count(nn.LocalResponseNorm)),
            "batch norm layers": str(count(nn.BatchNorm2d)),
            "ImageNet weights": spec.weights or "none (random weights only)",
        }.items()
    )


def _lenet_facts(model: nn.Module, params: int, macs: int, key: str) -> tuple[tuple[str, str], ...]:
    """LeNet-5's differences, read from the module tree: units, pooling, C3's wiring, output."""
    kinds = {type(m).__name__ for m in model.modules()}
    return (
        ("parameters", f"{params:,}"),
        ("MACs per 32 x 32 image", f"{macs / 1e6:.2f} M"),
        ("units", "scaled tanh 1.7159 tanh(2a/3)" if "ScaledTanh" in kinds else "ReLU"),
        (
            "pooling",
            "trainable subsampling (2x2 sum x coefficient + bias)"
            if "MaxPool2d" not in kinds
            else "2x2 max-pooling",
        ),
        (
            "C3 connections",
            "Table I: 3, 4 or 6 of the 6 S2 maps" if "PartialConv" in kinds else "all 6 S2 maps",
        ),
        (
            "output",
            "10 Euclidean RBF units on fixed codes"
            if "EuclideanRBF" in kinds
            else "linear 84 -> 10",
        ),
        ("weights", "bundled (trained here) or random" if key == "lenet5" else "random only"),
    )


def compare_variants(
    key: str, input_shape: tuple[int, int, int] | None = None
) -> list[dict[str, str]]:
    """One row per fact (parameters, MACs, kernels, LRN, batch norm...), one column per
    definition: ``key`` and its catalog twin (torchvision's or the teaching variant, or the
    paper's), at the entry's own input shape unless ``input_shape`` is given."""
    spec = get_spec(key)
    input_shape = input_shape or spec.input_shape  # type: ignore[assignment]
    if spec.twin is None:
        raise ValueError(f"{spec.title} has no other definition to compare with.")
    keys = (key, spec.twin)
    facts = [dict(_facts(k, tuple(input_shape))) for k in keys]  # measured once per process
    titles = [get_spec(k).title for k in keys]
    return [{"": name, titles[0]: facts[0][name], titles[1]: facts[1][name]} for name in facts[0]]


def variants_heading(key: str) -> tuple[str, str]:
    """The title and the caption of the side-by-side view of ``key`` and its twin: which of the
    two is the paper's, and what the other one is (torchvision's or this project's variant)."""
    spec = get_spec(key)
    if spec.twin is None:
        raise ValueError(f"{spec.title} has no other definition to compare with.")
    pair = sorted((spec, get_spec(spec.twin)), key=lambda s: "as published" not in s.title)
    published, other = pair
    shape = " x ".join(map(str, published.input_shape[1:]))
    if other.weights:
        return (
            f"As published beside torchvision's variant: {spec.title} and {get_spec(spec.twin).title}",
            f"Both measured at {shape} on the meta device. torchvision's definitions carry the ImageNet "
            "weights; the papers' layouts are built here with random weights.",
        )
    return (
        f"As published beside the teaching variant: {spec.title} and {get_spec(spec.twin).title}",
        f"Both measured at {shape} on the meta device. {other.title} is this project's variant (see its "
        "card for how it departs from the paper); the paper's layout is built here with random weights.",
    )
