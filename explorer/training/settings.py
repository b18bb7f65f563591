"""Training settings: one validated dataclass, and per-(model, dataset) defaults that learn.

``TrainSettings.errors()`` lists every problem in words a student understands, so the page can
show them inline before anything starts; ``check()`` raises the first as a ``SettingsError``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

OPTIMIZERS = ("sgd", "adam", "adamw")
OPTIMIZER_TITLES = {"sgd": "SGD with momentum", "adam": "Adam", "adamw": "AdamW"}
SCHEDULES = ("constant", "cosine", "onecycle")
SCHEDULE_TITLES = {"constant": "constant", "cosine": "cosine decay", "onecycle": "one-cycle"}
DEVICES = ("auto", "cpu", "cuda")

# Models offered for training (the catalog's compact CNNs) and what they may train on.
BINARY_DATASETS = ("circles_squares",)
MULTICLASS_DATASETS = ("shapes", "digits", "mnist", "fashion_mnist", "cifar10")
OWN_IMAGES = "own_images"  # a user's zip of class folders; its images come with the job, not a registry


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
        from explorer.data.datasets import DATASETS

        e: list[str] = []
        if self.model not in TRAINABLE_MODELS:
            e.append(f"Unknown model {self.model!r}: choose one of {', '.join(TRAINABLE_MODELS)}.")
        own = self.dataset == OWN_IMAGES  # the user's own images (explorer.data.own_images): any CNN
        if self.dataset not in DATASETS and not own:
            e.append(f"Unknown dataset {self.dataset!r}: choose one of {', '.join(DATASETS)}.")
        elif self.model in TRAINABLE_MODELS and not (self.source or own) and self.dataset not in datasets_for(self.model):
            e.append(
                f"{self.model} cannot train on {self.dataset}: it works with "
                f"{', '.join(datasets_for(self.model))}."
            )
        if self.optimizer not in OPTIMIZERS:
            e.append(f"Unknown optimiser {self.optimizer!r}: choose one of {', '.join(OPTIMIZERS)}.")
        if not (isinstance(self.lr, int | float) and math.isfinite(self.lr) and 0 < self.lr <= 10):
            e.append(f"The learning rate must be a number above 0 and at most 10 (got {self.lr}).")
        if not (isinstance(self.batch_size, int) and 1 <= self.batch_size <= 4096):
            e.append(f"The batch size must be a whole number from 1 to 4096 (got {self.batch_size}).")
        if not (isinstance(self.epochs, int) and 1 <= self.epochs <= 200):
            e.append(f"The number of epochs must be a whole number from 1 to 200 (got {self.epochs}).")
        if not (math.isfinite(self.weight_decay) and 0 <= self.weight_decay <= 1):
            e.append(f"Weight decay must lie between 0 and 1 (got {self.weight_decay}).")
        if not (0 <= self.momentum < 1):
            e.append(f"Momentum must lie in [0, 1) (got {self.momentum}).")
        if self.schedule not in SCHEDULES:
            e.append(f"Unknown schedule {self.schedule!r}: choose one of {', '.join(SCHEDULES)}.")
        if self.device not in DEVICES and not str(self.device).startswith("cuda:"):
            e.append(f"Unknown device {self.device!r}: choose auto, cpu or cuda.")
        if not (isinstance(self.seed, int) and 0 <= self.seed < 2**31):
            e.append(f"The seed must be a whole number from 0 to 2147483647 (got {self.seed}).")
        if not (isinstance(self.train_samples, int) and 16 <= self.train_samples <= 60000):
            e.append(f"Training images must number from 16 to 60000 (got {self.train_samples}).")
        if not (isinstance(self.val_samples, int) and 8 <= self.val_samples <= 10000):
            e.append(f"Validation images must number from 8 to 10000 (got {self.val_samples}).")
        if not (0 <= self.difficulty <= 1):
            e.append(f"Difficulty must lie between 0 and 1 (got {self.difficulty}).")
        if self.freeze not in ("head", "last_stage", "all"):
            e.append(f"Unknown freeze mode {self.freeze!r}: choose head, last_stage or all.")
        if not (isinstance(self.backbone_lr, int | float) and 0 < self.backbone_lr <= 1):
            e.append(f"The backbone's learning-rate factor must lie in (0, 1] (got {self.backbone_lr}).")
        both_ints = isinstance(self.batch_size, int) and isinstance(self.train_samples, int)
        if both_ints and self.batch_size > self.train_samples >= 1:
            e.append(
                f"The batch size ({self.batch_size}) is larger than the training set "
                f"({self.train_samples} images): lower it."
            )
        if not e and not getattr(self, "source", ""):
            # The per-job memory limit, estimated on the meta device before anything is allocated.
            from explorer.training.limits import memory_problems

            # Own images are stored at 32 x 32 colour, the shape of the synthetic shapes.
            data = "shapes" if own else self.dataset
            e.extend(memory_problems(self.model, data, self.optimizer, self.batch_size, self.train_samples))
        return e

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


# Compact models offered for training, in course order.
TRAINABLE_MODELS = (
    "keras_cnn", "lenet5", "alexnet_small", "vgg_small", "nin_small", "googlenet_small",
    "resnet_small", "plain_deep", "residual_deep",
)  # fmt: skip

# Settings that learn, per model (first) and per (model, dataset) (second, wins), measured on
# 2 CPU cores (docs in the Training page's report). Compact nets without batch norm (AlexNet,
# NiN, GoogLeNet, the deep twins) sit at chance for a while before they take off, so they get
# small batches (more steps) and their easiest dataset (printed digits) by default.
_MODEL_DEFAULTS: dict[str, dict[str, Any]] = {
    "keras_cnn": dict(dataset="circles_squares", optimizer="adam", lr=1e-3, batch_size=32, epochs=5,
                      train_samples=2000, val_samples=500),
    "lenet5": dict(dataset="digits", optimizer="adam", lr=2e-3, batch_size=64, epochs=4, train_samples=6000),
    "alexnet_small": dict(dataset="digits", optimizer="adam", lr=1e-3, batch_size=64, epochs=3, train_samples=4000),
    "vgg_small": dict(dataset="shapes", optimizer="adam", lr=1e-3, batch_size=64, epochs=5, train_samples=3000),
    "nin_small": dict(dataset="digits", optimizer="adam", lr=1e-3, batch_size=32, epochs=5, train_samples=4000),
    "googlenet_small": dict(dataset="digits", optimizer="adam", lr=3e-3, batch_size=32, epochs=6, train_samples=2000,
                            schedule="onecycle"),
    "resnet_small": dict(dataset="shapes", optimizer="adam", lr=2e-3, batch_size=64, epochs=3, train_samples=2000,
                         schedule="onecycle"),
    # The twins share settings so that the only difference is the shortcut: on digits the residual
    # net reaches ~90% in 3-4 epochs while the plain one stays at chance (its first layers' gradient
    # norms are orders of magnitude smaller: the point of the pair).
    "plain_deep": dict(dataset="digits", optimizer="adam", lr=1e-3, batch_size=64, epochs=4, train_samples=4000),
    "residual_deep": dict(dataset="digits", optimizer="adam", lr=1e-3, batch_size=64, epochs=4,
                          train_samples=4000),
}  # fmt: skip
_PAIR_DEFAULTS: dict[tuple[str, str], dict[str, Any]] = {
    ("lenet5", "shapes"): dict(epochs=5, train_samples=6000),
    ("alexnet_small", "shapes"): dict(lr=5e-4, batch_size=32, epochs=6, train_samples=3000),
    ("vgg_small", "digits"): dict(epochs=2),
}
_DATASET_DEFAULTS: dict[str, dict[str, Any]] = {
    "mnist": dict(val_samples=1000, augment=False),
    "fashion_mnist": dict(val_samples=1000, augment=False),
    "cifar10": dict(val_samples=1000, augment=True),
    "digits": dict(val_samples=500),
    "shapes": dict(val_samples=500),
}


# Offline datasets on which each model's defaults were seen to learn (downloadable ones are
# offered to every multiclass model: MNIST-like data behaves like the printed digits).
_OFFLINE_FOR: dict[str, tuple[str, ...]] = {
    "keras_cnn": ("circles_squares",),
    "lenet5": ("digits", "shapes"),
    "alexnet_small": ("digits", "shapes"),
    "vgg_small": ("shapes", "digits"),
    "nin_small": ("digits",),
    "googlenet_small": ("digits",),
    "resnet_small": ("shapes", "digits"),
    "plain_deep": ("digits",),
    "residual_deep": ("digits",),
}
_ONLINE = ("mnist", "fashion_mnist", "cifar10")


def datasets_for(model: str) -> tuple[str, ...]:
    """The datasets offered for ``model``: binary models need a binary dataset; offline ones are
    those where the model's defaults learn (the deep no-BN nets stay at chance on shapes)."""
    offline = _OFFLINE_FOR.get(model, ("digits", "shapes"))
    return offline if model == "keras_cnn" else offline + _ONLINE


def default_settings(model: str = "keras_cnn", dataset: str | None = None, **overrides: Any) -> TrainSettings:
    """Settings that learn for ``model`` on ``dataset`` (the model's own default dataset if None)."""
    if model not in TRAINABLE_MODELS:
        raise SettingsError(f"Unknown model {model!r}: choose one of {', '.join(TRAINABLE_MODELS)}.")
    values: dict[str, Any] = {"model": model, **_MODEL_DEFAULTS[model]}
    dataset = dataset or values["dataset"]
    values["dataset"] = dataset
    values.update(_DATASET_DEFAULTS.get(dataset, {}))
    values.update(_PAIR_DEFAULTS.get((model, dataset), {}))
    values.update(overrides)
    return TrainSettings(**values)


def with_changes(settings: TrainSettings, **changes: Any) -> TrainSettings:
    return replace(settings, **changes)
