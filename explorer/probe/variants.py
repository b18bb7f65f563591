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
    count = lambda kind: sum(isinstance(m, kind) for m in model.modules())  # noqa: E731
    return tuple({
        "parameters": f"{summary.total_params:,}",
        f"MACs per {input_shape[1]} x {input_shape[2]} image": f"{summary.total_macs / 1e9:.2f} G",
        "convolutions": str(len(convs)),
        "kernel sizes": ", ".join(f"{k}x{k}" for k in kernels),
        "filters of the first five convolutions": "/".join(str(m.out_channels) for m in convs[:5]),
        "grouped convolutions (two GPUs)": str(sum(m.groups > 1 for m in convs)),
        "local response normalisation layers": str(count(nn.LocalResponseNorm)),
        "batch norm layers": str(count(nn.BatchNorm2d)),
        "ImageNet weights": spec.weights or "none (random weights only)",
    }.items())


def compare_variants(key: str, input_shape: tuple[int, int, int] = (3, 224, 224)) -> list[dict[str, str]]:
    """One row per fact (parameters, MACs, kernels, LRN, batch norm...), one column per
    definition: ``key`` and its catalog twin (torchvision's variant or the paper's)."""
    spec = get_spec(key)
    if spec.twin is None:
        raise ValueError(f"{spec.title} has no other definition to compare with.")
    keys = (key, spec.twin)
    facts = [dict(_facts(k, tuple(input_shape))) for k in keys]  # measured once per process
    titles = [get_spec(k).title for k in keys]
    return [{"": name, titles[0]: facts[0][name], titles[1]: facts[1][name]} for name in facts[0]]
