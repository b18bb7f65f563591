"""A model that belongs to one user: its architecture, build, weights and what is known about them.

Pure data (no Streamlit): the per-session registry that keeps these lives in
:mod:`explorer.ui.registry`; weights are CPU tensors and become a module through the one
checkpoint -> model path (:func:`explorer.models.checkpoint.model_from_state`: build arguments
and size checked on the meta device, strict shapes, finite values).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from explorer.models.checkpoint import model_from_state


@dataclass(frozen=True)
class UserModel:
    """A model that belongs to one user session."""

    name: str
    arch: str
    build: dict[str, Any]
    state_dict: dict[str, torch.Tensor] = field(repr=False)
    classes: list[str] = field(default_factory=list)
    dataset: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    source: str = "trained in this session"  # how it came to be, as a page says it (callers set it)
    created: float = field(default_factory=time.time)

    def instantiate(self) -> nn.Module:
        """A fresh module with these weights, in eval mode; CheckpointError if they do not fit."""
        return model_from_state(self.arch, self.build, self.state_dict)
