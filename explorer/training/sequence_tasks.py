"""The sequence tasks RNN, GRU and LSTM are trained on, as data: their names, titles, metric,
the score of a model that learned nothing, what their length setting means, and the settings a
comparison starts from.

One home for these tables: the trainer (:mod:`explorer.training.sequence`) and the Recurrent
page read them from here, and what each task's models read (text, which signals) is
:func:`explorer.data.sequences.input_kind_for_task` / ``signals_for_task``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from explorer.data.sequences import SINE_ZERO_MSE, VOCAB_SIZE

TASKS = ("chars", "sine", "adding")
TASK_TITLES = {
    "chars": "Next character on the shipped corpus",
    "sine": "Sine forecasting (next value)",
    "adding": "Adding problem (sum of two marked values)",
}
TASK_METRIC = {"chars": "bits per char", "sine": "MSE", "adding": "MSE"}
# What a model that learned nothing scores: uniform over the vocabulary; predicting 0
# (E[A^2]/2 = 7/24 for amplitudes A ~ U(0.5, 1)); always answering the mean sum (1.0), whose
# squared error averages 1/6.
TASK_BASELINE = {"chars": math.log2(VOCAB_SIZE - 1), "sine": SINE_ZERO_MSE, "adding": 1 / 6}
# What ``SequenceSettings.seq_len`` is in each task: a window of the stream, or the whole sequence.
TASK_LENGTH_NAME = {"chars": "Window", "sine": "Window", "adding": "Sequence length"}


class TaskDefaults(NamedTuple):
    """A task's starting settings for a comparison (each tuned to train in a few minutes)."""

    steps: int
    seq_len: int
    lr: float
    hidden_size: int


TASK_DEFAULTS = {
    "chars": TaskDefaults(400, 64, 1e-2, 128),
    "sine": TaskDefaults(200, 50, 1e-2, 32),
    # 30 steps: GRU and LSTM solve it, the plain RNN does not
    "adding": TaskDefaults(800, 30, 1e-2, 64),
}
