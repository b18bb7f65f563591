"""The events of sequence training (explorer.training.sequence): one per optimisation step,
held-out evaluation and text sample, per cell. The job log keeps them; the Recurrent page draws
its curves and samples from them (``compare_curves``, ``compare_val_curves``)."""

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class SeqStep:
    """One optimisation step of one cell (kept in the job log: these draw the curves)."""

    step: int
    cell: str
    loss: float
    metric: float  # bits per char for text, MSE otherwise
    grad_norm: float  # before clipping
    elapsed: float
    transient: bool = False


@dataclass(frozen=True)
class SeqVal:
    """Loss of one cell on held-out data (held-out text, or fresh sequences) at ``step``."""

    step: int
    cell: str
    loss: float
    metric: float  # bits per char for text, MSE otherwise
    elapsed: float
    transient: bool = False


@dataclass(frozen=True)
class SeqSample:
    """Text sampled from a character model during training (only the newest is kept)."""

    step: int
    cell: str
    text: str
    transient: bool = True


def compare_curves(log: Sequence[object]) -> dict[str, list[tuple[int, float]]]:
    """Learning curves per cell from a job log (any mix of events; SeqStep ones are used)."""
    curves: dict[str, list[tuple[int, float]]] = {}
    for event in log:
        if isinstance(event, SeqStep):
            curves.setdefault(event.cell, []).append((event.step, event.metric))
    return curves


def compare_val_curves(log: Sequence[object]) -> dict[str, list[tuple[int, float]]]:
    """Held-out curves per cell from a job log (the SeqVal events)."""
    curves: dict[str, list[tuple[int, float]]] = {}
    for event in log:
        if isinstance(event, SeqVal):
            curves.setdefault(event.cell, []).append((event.step, event.metric))
    return curves
