"""Training settings: one validated dataclass, and per-(model, dataset) defaults that learn.

``TrainSettings.errors()`` runs the small checks in ``CHECKS`` and lists every problem in words a
student understands, so the page can show them inline before anything starts; ``check()`` raises
them as a ``SettingsError``. The defaults come from data kept elsewhere, one place each: a model's
training recipe on its catalog entry (``explorer.models.catalog``) and a dataset's suggestions on
its registry entry (``explorer.data.datasets``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any

from explorer.data.datasets import DATASETS
from explorer.models.catalog import CATALOG, catalog
from explorer.models.catalog_types import TrainingRecipe
from explorer.models.imported_entry import OWN_PREFIX
from explorer.training.freezing import FREEZE_MODES

OPTIMIZERS = ("sgd", "adam", "adamw")
OPTIMIZER_TITLES = {"sgd": "SGD with momentum", "adam": "Adam", "adamw": "AdamW"}
SCHEDULES = ("constant", "cosine", "onecycle")
SCHEDULE_TITLES = {"constant": "constant", "cosine": "cosine decay", "onecycle": "one-cycle"}
DEVICES = ("auto", "cpu", "cuda")

# A user's zip of class folders; its images come with the job, not a registry.
OWN_IMAGES = "own_images"
# ``source`` of a fine-tuned imported model ("own:" + its name in the browser's registry).
OWN_SOURCE = "own:"


def is_own_source(source: str) -> bool:
    """Whether a transfer source key names one of the browser's imported models."""
    return source.startswith(OWN_SOURCE)


def start_source(start: str) -> str:
    """The settings' ``source`` for where "Your own images" starts: "" from scratch, an imported
    model's ``own:`` key as it is, else the catalog model's bundled weights."""
    if start == "scratch":
        return ""
    return start if is_own_source(start) else f"bundled:{start}"


class SettingsError(ValueError):
    """Invalid training settings; the message says what to change."""


@dataclass(frozen=True)
class TrainSettings:
    """Everything that defines one training run (JSON-serialisable, stored in checkpoints)."""

    model: str = "keras_cnn"
    dataset: str = "circles_squares"
    optimizer: str = "adam"
    lr: float = 1e-3
    batch_size: int = 32
    epochs: int = 5
    weight_decay: float = 0.0
    momentum: float = 0.9  # SGD only
    schedule: str = "constant"
    augment: bool = False
    seed: int = 0
    device: str = "auto"
    bf16: bool = True  # mixed precision, used on CUDA only
    train_samples: int = 2000
    val_samples: int = 500
    difficulty: float = 0.3  # offline datasets only
    download: bool = False  # downloadable datasets: fetch when missing
    # Transfer learning (explorer.training.transfer): where the starting weights come from ("" =
    # from scratch), which parameters train, and the backbone's learning rate as a fraction of lr.
    source: str = ""
    freeze: str = "all"  # "head" | "last_stage" | "all"
    backbone_lr: float = 1.0

    def errors(self) -> list[str]:
        """Every problem with these settings, as sentences; empty when they are valid."""
        e = [problem for check in CHECKS if (problem := check(self))]
        if not e:
            e.extend(self._memory_problems())
        return e

    def _memory_problems(self) -> list[str]:
        """The per-job memory limit, estimated on the meta device before anything is allocated:
        a model trained here, or fine-tuned from ImageNet weights (full size, 224 px). Transfers
        from the compact bundled or the user's models stay small and are not estimated."""
        from explorer.training.limits import imagenet_transfer_memory, memory_problems

        # Own images are stored at 32 x 32 colour, the shape of the synthetic shapes.
        data = "shapes" if self.dataset == OWN_IMAGES else self.dataset
        if not self.source:
            return memory_problems(
                self.model, data, self.optimizer, self.batch_size, self.train_samples
            )
        if not self.source.startswith("imagenet:"):
            return []
        info = DATASETS.get(self.dataset)
        classes = 1 if info is None or info.task == "binary" else len(info.classes)
        est = imagenet_transfer_memory(self.model, classes, self.optimizer, self.freeze)
        return memory_problems(
            self.model, data, self.optimizer, self.batch_size, self.train_samples, est
        )

    def check(self) -> TrainSettings:
        """Return self when valid; raise :class:`SettingsError` with every problem otherwise."""
        problems = self.errors()
        if problems:
            raise SettingsError(" ".join(problems))
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainSettings:
        """Settings from a dict (e.g. a checkpoint's metadata); unknown keys are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @property
    def steps_per_epoch(self) -> int:
        return max(1, math.ceil(self.train_samples / self.batch_size))

    def describe(self) -> str:
        return (
            f"{OPTIMIZER_TITLES.get(self.optimizer, self.optimizer)}, lr {self.lr:g}, "
            f"batch {self.batch_size}, {self.epochs} epoch(s), {SCHEDULE_TITLES.get(self.schedule, self.schedule)}"
        )


# -- the checks ``errors`` runs, in the order their messages appear ------------------------------
# Each takes the settings and returns a sentence when something is wrong, else None.

Check = Callable[[TrainSettings], "str | None"]


def _in_range(name: str, ok: Callable[[Any], bool], message: str) -> Check:
    """A check of one field: ``message`` (formatted with the value as ``{v}``) when not ``ok``."""

    def check(s: TrainSettings) -> str | None:
        value = getattr(s, name)
        return None if ok(value) else message.format(v=value)

    return check


def _one_of(name: str, choices: tuple[str, ...], label: str) -> Check:
    return _in_range(
        name,
        lambda v: v in choices,
        f"Unknown {label} {{v!r}}: choose one of {', '.join(choices)}.",
    )


@dataclass(frozen=True)
class Limit:
    """The values one numeric field may take: whole numbers or finite reals from ``low`` to
    ``high``; an open end leaves its bound out."""

    low: int | float
    high: int | float
    whole: bool = False
    open_low: bool = False
    open_high: bool = False

    def accepts(self, v: Any) -> bool:
        """Whether ``v`` lies within this limit (and is of the right kind of number)."""
        kind_ok = (
            isinstance(v, int) if self.whole else isinstance(v, int | float) and math.isfinite(v)
        )
        if not kind_ok:
            return False
        above = v > self.low if self.open_low else v >= self.low
        below = v < self.high if self.open_high else v <= self.high
        return above and below


# Each numeric field's limits, their one home: the checks below and the Training page's URL
# (via ``allowed``) both read them.
LIMITS: dict[str, Limit] = {
    "lr": Limit(0, 10, open_low=True),
    "batch_size": Limit(1, 4096, whole=True),
    "epochs": Limit(1, 200, whole=True),
    "weight_decay": Limit(0, 1),
    "momentum": Limit(0, 1, open_high=True),
    "seed": Limit(0, 2**31 - 1, whole=True),
    "train_samples": Limit(16, 60000, whole=True),
    "val_samples": Limit(8, 10000, whole=True),
    "difficulty": Limit(0, 1),
    "backbone_lr": Limit(0, 1, open_low=True),
}


def _within(name: str, message: str) -> Check:
    """A check of one numeric field against ``LIMITS[name]``; ``message`` may name {lo}, {hi}, {v}."""
    limit = LIMITS[name]
    return _in_range(
        name,
        limit.accepts,
        message.replace("{lo}", str(limit.low)).replace("{hi}", str(limit.high)),
    )


def _known_model(s: TrainSettings) -> str | None:
    """A trainable catalog model, or (transfer from ImageNet weights) the source's architecture."""
    if s.source.startswith("imagenet:"):
        arch = s.source.partition(":")[2]
        spec = CATALOG.get(arch)
        if spec is None or spec.weights is None or s.model != arch:
            return f"Unknown ImageNet source {s.source!r}: choose a catalog model with ImageNet weights."
        return None
    if s.model.startswith(OWN_PREFIX):
        # An imported model: its spec and weights travel with the job (training.spec_transfer).
        if not s.source.startswith(OWN_SOURCE):
            return "An imported model can only be fine-tuned from its own weights."
        return None
    if s.model not in TRAINABLE_MODELS:
        return f"Unknown model {s.model!r}: choose one of {', '.join(TRAINABLE_MODELS)}."
    return None


def _dataset_fits_model(s: TrainSettings) -> str | None:
    """A known dataset the model learns on; a user's own images (any CNN) and transfer runs
    (the source's weights) are free to choose."""
    own = s.dataset == OWN_IMAGES
    if s.dataset not in DATASETS and not own:
        return f"Unknown dataset {s.dataset!r}: choose one of {', '.join(DATASETS)}."
    if (
        s.model in TRAINABLE_MODELS
        and not (s.source or own)
        and s.dataset not in datasets_for(s.model)
    ):
        return f"{s.model} cannot train on {s.dataset}: it works with {', '.join(datasets_for(s.model))}."
    return None


def _device(s: TrainSettings) -> str | None:
    if s.device not in DEVICES and not str(s.device).startswith("cuda:"):
        return f"Unknown device {s.device!r}: choose auto, cpu or cuda."
    return None


def _batch_fits_training_set(s: TrainSettings) -> str | None:
    both_ints = isinstance(s.batch_size, int) and isinstance(s.train_samples, int)
    if both_ints and s.batch_size > s.train_samples >= 1:
        return (
            f"The batch size ({s.batch_size}) is larger than the training set "
            f"({s.train_samples} images): lower it."
        )
    return None


CHECKS: tuple[Check, ...] = (
    _known_model,
    _dataset_fits_model,
    _one_of("optimizer", OPTIMIZERS, "optimiser"),
    _within("lr", "The learning rate must be a number above {lo} and at most {hi} (got {v})."),
    _within("batch_size", "The batch size must be a whole number from {lo} to {hi} (got {v})."),
    _within("epochs", "The number of epochs must be a whole number from {lo} to {hi} (got {v})."),
    _within("weight_decay", "Weight decay must lie between {lo} and {hi} (got {v})."),
    _within("momentum", "Momentum must lie in [{lo}, {hi}) (got {v})."),
    _one_of("schedule", SCHEDULES, "schedule"),
    _device,
    _within("seed", "The seed must be a whole number from {lo} to {hi} (got {v})."),
    _within("train_samples", "Training images must number from {lo} to {hi} (got {v})."),
    _within("val_samples", "Validation images must number from {lo} to {hi} (got {v})."),
    _within("difficulty", "Difficulty must lie between {lo} and {hi} (got {v})."),
    _in_range(
        "freeze",
        lambda v: v in FREEZE_MODES,
        "Unknown freeze mode {v!r}: choose head, last_stage or all.",
    ),
    _within(
        "backbone_lr", "The backbone's learning-rate factor must lie in ({lo}, {hi}] (got {v})."
    ),
    _batch_fits_training_set,
)

# The fields with a fixed set of choices; with LIMITS, what ``allowed`` hands to forms and links.
CHOICES: dict[str, tuple[str, ...]] = {
    "optimizer": OPTIMIZERS,
    "schedule": SCHEDULES,
    "freeze": FREEZE_MODES,
}


def allowed(name: str) -> tuple[Any, ...] | range | Callable[[Any], bool]:
    """What field ``name`` accepts on its own, read from the same table the checks use, so that a
    form or a link (the Training page's URL) cannot disagree with them: the choices, a ``range``
    of whole numbers, a predicate for real numbers, or (False, True) for a switch."""
    if name in CHOICES:
        return CHOICES[name]
    limit = LIMITS.get(name)
    if limit is not None:
        return range(int(limit.low), int(limit.high) + 1) if limit.whole else limit.accepts
    if isinstance(getattr(TrainSettings(), name), bool):
        return (False, True)
    raise KeyError(f"{name!r} has no single-field rule")


# -- what trains on what, with which settings: the catalog's recipes and the dataset registry ----

# Compact models offered for training (catalog entries with a training recipe), in course order.
TRAINABLE_MODELS: tuple[str, ...] = tuple(spec.key for spec in catalog() if spec.recipe is not None)


def recipe_for(model: str) -> TrainingRecipe:
    """The training recipe of catalog entry ``model``; a SettingsError when it has none."""
    recipe = CATALOG[model].recipe if model in CATALOG else None
    if recipe is None:
        raise SettingsError(
            f"Unknown model {model!r}: choose one of {', '.join(TRAINABLE_MODELS)}."
        )
    return recipe


def datasets_for(model: str) -> tuple[str, ...]:
    """The datasets offered for ``model``: the offline ones its recipe learns on, then the
    downloadable ones of its task (MNIST-like data behaves like the printed digits; no
    downloadable dataset is binary)."""
    spec = CATALOG.get(model)
    offline = (
        spec.recipe.datasets
        if spec is not None and spec.recipe is not None
        else ("digits", "shapes")
    )
    task = spec.task if spec is not None else "multiclass"
    return offline + tuple(d.key for d in DATASETS.values() if not d.offline and d.task == task)


def default_settings(
    model: str = "keras_cnn", dataset: str | None = None, **overrides: Any
) -> TrainSettings:
    """Settings that learn for ``model`` on ``dataset`` (the recipe's own dataset if None): the
    recipe, then what the dataset suggests (validation size, augmentation), then ``overrides``."""
    recipe = recipe_for(model)
    dataset = dataset or recipe.dataset
    info = DATASETS.get(dataset)
    suggested = dict(info.train_defaults) if info is not None else {}
    values = {
        "model": model,
        "dataset": dataset,
        **recipe.settings(dataset),
        **suggested,
        **overrides,
    }
    return TrainSettings(**values)
