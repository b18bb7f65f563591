"""Train RNN, GRU and LSTM side by side on one sequence task, as a generator of events.

Tasks: next-character prediction on the shipped corpus, sine forecasting, and the adding
problem (a long-range dependency). Every cell sees the same batches in the same order, so
their learning curves are comparable. Training uses torch's fused modules (the explicit
cells share their parameter layout), and the finished models are returned as explicit
``SequenceModel`` configurations plus state_dicts, ready for traces.

The generator knows nothing of the UI: ``explorer.training.job_manager`` runs it in a thread and
may pause, stop (``should_stop``) or cancel it between two events.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from explorer.data.sequences import (
    CHAR_TO_ID,
    VOCAB_SIZE,
    adding_problem,
    char_batch,
    decode,
    held_out_windows,
    sine_batch,
    split_corpus_ids,
)
from explorer.models.init import build_seeded
from explorer.models.recurrent import CELLS
from explorer.models.sequence_model import SequenceModel, SequenceModelConfig
from explorer.training.sequence_events import SeqSample, SeqStep, SeqVal
from explorer.training.sequence_tasks import TASK_TITLES, TASKS


class SequenceTrainingError(ValueError):
    """Settings that cannot train; the message is shown to students."""


@dataclass(frozen=True)
class SequenceSettings:
    """Everything that decides a comparison run."""

    task: str = "chars"
    cells: tuple[str, ...] = CELLS
    hidden_size: int = 64
    num_layers: int = 1
    steps: int = 300
    batch_size: int = 32
    seq_len: int = 64  # window length (chars, sine) or sequence length (adding)
    lr: float = 3e-3
    clip: float = 1.0  # gradient-norm clipping threshold; 0 turns clipping off
    encoding: str = "onehot"  # chars only: "onehot" or "embedding"
    seed: int = 0
    sample_every: int = 50
    # LSTM only: initial forget-gate bias (1.0 as in Jozefowicz et al. 2015).
    forget_bias: float = 0.0
    val_every: int = 50  # held-out evaluation every this many steps (and at the end)

    def validate(self) -> None:
        if self.task not in TASKS:
            raise SequenceTrainingError(
                f"Unknown task {self.task!r}: choose one of {', '.join(TASKS)}."
            )
        if not self.cells:
            raise SequenceTrainingError("Choose at least one cell type to train.")
        bad = [c for c in self.cells if c not in CELLS]
        if bad:
            raise SequenceTrainingError(f"Unknown cell type(s): {', '.join(bad)}.")
        checks = [
            (1 <= self.hidden_size <= 256, "Hidden size must be between 1 and 256."),
            (1 <= self.num_layers <= 4, "Number of layers must be between 1 and 4."),
            (1 <= self.steps <= 20_000, "Steps must be between 1 and 20000."),
            (1 <= self.batch_size <= 512, "Batch size must be between 1 and 512."),
            (2 <= self.seq_len <= 1000, "Sequence length must be between 2 and 1000."),
            (0 < self.lr <= 1.0, "The learning rate must be in (0, 1]."),
            (0 <= self.clip <= 100, "Gradient clipping must be between 0 (off) and 100."),
            (-5 <= self.forget_bias <= 5, "The forget-gate bias must be between -5 and 5."),
            (1 <= self.val_every <= 20_000, "Validation every ... steps must be at least 1."),
            (self.encoding in ("onehot", "embedding"), "Encoding must be onehot or embedding."),
        ]
        for ok, message in checks:
            if not ok:
                raise SequenceTrainingError(message)

    def model_config(self, cell: str) -> SequenceModelConfig:
        """The model each cell trains: unidirectional (forecasting must not see the future)."""
        common = dict(cell=cell, hidden_size=self.hidden_size, num_layers=self.num_layers)
        if self.task == "chars":
            return SequenceModelConfig(
                **common, encoding=self.encoding, vocab_size=VOCAB_SIZE, output_size=VOCAB_SIZE
            )
        if self.task == "sine":
            return SequenceModelConfig(**common, encoding="signal", input_features=1, output_size=1)
        return SequenceModelConfig(
            **common, encoding="signal", input_features=2, output_size=1, head="last"
        )


@dataclass
class TrainedSequenceModel:
    """A finished model: its configuration, CPU weights, and how it did."""

    name: str
    task: str
    config: SequenceModelConfig
    state_dict: dict[str, Tensor] = field(repr=False)
    metric: float
    steps: int
    init_seed: int = 0
    forget_bias: float = 0.0  # the LSTM forget-gate bias it started from (0 = torch's init)
    # The weights it started from.
    initial_state: dict[str, Tensor] | None = field(default=None, repr=False)

    def instantiate(self, fused: bool = False) -> SequenceModel:
        model = SequenceModel(self.config, fused=fused)
        model.load_state_dict(self.state_dict)
        return model.eval()

    def initial(self) -> SequenceModel:
        """The very model this one started from, as explicit cells: its stored initial weights
        (or, without them, the same weights redrawn from its seed). The global RNG is untouched."""
        model = _new_model(self.config, self.init_seed, fused=False)
        if self.initial_state is not None:
            model.load_state_dict(self.initial_state)
        elif self.forget_bias:
            set_forget_bias(model, self.forget_bias)
        return model.eval()


@dataclass
class SequenceRun:
    """What the generator returns: one trained model per cell and their curves."""

    settings: SequenceSettings
    models: dict[str, TrainedSequenceModel]
    curves: dict[str, list[tuple[int, float]]]
    stopped_early: bool = False
    val_curves: dict[str, list[tuple[int, float]]] = field(default_factory=dict)  # held-out metric


def _new_model(config: SequenceModelConfig, seed: int, fused: bool = True) -> SequenceModel:
    """A fresh model drawn from a local generator: the same seed always gives the same initial
    weights (fused or explicit alike, they share the parameter layout)."""
    return build_seeded(lambda: SequenceModel(config, fused=fused), seed)


def set_forget_bias(model: nn.Module, value: float) -> None:
    """Set an LSTM's forget-gate bias (gate order i, f, g, o): ``bias_ih`` f-slice to ``value``,
    ``bias_hh`` f-slice to 0, so the gate starts at sigmoid(value) (0.73 for 1.0: remember)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            leaf = name.rsplit(".", 1)[-1]
            h = p.shape[0] // 4
            if leaf.startswith("bias_ih_l"):
                p[h : 2 * h] = value
            elif leaf.startswith("bias_hh_l"):
                p[h : 2 * h] = 0.0


VAL_SEQUENCES = 256  # fresh sine / adding sequences in the held-out set
VAL_SEED_OFFSET = 1_000_003  # the held-out generator's seed never equals a training seed


def validation_set(
    settings: SequenceSettings, held_out: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """The fixed held-out set: windows of held-out text, or fresh sequences from their own seed."""
    if settings.task == "chars":
        ids = held_out if held_out is not None else split_corpus_ids()[1]
        return held_out_windows(ids, settings.seq_len)  # T x N each
    gen = torch.Generator().manual_seed(settings.seed + VAL_SEED_OFFSET)
    if settings.task == "sine":
        return sine_batch(settings.seq_len, VAL_SEQUENCES, gen)
    x, y = adding_problem(VAL_SEQUENCES, settings.seq_len, gen)
    return x, y.unsqueeze(1)


@torch.no_grad()
def _held_out(task: str, model: nn.Module, x: Tensor, y: Tensor) -> tuple[float, float]:
    was = model.training
    model.eval()
    pred, _ = model(x)
    loss, metric = _loss(task, pred, y)
    model.train(was)
    return loss.item(), metric


def _batch(
    settings: SequenceSettings, corpus: Tensor | None, gen: torch.Generator
) -> tuple[Tensor, Tensor]:
    """(inputs, targets) for one step: shared by all cells so the comparison is fair."""
    if settings.task == "chars":
        return char_batch(corpus, settings.seq_len, settings.batch_size, gen)  # T x N, T x N
    if settings.task == "sine":
        return sine_batch(settings.seq_len, settings.batch_size, gen)  # T x N x 1 each
    x, y = adding_problem(settings.batch_size, settings.seq_len, gen)  # T x N x 2, N
    return x, y.unsqueeze(1)  # N x 1


def _loss(task: str, pred: Tensor, target: Tensor) -> tuple[Tensor, float]:
    """Training loss and the metric shown (bits per char, or MSE)."""
    if task == "chars":
        loss = nn.functional.cross_entropy(pred.reshape(-1, pred.shape[-1]), target.reshape(-1))
        return loss, loss.item() / math.log(2)
    loss = nn.functional.mse_loss(pred, target)
    return loss, loss.item()


def train_sequence_models(
    settings: SequenceSettings,
    device: str | torch.device = "cpu",
    should_stop: Callable[[], bool] = lambda: False,
) -> Iterator[SeqStep | SeqSample]:
    """Train one model per cell in lock-step; yield a ``SeqStep`` per cell and step.

    Returns (``StopIteration.value``) a ``SequenceRun``. ``should_stop`` ends training early
    but still returns the models trained so far. CPU threads are the process's choice, made
    once (``explorer.device.configure_threads``): a job worker runs with its share of the cores.
    """
    settings.validate()
    return (yield from _train(settings, torch.device(device), should_stop))


def _train(
    settings: SequenceSettings, device: torch.device, should_stop: Callable[[], bool]
) -> Iterator[SeqStep | SeqSample]:
    corpus, held = split_corpus_ids() if settings.task == "chars" else (None, None)
    x_val, y_val = (t.to(device) for t in validation_set(settings, held))
    val_curves: dict[str, list[tuple[int, float]]] = {cell: [] for cell in settings.cells}
    models, initial, optims = _new_models(settings, device)
    curves: dict[str, list[tuple[int, float]]] = {cell: [] for cell in models}
    gen = torch.Generator().manual_seed(settings.seed)
    start = time.perf_counter()
    last_metric = {cell: float("nan") for cell in models}
    stopped = False
    done_steps = 0
    for step in range(1, settings.steps + 1):
        if should_stop():
            stopped = True
            break
        x, y = _batch(settings, corpus, gen)
        x, y = x.to(device), y.to(device)
        for cell, model in models.items():
            loss, metric, norm = _update(settings, cell, model, optims[cell], x, y)
            curves[cell].append((step, metric))
            last_metric[cell] = metric
            yield SeqStep(step, cell, loss.item(), metric, norm, time.perf_counter() - start)
            if settings.task == "chars" and (
                step % settings.sample_every == 0 or step == settings.steps
            ):
                text = sample_text(model, "The ", 120, temperature=0.8, seed=step)
                yield SeqSample(step, cell, text)
            if step % settings.val_every == 0 or step == settings.steps:
                v_loss, v_metric = _held_out(settings.task, model, x_val, y_val)
                val_curves[cell].append((step, v_metric))
                yield SeqVal(step, cell, v_loss, v_metric, time.perf_counter() - start)
        done_steps = step
    trained = _trained_models(settings, models, initial, last_metric, done_steps)
    return SequenceRun(settings, trained, curves, stopped_early=stopped, val_curves=val_curves)


def _new_models(
    settings: SequenceSettings, device: torch.device
) -> tuple[
    dict[str, SequenceModel], dict[str, dict[str, Tensor]], dict[str, torch.optim.Optimizer]
]:
    """One model per cell (seeded ``seed + k``, the LSTM's forget bias set), its starting
    weights kept on the CPU, and its Adam optimiser."""
    models: dict[str, SequenceModel] = {}
    initial: dict[str, dict[str, Tensor]] = {}  # each model's starting weights, on the CPU
    optims: dict[str, torch.optim.Optimizer] = {}
    for k, cell in enumerate(settings.cells):
        model = _new_model(settings.model_config(cell), settings.seed + k)
        if cell == "lstm" and settings.forget_bias:
            set_forget_bias(model, settings.forget_bias)
        initial[cell] = {name: v.detach().clone() for name, v in model.state_dict().items()}
        models[cell] = model = model.to(device)
        optims[cell] = torch.optim.Adam(model.parameters(), lr=settings.lr)
    return models, initial, optims


def _update(
    settings: SequenceSettings,
    cell: str,
    model: SequenceModel,
    optim: torch.optim.Optimizer,
    x: Tensor,
    y: Tensor,
) -> tuple[Tensor, float, float]:
    """One optimiser step on one batch: the loss, the task's metric and the gradient norm before
    clipping. A non-finite loss stops the run with a message that says what to change."""
    model.train()
    pred, _ = model(x)
    loss, metric = _loss(settings.task, pred, y)
    if not math.isfinite(loss.item()):
        raise SequenceTrainingError(
            f"The {cell.upper()} diverged (loss is not finite): lower the learning rate."
        )
    optim.zero_grad(set_to_none=True)
    loss.backward()
    # The norm before clipping is what the chart shows; clip 0 = off (norm only).
    norm = float(nn.utils.clip_grad_norm_(model.parameters(), settings.clip or float("inf")))
    optim.step()
    return loss, metric, norm


def _trained_models(
    settings: SequenceSettings,
    models: dict[str, SequenceModel],
    initial: dict[str, dict[str, Tensor]],
    last_metric: dict[str, float],
    done_steps: int,
) -> dict[str, TrainedSequenceModel]:
    """Each cell's model as the Weights choice keeps it: weights on the CPU, last metric, steps."""
    return {
        cell: TrainedSequenceModel(
            name=f"{cell.upper()} - {TASK_TITLES[settings.task]} ({done_steps} steps)",
            task=settings.task,
            config=model.config,
            state_dict={k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
            metric=last_metric[cell],
            steps=done_steps,
            init_seed=settings.seed + k,
            forget_bias=settings.forget_bias if cell == "lstm" else 0.0,
            initial_state=initial[cell],
        )
        for k, (cell, model) in enumerate(models.items())
    }


def _ids(text: str) -> list[int]:
    return [CHAR_TO_ID.get(ch, 0) for ch in text]


@torch.no_grad()
def sample_text(
    model: SequenceModel,
    prime: str = "The ",
    length: int = 200,
    temperature: float = 0.8,
    seed: int = 0,
) -> str:
    """Let a character model write: feed ``prime``, then draw each next character.

    Low temperatures pick the likeliest characters; high ones take more risks. The model's
    train/eval mode is restored afterwards.
    """
    if model.config.output_size != VOCAB_SIZE or model.config.encoding == "signal":
        raise SequenceTrainingError("Only a character model can write text.")
    if not 0.05 <= temperature <= 5.0:
        raise SequenceTrainingError("The temperature must be between 0.05 and 5.")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    gen = torch.Generator(device="cpu").manual_seed(seed)
    prime = prime or " "
    ids = torch.tensor(_ids(prime), device=device).unsqueeze(1)  # T x 1
    logits, state = model(ids)
    out: list[int] = []
    last = logits[-1, 0]
    for _ in range(max(0, length)):
        probs = torch.softmax(last.float().cpu() / temperature, dim=0)
        probs[0] = 0.0  # never write the unknown symbol
        nxt = int(torch.multinomial(probs / probs.sum(), 1, generator=gen))
        out.append(nxt)
        logits, state = model(torch.tensor([[nxt]], device=device), state)
        last = logits[-1, 0]
    model.train(was_training)
    return prime + decode(out)
