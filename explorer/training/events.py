"""The progress events ``fit`` yields, and a history that folds them into curves and a CSV.

Events are small frozen dataclasses. ``Tick`` (every step) and ``Snapshot`` (images) are
*transient*: a job keeps only the newest of each, so a long run's memory stays bounded.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass(frozen=True)
class Preparing:
    """Building the dataset and the model (before the first step)."""

    message: str


@dataclass(frozen=True)
class Started:
    """The run is set up: sizes, device, number of steps."""

    total_steps: int
    steps_per_epoch: int
    epochs: int
    device: str
    mixed_precision: bool
    parameters: int
    classes: tuple[str, ...]
    task: str
    train_size: int
    val_size: int
    settings: dict[str, Any]


@dataclass(frozen=True)
class Tick:
    """One optimisation step is done (no numbers: reading them would sync the device)."""

    step: int
    epoch: int
    transient: bool = True


@dataclass(frozen=True)
class Progress:
    """Training metrics averaged over the steps since the previous Progress event."""

    step: int
    epoch: int  # 1-based epoch in progress
    epoch_fraction: float  # epochs done as a real number, for the x axis
    train_loss: float
    train_acc: float
    lr: float
    samples_per_s: float
    eta_s: float
    elapsed_s: float
    grad_norms: dict[str, float] = field(default_factory=dict)  # per layer (weight tensors)


@dataclass(frozen=True)
class EpochEnd:
    """One epoch is done: its training averages and the validation metrics."""

    epoch: int
    step: int
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float
    lr: float
    elapsed_s: float


@dataclass(frozen=True)
class Snapshot:
    """First-layer filters and a probe image's feature maps at ``step`` (CPU tensors)."""

    step: int
    epoch: int
    filters: torch.Tensor | None  # C_out x C_in x k x k of the first convolution
    filters_layer: str | None
    probe_image: torch.Tensor  # C x H x W in [0, 1]
    probe_label: str
    feature_maps: dict[str, torch.Tensor]  # layer name -> C x H x W
    transient: bool = True


@dataclass(frozen=True)
class Finished:
    """The run ended (all epochs, or stopped early): the final evaluation on the test set."""

    step: int
    epochs_done: float
    stopped_early: bool
    val_loss: float
    val_acc: float
    test_loss: float
    test_acc: float
    confusion: torch.Tensor  # K x K counts, rows = true class, columns = predicted
    per_class_acc: list[float]
    classes: tuple[str, ...]
    misclassified: torch.Tensor  # M x C x H x W, M <= 32
    mis_true: list[int]
    mis_pred: list[int]
    elapsed_s: float


Event = Preparing | Started | Tick | Progress | EpochEnd | Snapshot | Finished

HISTORY_COLUMNS = (
    "step",
    "epoch",
    "train_loss",
    "train_acc",
    "val_loss",
    "val_acc",
    "lr",
    "samples_per_s",
    "elapsed_s",
)


ETA_WINDOW_S = 20.0  # the rate is measured over the last 20 s of progress
ETA_MIN_SPAN_S = 3.0  # ... once it spans at least 3 s (the first steps include warm-up)
ETA_MAX_DRIFT = 0.25  # ... and the rates of its two halves agree within 25 %


def eta_from_window(steps: list[int], elapsed_s: list[float], total_steps: int) -> float | None:
    """Seconds left at the step rate of the last ``ETA_WINDOW_S`` seconds, or None while it
    is not stable yet: fewer than 4 points, a window shorter than ``ETA_MIN_SPAN_S``, or halves
    whose rates differ by more than ``ETA_MAX_DRIFT``. A cumulative average (steps / time since
    the start) is dominated by the slow first steps and swings for most of a short run."""
    n = min(len(steps), len(elapsed_s))
    if n < 4 or total_steps <= 0:
        return None
    t_end = elapsed_s[n - 1]
    first = next(i for i in range(n) if elapsed_s[i] >= t_end - ETA_WINDOW_S)
    first = min(first, n - 4)  # at least 4 points even when progress comes rarely
    span = t_end - elapsed_s[first]
    if span < ETA_MIN_SPAN_S:
        return None
    mid = (first + n - 1) // 2

    def rate(a: int, b: int) -> float:
        return (steps[b] - steps[a]) / max(elapsed_s[b] - elapsed_s[a], 1e-9)

    whole, early, late = rate(first, n - 1), rate(first, mid), rate(mid, n - 1)
    if whole <= 0 or abs(late - early) > ETA_MAX_DRIFT * whole:
        return None
    return max(0.0, (total_steps - steps[n - 1]) / whole)


@dataclass
class History:
    """Curves folded from events: step-wise training metrics and epoch-wise validation."""

    steps: list[int] = field(default_factory=list)
    epoch_x: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    samples_per_s: list[float] = field(default_factory=list)
    elapsed_s: list[float] = field(default_factory=list)
    grad_norms: dict[str, list[float]] = field(default_factory=dict)
    grad_steps: list[int] = field(default_factory=list)
    epochs: list[EpochEnd] = field(default_factory=list)
    started: Started | None = None
    last: Progress | None = None
    finished: Finished | None = None

    def add(self, event: Any) -> None:
        if isinstance(event, Started):
            self.started = event
        elif isinstance(event, Progress):
            self.last = event
            self.steps.append(event.step)
            self.epoch_x.append(event.epoch_fraction)
            self.train_loss.append(event.train_loss)
            self.train_acc.append(event.train_acc)
            self.lr.append(event.lr)
            self.samples_per_s.append(event.samples_per_s)
            self.elapsed_s.append(event.elapsed_s)
            if event.grad_norms:
                self.grad_steps.append(event.step)
                for name, value in event.grad_norms.items():
                    self.grad_norms.setdefault(name, []).append(value)
        elif isinstance(event, EpochEnd):
            self.epochs.append(event)
        elif isinstance(event, Finished):
            self.finished = event

    def eta_s(self, total_steps: int | None = None) -> float | None:
        """Seconds left, from the step rate over a moving window of recent progress; None
        ("estimating...") until that rate is stable. See :func:`eta_from_window`."""
        total = total_steps or (self.started.total_steps if self.started is not None else 0)
        return eta_from_window(self.steps, self.elapsed_s, total)

    @classmethod
    def from_events(cls, events: list[Any]) -> History:
        h = cls()
        for e in events:
            h.add(e)
        return h

    def rows(self) -> list[dict[str, Any]]:
        """One row per Progress event, with validation columns filled on epoch ends."""
        val = {e.step: e for e in self.epochs}
        rows = []
        for i, step in enumerate(self.steps):
            end = val.get(step)
            rows.append(
                {
                    "step": step,
                    "epoch": round(self.epoch_x[i], 4),
                    "train_loss": self.train_loss[i],
                    "train_acc": self.train_acc[i],
                    "val_loss": end.val_loss if end else "",
                    "val_acc": end.val_acc if end else "",
                    "lr": self.lr[i],
                    "samples_per_s": round(self.samples_per_s[i], 1),
                    "elapsed_s": round(self.elapsed_s[i], 3),
                }
            )
        return rows

    def to_csv(self) -> str:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=HISTORY_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows())
        return buf.getvalue()


def drain(gen: Generator[Any, None, Any]) -> tuple[list[Any], Any]:
    """Run a training generator (``fit``, a job target) to its end, outside any job: its events
    in order, and what it returned (a notebook's or a script's way to train)."""
    events = []
    while True:
        try:
            events.append(next(gen))
        except StopIteration as stop:
            return events, stop.value
