"""Which layers of a CNN a view looks at: its convolutions (their filters) and the deepest
layer that is still a spatial map (where Grad-CAM reads its gradients).

Plain functions of a model or of its captured maps, so a notebook gets the same choices as
the Feature maps page.
"""

from __future__ import annotations

from typing import Protocol

from torch import nn


class _Shaped(Protocol):
    shape: tuple[int, ...]


class _MapsByName(Protocol):
    """Captured maps by layer name (explorer.probe.stats.FeatureMaps or explorer.probe.overview.FeatureOverview)."""

    def names(self) -> list[str]: ...

    def get(self, name: str) -> _Shaped: ...


def conv_layers(model: nn.Module) -> list[tuple[str, nn.Conv2d]]:
    """Every 2-D convolution of ``model`` with its module path, in definition order."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]


def grad_cam_layer(maps: _MapsByName) -> str | None:
    """The deepest captured layer that is still a spatial map (C x H x W with H > 1): Grad-CAM's
    usual choice, the last place where 'where in the image' still exists. None if there is none."""
    spatial = [n for n in maps.names() if len(maps.get(n).shape) == 3 and maps.get(n).shape[1] > 1]
    return spatial[-1] if spatial else None
