"""Sequences for the recurrent explorer: typed text as characters, synthetic signals, tasks.

Text uses one fixed character vocabulary (so a model trained on the shipped corpus can read
what a student types); anything outside it becomes the unknown symbol, with a note. Every
sequence is capped at ``MAX_STEPS`` steps, with a message. The corpus in ``assets/corpus``
was written for the project (MIT, like the code): nothing is downloaded.
"""

from __future__ import annotations

import math
import string
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

MAX_STEPS = 1000
UNK = "\ufffd"  # the replacement character stands for anything outside the vocabulary
# Index 0 is the unknown symbol; the rest covers the shipped corpus and ordinary English.
VOCAB: tuple[str, ...] = (
    UNK,
    " ",
    "\n",
    *string.ascii_lowercase,
    *string.ascii_uppercase,
    *string.digits,
    *".,;:!?'\"-()*+=/",
)
CHAR_TO_ID: dict[str, int] = {ch: i for i, ch in enumerate(VOCAB)}
VOCAB_SIZE = len(VOCAB)
# Typographic characters that have an obvious plain equivalent in the vocabulary.
_PLAIN = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\t": " ",
    "\r": "",
}
CORPUS_DIR = Path(__file__).resolve().parents[2] / "assets" / "corpus"

SIGNALS = ("sine", "square", "sawtooth", "noisy", "adding", "copy")
SIGNAL_TITLES = {
    "sine": "Sine wave",
    "square": "Square wave",
    "sawtooth": "Sawtooth wave",
    "noisy": "Noisy sine (Gaussian noise)",
    "adding": "Adding problem (value, marker)",
    "copy": "Copy task (symbols, pause, recall)",
}
COPY_SYMBOLS = 8  # copy task: symbols 1..8, plus "blank" (0) and "go" (9) channels


class SequenceInputError(ValueError):
    """Input that cannot become a sequence (e.g. empty text); the message is for students."""


@dataclass
class EncodedText:
    """Typed text as vocabulary ids, with what was changed on the way."""

    ids: Tensor  # T (int64)
    chars: list[str]  # the character at each step, as shown on hover
    notes: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # distinct characters replaced by UNK
    truncated: bool = False

    @property
    def text(self) -> str:
        return "".join(self.chars)


@dataclass
class Signal:
    """A synthetic sequence: T x F inputs, a label per step for hover, and the task target."""

    kind: str
    values: Tensor  # T x F (float32)
    labels: list[str]  # what the input is at each step, for hover ("x=0.42", "symbol 3")
    feature_names: list[str]
    target: Tensor | None = None  # what a model should output (task-dependent)
    notes: list[str] = field(default_factory=list)
    truncated: bool = False


def cap_steps(steps: int, limit: int = MAX_STEPS) -> tuple[int, str | None]:
    """Clamp a requested length into 1..limit; return it with a message when it was changed."""
    if steps > limit:
        return limit, f"The sequence has {steps} steps; only the first {limit} are used."
    if steps < 1:
        return 1, "A sequence needs at least one step; using 1."
    return steps, None


_VISIBLE = {" ": "\u2423", "\n": "\u21b5"}  # spaces and newlines as visible characters
_FROM_VISIBLE = {v: k for k, v in _VISIBLE.items()}


def display_char(ch: str) -> str:
    """How a character is named on axes and hover labels (spaces and newlines made visible)."""
    return _VISIBLE.get(ch, ch)


def plain_char(label: str) -> str:
    """The character a :func:`display_char` label stands for (the inverse)."""
    return _FROM_VISIBLE.get(label, label)


def encode_text(text: str, max_steps: int = MAX_STEPS) -> EncodedText:
    """Characters -> ids in ``VOCAB``; unknown characters -> ``UNK`` with a note; capped."""
    if text is None or not text.strip():
        raise SequenceInputError(
            "The text is empty: type a few words to see the network read them."
        )
    text = unicodedata.normalize("NFC", text)
    text = "".join(_PLAIN.get(ch, ch) for ch in text)
    notes: list[str] = []
    truncated = False
    if len(text) > max_steps:
        notes.append(
            f"The text has {len(text)} characters; only the first {max_steps} are used "
            f"(the limit is {max_steps} steps)."
        )
        text = text[:max_steps]
        truncated = True
    ids, chars, unknown = [], [], []
    for ch in text:
        idx = CHAR_TO_ID.get(ch, 0)
        if idx == 0 and ch not in unknown:
            unknown.append(ch)
        ids.append(idx)
        chars.append(ch if idx else UNK)
    if unknown:
        shown = ", ".join(repr(ch) for ch in unknown[:10]) + (" ..." if len(unknown) > 10 else "")
        count = sum(1 for i in ids if i == 0)
        notes.append(
            f"{count} character(s) are not in the vocabulary ({shown}) and were replaced by the "
            f"unknown symbol {UNK}. The vocabulary has {VOCAB_SIZE - 1} characters: English "
            "letters, digits, space, newline and common punctuation."
        )
    return EncodedText(torch.tensor(ids, dtype=torch.long), chars, notes, unknown, truncated)


def decode(ids: Tensor | list[int]) -> str:
    """Vocabulary ids -> text (UNK for ids out of range)."""
    values = ids.tolist() if isinstance(ids, Tensor) else list(ids)
    return "".join(VOCAB[i] if 0 <= i < VOCAB_SIZE else UNK for i in values)


def load_corpus(directory: Path | None = None) -> str:
    """The shipped training text: every ``*.txt`` in assets/corpus except README files."""
    directory = directory or CORPUS_DIR
    files = sorted(p for p in directory.glob("*.txt") if not p.name.lower().startswith("readme"))
    if not files:
        raise SequenceInputError(f"No corpus found in {directory}.")
    return "\n\n".join(p.read_text(encoding="utf-8").strip() for p in files) + "\n"


def corpus_ids() -> Tensor:
    """The corpus as one long id tensor (no cap: it is training data, not a trace)."""
    text = load_corpus()
    return torch.tensor([CHAR_TO_ID.get(ch, 0) for ch in text], dtype=torch.long)


HELD_OUT_FRACTION = 0.1


def corpus_split(
    directory: Path | None = None, fraction: float = HELD_OUT_FRACTION
) -> tuple[str, str]:
    """(training text, held-out text): the last ``fraction`` of every corpus file is held out,
    cut at a line break, so validation measures text the model never trained on (in every
    style the corpus has) rather than rewarding memorisation."""
    directory = directory or CORPUS_DIR
    files = sorted(p for p in directory.glob("*.txt") if not p.name.lower().startswith("readme"))
    if not files:
        raise SequenceInputError(f"No corpus found in {directory}.")
    train, held = [], []
    for path in files:
        text = path.read_text(encoding="utf-8").strip()
        cut = int(len(text) * (1 - fraction))
        line = text.rfind("\n", 0, cut)
        cut = line if line > len(text) // 2 else cut
        train.append(text[:cut].strip())
        held.append(text[cut:].strip())
    return "\n\n".join(train) + "\n", "\n\n".join(held) + "\n"


def split_corpus_ids(fraction: float = HELD_OUT_FRACTION) -> tuple[Tensor, Tensor]:
    """:func:`corpus_split` as id tensors (training ids, held-out ids)."""
    train, held = corpus_split(fraction=fraction)
    return tuple(
        torch.tensor([CHAR_TO_ID.get(ch, 0) for ch in t], dtype=torch.long) for t in (train, held)
    )


def held_out_windows(ids: Tensor, seq_len: int, max_windows: int = 64) -> tuple[Tensor, Tensor]:
    """Non-overlapping windows of held-out ids, evenly spread: inputs and targets, T x N."""
    n = (len(ids) - 1) // seq_len
    if n < 1:
        raise SequenceInputError(
            "The held-out text is shorter than one window: shorten the window."
        )
    picks = torch.linspace(0, n - 1, min(n, max_windows)).round().long() * seq_len  # window starts
    offsets = torch.arange(seq_len)
    return ids[picks[None, :] + offsets[:, None]], ids[picks[None, :] + offsets[:, None] + 1]


# --- synthetic signals ----------------------------------------------------------------------


def make_signal(
    kind: str, steps: int, seed: int = 0, period: float = 25.0, noise: float = 0.3
) -> Signal:
    """A synthetic sequence of ``steps`` steps (capped at ``MAX_STEPS``, with a note)."""
    if kind not in SIGNALS:
        raise SequenceInputError(f"Unknown signal {kind!r}: choose one of {', '.join(SIGNALS)}.")
    notes: list[str] = []
    steps, msg = cap_steps(int(steps))
    truncated = msg is not None and "only the first" in msg
    if msg:
        notes.append(msg)
    gen = torch.Generator().manual_seed(seed)
    t = torch.arange(steps, dtype=torch.float32)
    phase = 2 * math.pi * t / period
    if kind in ("sine", "square", "sawtooth", "noisy"):
        if kind == "sine":
            x = torch.sin(phase)
        elif kind == "square":
            x = torch.where(torch.sin(phase) >= 0, 1.0, -1.0)
        elif kind == "sawtooth":
            x = 2 * ((t / period) % 1.0) - 1
        else:
            x = torch.sin(phase) + noise * torch.randn(steps, generator=gen)
        values = x.unsqueeze(1)  # T x 1
        labels = [f"x={v:.2f}" for v in x.tolist()]
        target = torch.roll(x, -1)  # the next value (the last one wraps; ignore it)
        return Signal(kind, values, labels, ["x"], target, notes, truncated)
    if kind == "adding":
        values, target = adding_problem(1, steps, gen)
        values = values[:, 0]  # T x 2
        labels = [f"v={v:.2f}" + (" marked" if m > 0 else "") for v, m in values.tolist()]
        notes.append(
            f"Adding problem: the answer is the sum of the two marked values = {target.item():.3f}."
        )
        return Signal(kind, values, labels, ["value", "marker"], target.view(1), notes, truncated)
    values, target = copy_task(1, steps, gen)
    values = values[:, 0]  # T x (COPY_SYMBOLS + 2)
    symbols = values.argmax(dim=1).tolist()
    names = {0: "blank", COPY_SYMBOLS + 1: "go"}
    labels = [names.get(s, f"symbol {s}") for s in symbols]
    notes.append("Copy task: remember the first symbols and repeat them after the 'go' marker.")
    feature_names = ["blank", *[f"s{k}" for k in range(1, COPY_SYMBOLS + 1)], "go"]
    return Signal(kind, values, labels, feature_names, target[:, 0], notes, truncated)


# The task whose models read an input: every periodic signal reads like the sine task (one
# feature, next value); adding and copy are tasks of their own (no model is trained on copy).
_SIGNAL_TASKS = {"adding": "adding", "copy": "copy"}


def task_for_input(kind: str, signal: str = "sine") -> str:
    """Which task reads this input: "chars" for text, else "adding", "copy" or "sine"."""
    if kind == "text":
        return "chars"
    return _SIGNAL_TASKS.get(signal, "sine")


def input_kind_for_task(task: str) -> str:
    """What a model trained on ``task`` reads: "text" (the character task) or "signal"."""
    return "text" if task == task_for_input("text") else "signal"


def signals_for_task(task: str) -> tuple[str, ...]:
    """The signals a model trained on ``task`` reads (:func:`task_for_input` inverted)."""
    return tuple(s for s in SIGNALS if task_for_input("signal", s) == task)


def adding_problem(batch: int, steps: int, gen: torch.Generator | None = None):
    """The adding problem in Le, Jaitly & Hinton's (2015) form (values U(0, 1); Hochreiter &
    Schmidhuber's 1997 original differs): T x N x 2 inputs, N targets.

    Channel 0 holds uniform values, channel 1 marks two positions (one in each half);
    the target is the sum of the two marked values - a dependency across the sequence.
    """
    if steps < 2:
        raise SequenceInputError("The adding problem needs at least 2 steps.")
    values = torch.rand(steps, batch, generator=gen)
    marks = torch.zeros(steps, batch)
    half = steps // 2
    first = torch.randint(0, half, (batch,), generator=gen)
    second = torch.randint(half, steps, (batch,), generator=gen)
    cols = torch.arange(batch)
    marks[first, cols] = 1.0
    marks[second, cols] = 1.0
    target = (values * marks).sum(dim=0)  # N
    return torch.stack([values, marks], dim=2), target  # T x N x 2, N


def copy_task(batch: int, steps: int, gen: torch.Generator | None = None, length: int = 5):
    """The copy task: ``length`` symbols, blanks, a 'go' marker, then recall.

    Returns one-hot inputs T x N x (COPY_SYMBOLS + 2) and target symbol ids T x N
    (0 = blank except during the recall window at the end).
    """
    length = max(1, min(length, (steps - 1) // 2))
    if steps < 3:
        raise SequenceInputError("The copy task needs at least 3 steps.")
    symbols = torch.randint(1, COPY_SYMBOLS + 1, (length, batch), generator=gen)
    inputs = torch.zeros(steps, batch, dtype=torch.long)  # blank everywhere
    inputs[:length] = symbols
    go = steps - length - 1
    inputs[go] = COPY_SYMBOLS + 1
    target = torch.zeros(steps, batch, dtype=torch.long)
    target[steps - length :] = symbols
    return torch.nn.functional.one_hot(inputs, COPY_SYMBOLS + 2).float(), target


# --- batches for training -------------------------------------------------------------------


def char_batch(ids: Tensor, seq_len: int, batch: int, gen: torch.Generator | None = None):
    """Random windows of the corpus: inputs and next-character targets, both T x N."""
    if len(ids) <= seq_len + 1:
        raise SequenceInputError("The corpus is shorter than one training window.")
    starts = torch.randint(0, len(ids) - seq_len - 1, (batch,), generator=gen)
    offsets = torch.arange(seq_len)
    x = ids[starts[None, :] + offsets[:, None]]  # T x N
    y = ids[starts[None, :] + offsets[:, None] + 1]
    return x, y


# Amplitude A ~ U(0.5, 1) in sine_batch. Predicting 0 (a model that learned nothing) scores
# E[A^2 sin^2] = E[A^2] / 2 = ((1 - 0.5^3) / (3 * 0.5)) / 2 = 7/24 ~ 0.292 mean squared error.
SINE_AMPLITUDE = (0.5, 1.0)
SINE_ZERO_MSE = 7 / 24


def sine_batch(seq_len: int, batch: int, gen: torch.Generator | None = None):
    """Sines with random period, phase and amplitude: inputs T x N x 1, next values T x N x 1."""
    period = 10 + 30 * torch.rand(batch, generator=gen)
    phase = 2 * math.pi * torch.rand(batch, generator=gen)
    lo, hi = SINE_AMPLITUDE
    amp = lo + (hi - lo) * torch.rand(batch, generator=gen)
    t = torch.arange(seq_len + 1, dtype=torch.float32)[:, None]
    wave = amp * torch.sin(2 * math.pi * t / period + phase)  # (T+1) x N
    return wave[:-1, :, None], wave[1:, :, None]


# --------------------------------------------------------------------------- what a network reads


@dataclass(frozen=True)
class InputSpec:
    """What the network reads, as plain hashable values (a cache key)."""

    kind: str  # "text" or "signal"
    text: str = ""
    encoding: str = "onehot"  # text: "onehot" or "embedding"
    signal: str = "sine"
    steps: int = 200
    seed: int = 0

    @property
    def task_kind(self) -> str:
        """Which training task reads inputs like these (:func:`task_for_input`)."""
        return task_for_input(self.kind, self.signal)


@dataclass
class PreparedInput:
    """The sequence as a tensor, one hover label per step, notes for the student."""

    values: Tensor  # T ids (text) or T x F features (signal)
    labels: list[str]
    notes: list[str] = field(default_factory=list)
    features: int = 1  # F for signals
    feature_names: list[str] = field(default_factory=list)

    @property
    def steps(self) -> int:
        return int(self.values.shape[0])


def prepare_input(spec: InputSpec) -> PreparedInput:
    """Text or signal -> tensor; raises SequenceInputError (with a message) on empty text."""
    if spec.kind == "text":
        enc = encode_text(spec.text)
        labels = [display_char(ch) for ch in enc.chars]
        return PreparedInput(enc.ids, labels, enc.notes, VOCAB_SIZE, ["character"])
    sig = make_signal(spec.signal, spec.steps, seed=spec.seed)
    return PreparedInput(
        sig.values, sig.labels, sig.notes, sig.values.shape[1], list(sig.feature_names)
    )
