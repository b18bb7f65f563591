"""The events of sequence training (explorer.training.sequence): one per optimisation step,
held-out evaluation and text sample, per cell. The job log keeps them; the Recurrent page draws
its curves and samples from them."""

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
