"""What a catalog entry is: :class:`ArchSpec` (the architecture as data) and the
:class:`TrainingRecipe` of a trainable entry. The entries themselves are
:mod:`explorer.models.catalog_entries` and :mod:`explorer.models.catalog_recurrent`; looking them
up is :mod:`explorer.models.catalog`.
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
