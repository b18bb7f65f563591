"""Ready-made comparisons: the experiments the course argues from, each ONE job of several runs.

Each experiment lists its runs as :class:`~explorer.training.runs.RunSpec` (a job target and
plain arguments), and :func:`experiment_spec` wraps them into a single job that trains them one
after another (``run_comparison``), so "one job per user" holds and, on a one-slot CPU, the
chart fills run by run. The text says what to look for and why, in the course's words.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

from explorer.training.runs import RunSpec

TARGET = "explorer.training.runs:run_comparison"


@dataclass(frozen=True)
class Experiment:
    """A comparison: its question, what the result shows, and how to build its runs."""

    key: str
    title: str
    question: str
    explanation: str
    charts: tuple[str, ...]  # which views the page draws: "loss", "accuracy", "grad_norms", "sequence"
    runs: Callable[[], list[RunSpec]]
    minutes: str  # rough wall time on 2 shared CPU cores


def _plain_vs_residual() -> list[RunSpec]:
    from explorer.training.settings import default_settings

    return [
        RunSpec(f"{key.replace('_deep', '')} 20", "explorer.training.fit:run_training",
                {"settings": default_settings(key, "digits", device="cpu")})
        for key in ("plain_deep", "residual_deep")
    ]  # fmt: skip


def _transfer_vs_scratch() -> list[RunSpec]:
    from explorer.training.transfer import DEFAULT_PAIR, default_transfer_settings
    from explorer.training.transfer_weights import bundled_source

    source = bundled_source(DEFAULT_PAIR["source_arch"])
    s = default_transfer_settings(device="cpu")
    return [
        RunSpec("transfer (head only)", "explorer.training.transfer:run_transfer", {"settings": s, "source": source}),
        RunSpec("from scratch", "explorer.training.transfer:run_transfer",
                {"settings": s.__class__(**{**asdict(s), "source": "scratch", "freeze": "all"}), "source": None,
                 "image_size": 32}),
    ]  # fmt: skip


def _cells_on_adding() -> list[RunSpec]:
    from explorer.training.sequence import SequenceSettings

    s = SequenceSettings(task="adding", cells=("rnn", "gru", "lstm"), hidden_size=64, steps=800, seq_len=30, lr=1e-2)
    return [RunSpec("RNN vs GRU vs LSTM", "explorer.training.sequence:train_sequence_models", {"settings": s})]


EXPERIMENTS: dict[str, Experiment] = {
    e.key: e
    for e in (
        Experiment(
            "plain_vs_residual", "Plain 20 vs residual 20",
            "Does a shortcut make a 20-layer network trainable?",
            "Both nets have the same 20 layers, data, seed and optimiser; only the identity shortcut "
            "differs. The residual net's loss falls within the first epochs while the plain net stays "
            "near chance for a long time. The gradient-norm panels show why: in the plain net the "
            "gradient reaching the first layers is orders of magnitude smaller than at the top (it "
            "vanishes through the stack), while the shortcuts carry it down undiminished (He et al., 2015).",
            ("loss", "accuracy", "grad_norms"), _plain_vs_residual, "about 4 to 8 minutes",
        ),
        Experiment(
            "transfer_vs_scratch", "Transfer vs from scratch",
            "With 64 training images, does starting from trained features help?",
            "Both runs see the same 64 images of circles and squares for the same 16 steps at the same "
            "learning rate. The transferred model reuses the compact ResNet trained on six synthetic "
            "shapes and trains only a new 129-parameter head; the twin starts from random weights and "
            "trains all 695,425. Transfer reaches near-perfect test accuracy; from scratch stays near "
            "chance: features learnt on a related task are a far better start than random ones when "
            "data and time are short.",
            ("loss", "accuracy"), _transfer_vs_scratch, "about 1 to 3 minutes",
        ),
        Experiment(
            "cells_on_adding", "RNN vs GRU vs LSTM on the adding problem",
            "Can a plain RNN carry a value across 30 steps?",
            "The target is the sum of two marked numbers far apart in the sequence. Answering the mean "
            "(1.0) scores an MSE of 1/6 ~ 0.167. The gated cells (GRU, LSTM) find the marked values and "
            "drive the error towards zero; the plain RNN stays near the baseline, because its gradient "
            "through 30 tanh steps fades (Hochreiter & Schmidhuber, 1997).",
            ("sequence",), _cells_on_adding, "about 1 to 2 minutes",
        ),
    )
}


def experiment_spec(key: str) -> tuple[str, dict]:
    """(job target, kwargs) for experiment ``key``: one job that runs its runs in turn."""
    if key not in EXPERIMENTS:
        raise KeyError(f"Unknown experiment {key!r}: choose one of {', '.join(EXPERIMENTS)}.")
    return TARGET, {"runs": EXPERIMENTS[key].runs()}
