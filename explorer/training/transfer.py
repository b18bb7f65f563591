"""Transfer learning as a training job: the target data made to fit the source, then ``fit``.

The weights (sources, the new head, the first layer adapted) live in
:mod:`explorer.training.transfer_weights`; what trains in :mod:`explorer.training.freezing`.
Here: target images resized to the source's input size, so every layer (also a ``Flatten`` ->
``Linear``) keeps its shape; for an ImageNet source, grey images repeated into three channels and
normalised with ImageNet's mean and standard deviation, the input the weights were trained on.
:func:`run_transfer` is the job (and, without a source, its fair "from scratch" twin).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from explorer.data.datasets import DatasetInfo, Splits, get_dataset_info, load_dataset
from explorer.models.init import seeded_init
from explorer.models.user_model import UserModel
from explorer.training.events import Event, Preparing
from explorer.training.fit import FitResult, fit
from explorer.training.freezing import apply_freeze, param_groups, unfreeze
from explorer.training.runs import RunSpec
from explorer.training.settings import TrainSettings
from explorer.training.spec_transfer import (
    SPEC_KIND,
    ScaleInput,
    build_spec_transfer,
    check_spec_source,
    finish_result,
    to_spec_input,
)
from explorer.training.spec_transfer import memory_problems as spec_memory_problems
from explorer.training.transfer_weights import (
    SourceWeights,
    TransferError,
    build_transfer_model,
    bundled_source,
    head_name,
)

IMAGENET_SIZE = 224


@dataclass(frozen=True)
class TransferInfo:
    """What the transfer did (a kept event, shown before the first step)."""

    source: str
    mode: str
    trainable: int  # parameters with requires_grad
    total: int
    copied: tuple[str, ...]  # tensors taken from the source unchanged
    adapted: tuple[str, ...]  # tensors converted (first convolution's channels)
    new: tuple[str, ...]  # tensors that start fresh (the head)
    head: str
    image_size: int  # side the target images were resized to


def head_size(info: DatasetInfo) -> int:
    """The outputs of a head for ``info``'s task: one logit (binary) or one per class."""
    return 1 if info.task == "binary" else len(info.classes)


def resize_splits(data: Splits, size: int) -> Splits:
    """The same splits with images resized to ``size`` x ``size`` (bilinear, antialiased)."""
    if data.x_train.shape[-1] == size and data.x_train.shape[-2] == size:
        return data

    def r(x: torch.Tensor) -> torch.Tensor:  # N x C x H x W -> N x C x size x size
        return F.interpolate(
            x, size=(size, size), mode="bilinear", antialias=True, align_corners=False
        ).clamp(0, 1)

    return Splits(
        data.info,
        r(data.x_train),
        data.y_train,
        r(data.x_val),
        data.y_val,
        r(data.x_test),
        data.y_test,
        meta={**data.meta, "resized_to": size},
    )


def to_imagenet_input(data: Splits) -> Splits:
    """Target images as ImageNet weights expect them: 224 x 224, three channels (a grey image
    repeated into R, G and B) normalised with ImageNet's mean and standard deviation."""
    from explorer.data.images import IMAGENET_MEAN, IMAGENET_STD

    data = resize_splits(data, IMAGENET_SIZE)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)

    def n(x: torch.Tensor) -> torch.Tensor:  # N x (1 or 3) x 224 x 224 -> N x 3 x 224 x 224
        return ((x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x) - mean) / std

    return Splits(
        data.info,
        n(data.x_train),
        data.y_train,
        n(data.x_val),
        data.y_val,
        n(data.x_test),
        data.y_test,
        meta={**data.meta, "normalised": "ImageNet"},
    )


def source_image_size(source: SourceWeights) -> int:
    if source.kind == "imagenet":
        return IMAGENET_SIZE
    build = source.build or bundled_source(source.arch).build
    return int(build.get("image_size", 32))


def load_target(settings: TrainSettings, full_size: bool = False) -> Splits:
    """The target dataset of ``settings`` (sizes as ``run_training`` draws them). ``full_size``
    (ImageNet weights, or their twin from scratch): the test set is as large as the validation
    set, as each image is a forward pass at 224 px (about 0.2 s for VGG-16 on a CPU core)."""
    test = settings.val_samples if full_size else max(settings.val_samples, 500)
    return load_dataset(
        settings.dataset,
        seed=settings.seed,
        difficulty=settings.difficulty,
        download=settings.download,
        sizes=(settings.train_samples, settings.val_samples, test),
    )


# -- the job -----------------------------------------------------------------------------------


def run_transfer(
    settings: TrainSettings,
    source: SourceWeights | None = None,
    should_stop: Callable[[], bool] | None = None,
    data: Splits | None = None,
    image_size: int | None = None,
    imagenet_input: bool = False,
    **fit_kwargs: Any,
) -> Generator[Event, None, FitResult]:
    """Fine-tune ``source`` on ``settings.dataset`` (``settings.freeze``, ``settings.backbone_lr``);
    with ``source=None``, the same architecture from random weights on the same resized data and
    budget: the fair "from scratch" twin (``imagenet_input``: the data an ImageNet source gets).
    An imported model (a ``spec`` source) is checked before any data are read. A job target
    (plain arguments only)."""
    settings.check()
    spec_input = _spec_input_shape(source, settings)
    data = yield from _target_data(settings, source, data, image_size, imagenet_input, spec_input)
    c, h, _ = data.x_train.shape[1:]
    num_classes = 1 if data.info.task == "binary" else len(data.classes)
    yield Preparing("Building the model...")
    model, build, report, mode, label = _starting_model(settings, source, c, h, num_classes)
    trainable = apply_freeze(model, mode)
    total = sum(p.numel() for p in model.parameters())
    yield TransferInfo(
        label,
        mode,
        trainable,
        total,
        tuple(report["copied"]),
        tuple(report["adapted"]),
        tuple(report["new"]),
        head_name(model),
        int(h),
    )
    groups = param_groups(model, settings.lr, settings.backbone_lr) if source is not None else None
    scaling = _scale_input(model, build) if spec_input is not None else None
    try:
        fit_kwargs.setdefault("arch", _names_arch(settings, source))
        result = yield from fit(
            model, data, settings, should_stop=should_stop, param_groups=groups, **fit_kwargs
        )
    finally:
        unfreeze(model)
        if scaling is not None:
            scaling.remove()
    return _finish(result, settings, source, build, trainable)


def _spec_input_shape(
    source: SourceWeights | None, settings: TrainSettings
) -> tuple[int, int, int] | None:
    """An imported model's input shape, its spec and weights checked first, and its training
    step within the per-job memory limit (None for any other source)."""
    if source is None or source.kind != SPEC_KIND:
        return None
    too_big = spec_memory_problems(source, settings)
    if too_big:
        raise TransferError(" ".join(too_big))
    return check_spec_source(source).input_shape


def _target_data(
    settings: TrainSettings,
    source: SourceWeights | None,
    data: Splits | None,
    image_size: int | None,
    imagenet_input: bool,
    spec_input: tuple[int, int, int] | None,
) -> Generator[Event, None, Splits]:
    """The target data (loaded when not given), made to fit the model's input: ImageNet's
    recipe, an imported model's own input, or the source's (or ``image_size``) side."""
    imagenet_input = imagenet_input or (source is not None and source.kind == "imagenet")
    if data is None:
        yield Preparing(f"Preparing {get_dataset_info(settings.dataset).title}...")
        data = load_target(settings, full_size=imagenet_input)
    if imagenet_input:
        return to_imagenet_input(data)
    if spec_input is not None:
        return to_spec_input(data, spec_input)
    size = image_size or (source_image_size(source) if source is not None else None)
    return resize_splits(data, size) if size is not None else data


def _starting_model(
    settings: TrainSettings, source: SourceWeights | None, c: int, h: int, num_classes: int
) -> tuple[Any, dict[str, Any], dict[str, list[str]], str, str]:
    """(model, build, load report, freeze mode, label): the source's weights with a new head,
    or the twin from seeded random weights (every parameter trains)."""
    if source is not None:
        build_from = build_spec_transfer if source.kind == SPEC_KIND else build_transfer_model
        model, build, report = build_from(source, num_classes, c)
        return model, build, report, settings.freeze, source.describe()
    model, build = scratch_model(settings.model, c, num_classes, h)
    seeded_init(model, settings.seed)  # same seed, same weights; the global RNG is not reseeded
    report = {"copied": [], "adapted": [], "new": list(model.state_dict())}
    return model, build, report, "all", "random initialisation (from scratch)"


def _scale_input(model: Any, build: dict[str, Any]) -> Any:
    """A model that rescales 0-255 pixels itself gets its 0-1 input scaled by a pre-hook (the
    handle, removed after the run); None when it reads 0-1 pixels."""
    scale = float(build.get("pixel_scale", 1.0))
    return model.register_forward_pre_hook(ScaleInput(scale)) if scale != 1.0 else None


def _names_arch(settings: TrainSettings, source: SourceWeights | None) -> str | None:
    """The catalog key whose paper-style layer names the run shows (an imported model: its
    own node names, so none)."""
    if source is None:
        return settings.model
    return None if source.kind == SPEC_KIND else source.arch


def _finish(
    result: FitResult,
    settings: TrainSettings,
    source: SourceWeights | None,
    build: dict[str, Any],
    trainable: int,
) -> FitResult:
    """The finished run's model on the CPU, named by what it is (an imported model's by its
    trained spec), with the number of parameters that trained."""
    result.model = result.model.cpu().eval()
    arch = source.arch if source is not None else settings.model
    result.arch, result.build, result.dataset = arch, build, settings.dataset
    if source is not None and source.kind == SPEC_KIND:
        finish_result(result, build)
    result.metrics["trainable_parameters"] = trainable
    return result


def scratch_model(
    arch: str, in_channels: int, num_classes: int, image_size: int
) -> tuple[Any, dict[str, Any]]:
    """The twin from random weights: a compact model sized for the data; a full-size (ImageNet)
    architecture with its own input and only ``num_classes`` changed."""
    from explorer.models import get_spec
    from explorer.training.fit import build_model

    if get_spec(arch).compact:
        return build_model(arch, in_channels, num_classes, image_size)
    build = {"num_classes": num_classes}
    return get_spec(arch).build(**build), build


# The default pair, chosen by measuring (bench/bench_transfer.py, docs/architecture.md): the
# compact ResNet trained on the six synthetic shapes, fine-tuned on circles vs squares from 64
# training images; the twin from scratch gets the same images, steps and learning rate.
DEFAULT_PAIR: dict[str, Any] = {
    "source_arch": "resnet_small",
    "settings": dict(
        model="resnet_small",
        dataset="circles_squares",
        optimizer="adam",
        lr=1e-2,
        batch_size=16,
        epochs=4,
        train_samples=64,
        val_samples=200,
        difficulty=0.3,
        source="bundled:resnet_small",
        freeze="head",
    ),
}


def default_transfer_settings(**overrides: Any) -> TrainSettings:
    """The measured default pair's settings (``overrides`` change any field)."""
    return TrainSettings(**{**DEFAULT_PAIR["settings"], **overrides})


# The from-scratch arm's own learning rate: 1e-2 suits a 129-parameter head, not a whole random
# ResNet (from scratch at 1e-2 the validation loss blew up to ~10). A sweep on the default pair
# (64 images, 16 steps, Adam, seed 0) gave validation accuracy 0.495 / 0.535 / 0.51 / 0.495 at
# 3e-4 / 1e-3 / 3e-3 / 1e-2: no rate lifts the scratch arm far above chance in 16 steps, and 1e-3
# is its best, so the comparison is fair to it.
SCRATCH_LR = 1e-3


def scratch_twin(settings: TrainSettings, lr: float | None = None) -> TrainSettings:
    """The same run from random weights, every parameter training, at its own learning rate
    (:data:`SCRATCH_LR` unless ``lr`` is given)."""
    from dataclasses import replace

    return replace(
        settings,
        source="scratch",
        freeze="all",
        backbone_lr=1.0,
        lr=SCRATCH_LR if lr is None else lr,
    )


def run_own_images(
    settings: TrainSettings,
    folder: str,
    source: SourceWeights | None = None,
    should_stop: Callable[[], bool] | None = None,
    **fit_kwargs: Any,
) -> Generator[Event, None, FitResult]:
    """Train on the user's own images (a folder written by ``explorer.data.image_sets``): from
    scratch (``source=None``) or by transfer. A job target: the folder travels as a path."""
    from explorer.data.image_sets import load_own

    yield Preparing("Reading your images...")
    data = load_own(folder, seed=settings.seed)
    size = None if source is not None else data.x_train.shape[-1]
    result = yield from run_transfer(
        settings, source, should_stop, data=data, image_size=size, **fit_kwargs
    )
    result.dataset = "your images"
    return result


# --------------------------------------------------------------------------- what a start submits


def user_source(model: UserModel) -> SourceWeights:
    """A user's trained or loaded model as transfer source (plain values a job spec carries)."""
    return SourceWeights(
        "user",
        model.arch,
        dict(model.build),
        dict(model.state_dict),
        tuple(model.classes),
        model.dataset,
        title=f'your model "{model.name}"',
    )


def transfer_title(settings: TrainSettings, source: SourceWeights) -> str:
    """The job's title: source -> target dataset (what trains)."""
    target = get_dataset_info(settings.dataset).title
    return f"Transfer: {source.describe()} -> {target} ({settings.freeze.replace('_', ' ')})"


def transfer_vs_scratch_runs(settings: TrainSettings, source: SourceWeights) -> list[RunSpec]:
    """The two runs of a transfer-vs-scratch comparison: the transfer, and the same model from
    scratch at its own tuned learning rate (:func:`scratch_twin`) on the very same input (the
    ImageNet input for an ImageNet source, else the source's image size)."""
    twin = scratch_twin(settings)
    same_input = (
        {"imagenet_input": True}
        if source.kind == "imagenet"
        else {"image_size": int(source.build.get("image_size", 32))}
    )
    return [
        RunSpec(
            f"transfer ({settings.freeze.replace('_', ' ')})",
            "explorer.training.transfer:run_transfer",
            {"settings": settings, "source": source},
        ),
        RunSpec(
            "from scratch",
            "explorer.training.transfer:run_transfer",
            {"settings": twin, "source": None, **same_input},
        ),
    ]
