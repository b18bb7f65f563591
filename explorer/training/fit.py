"""``fit``: train a model on in-memory tensors, yielding progress events as it goes.

The loop is a generator so that any caller (a background job, a script, a notebook, a test)
decides what to do with the events; it knows nothing of the UI. Instrumentation is kept
cheap: losses and accuracies accumulate on the device and are read once per ``log_every``
steps together with the per-layer gradient norms (one ``torch._foreach_norm`` call, one
host transfer), and snapshots of filters and feature maps are taken about once a second.
Inputs are images in [0, 1] without mean/std normalisation, so a trained model takes the
same tensors the app shows.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from explorer.data.datasets import Splits, load_dataset
from explorer.device import pick_device, supports_bf16
from explorer.training.events import (
    EpochEnd,
    Event,
    Finished,
    Preparing,
    Progress,
    Snapshot,
    Started,
    Tick,
)
from explorer.training.settings import TrainSettings

MAX_MISCLASSIFIED = 32
EVAL_BATCH = 256


class TrainingError(RuntimeError):
    """A run stopped for a reason the user can act on; the message says what to do."""


class DivergedError(TrainingError):
    """The loss became NaN or infinite."""


class OutOfMemoryTrainingError(TrainingError):
    """The device ran out of memory; the message names a batch size to try."""


@dataclass
class FitResult:
    """What a finished run leaves behind (the model is trained in place and returned here)."""

    model: nn.Module
    metrics: dict[str, float]
    classes: tuple[str, ...]
    stopped_early: bool
    settings: TrainSettings | None = None
    arch: str | None = None
    build: dict[str, Any] = field(default_factory=dict)
    dataset: str | None = None


# -- building blocks ---------------------------------------------------------------------------


def build_model(arch: str, in_channels: int, num_classes: int, image_size: int) -> tuple[nn.Module, dict]:
    """A fresh catalog model sized for the dataset; returns it and its build kwargs."""
    from explorer.models import get_spec

    build = {"in_channels": in_channels, "num_classes": num_classes, "image_size": image_size}
    return get_spec(arch).build(**build), build


def make_optimizer(
    model: nn.Module, s: TrainSettings, param_groups: list[dict[str, Any]] | None = None
) -> torch.optim.Optimizer:
    """The optimiser over the trainable parameters (frozen ones are left out), or over
    ``param_groups`` (e.g. a backbone at a lower learning rate than a new head)."""
    params: Any = param_groups if param_groups is not None else [p for p in model.parameters() if p.requires_grad]
    if s.optimizer == "sgd":
        return torch.optim.SGD(params, lr=s.lr, momentum=s.momentum, weight_decay=s.weight_decay)
    if s.optimizer == "adam":
        return torch.optim.Adam(params, lr=s.lr, weight_decay=s.weight_decay)
    if s.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=s.lr, weight_decay=s.weight_decay)
    raise ValueError(f"Unknown optimiser {s.optimizer!r}")


def make_scheduler(opt: torch.optim.Optimizer, s: TrainSettings, total_steps: int):  # noqa: ANN201
    """Per-step schedule: None (constant), cosine decay to zero, or one-cycle (peak = lr)."""
    if s.schedule == "constant":
        return None
    if s.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(total_steps, 1))
    if s.schedule == "onecycle":
        # Each group peaks at its own learning rate (a backbone at a fraction of the head's).
        max_lr = [g["lr"] for g in opt.param_groups]
        return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=max_lr, total_steps=max(total_steps, 1))
    raise ValueError(f"Unknown schedule {s.schedule!r}")


def augment_batch(x: torch.Tensor, hflip: bool, g: torch.Generator | None = None) -> torch.Tensor:
    """Random shifts of up to 1/8 of the side (reflect padding) and optional flips, per sample.

    Vectorised: one gather for all crops, one ``where`` for the flips.
    """
    n, _, h, w = x.shape
    pad = max(1, h // 8)
    xp = F.pad(x, (pad, pad, pad, pad), mode="reflect")  # N x C x (H+2p) x (W+2p)
    oy = torch.randint(0, 2 * pad + 1, (n,), generator=g).to(x.device)
    ox = torch.randint(0, 2 * pad + 1, (n,), generator=g).to(x.device)
    rows = (torch.arange(h, device=x.device)[None] + oy[:, None])[:, None, :, None]  # N x 1 x H x 1
    cols = (torch.arange(w, device=x.device)[None] + ox[:, None])[:, None, None, :]  # N x 1 x 1 x W
    batch = torch.arange(n, device=x.device)[:, None, None, None]
    chan = torch.arange(x.shape[1], device=x.device)[None, :, None, None]
    out = xp[batch, chan, rows, cols]  # N x C x H x W
    if hflip:
        flip = (torch.rand(n, generator=g) < 0.5).to(x.device)[:, None, None, None]
        out = torch.where(flip, out.flip(-1), out)
    return out


def _loss_and_correct(logits: torch.Tensor, y: torch.Tensor, binary: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean loss and the number of right answers (a device tensor, no sync)."""
    logits = logits.float()
    if binary:  # N x 1 logits, sigmoid inside the loss (stable form of Keras' sigmoid + BCE)
        z = logits.squeeze(1)
        loss = F.binary_cross_entropy_with_logits(z, y.float())
        correct = ((z > 0).long() == y).sum()
    else:  # N x K logits
        loss = F.cross_entropy(logits, y)
        correct = (logits.argmax(1) == y).sum()
    return loss, correct


def _predict(logits: torch.Tensor, binary: bool) -> torch.Tensor:
    return (logits.squeeze(1) > 0).long() if binary else logits.argmax(1)


def _autocast(device: torch.device, enabled: bool):  # noqa: ANN202
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=enabled)


@torch.no_grad()
def evaluate(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, binary: bool, amp: bool = False
) -> tuple[float, float, torch.Tensor]:
    """Mean loss, accuracy and the predictions of ``model`` on (x, y), in eval mode."""
    was_training = model.training
    model.eval()
    device = x.device
    loss_sum = torch.zeros((), device=device)
    preds = []
    try:
        for i in range(0, len(x), EVAL_BATCH):
            xb, yb = x[i : i + EVAL_BATCH], y[i : i + EVAL_BATCH]
            with _autocast(device, amp):
                logits = model(xb)
            loss, _ = _loss_and_correct(logits, yb, binary)
            loss_sum += loss * len(xb)
            preds.append(_predict(logits.float(), binary))
    finally:
        model.train(was_training)
    pred = torch.cat(preds)
    acc = (pred == y).float().mean()
    loss_v, acc_v = torch.stack([loss_sum / len(x), acc]).tolist()
    return loss_v, acc_v, pred


def confusion_matrix(y: torch.Tensor, pred: torch.Tensor, k: int) -> torch.Tensor:
    """K x K counts: rows are true classes, columns predicted ones."""
    return torch.bincount(y * k + pred, minlength=k * k).reshape(k, k).cpu()


def _weight_layers(model: nn.Module) -> list[tuple[str, torch.nn.Parameter]]:
    """(layer name, weight) for every layer whose weight is a matrix or a kernel, in order."""
    out = []
    for name, module in model.named_modules():
        w = getattr(module, "weight", None)
        if isinstance(w, torch.nn.Parameter) and w.dim() > 1 and w.requires_grad:
            out.append((f"{name or 'model'} ({type(module).__name__})", w))
    return out


def _first_conv(model: nn.Module) -> tuple[str | None, nn.Conv2d | None]:
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            return name, module
    return None, None


def _snapshot_layers(model: nn.Module, limit: int = 3) -> list[str]:
    from explorer.probe.capture import feature_layers

    try:
        layers = [info.name for info in feature_layers(model)]
    except Exception:  # a model the probe cannot describe: no feature maps, training goes on
        return []
    return layers[:limit]


# -- the loop ----------------------------------------------------------------------------------


def fit(
    model: nn.Module,
    data: Splits,
    settings: TrainSettings,
    *,
    device: torch.device | str | None = None,
    should_stop: Callable[[], bool] | None = None,
    log_every: int | None = None,
    snapshot_every_s: float = 1.0,
    instrument: bool = True,
    param_groups: list[dict[str, Any]] | None = None,
) -> Generator[Event, None, FitResult]:
    """Train ``model`` on ``data`` with ``settings``; yield events; return a :class:`FitResult`.

    ``should_stop`` is polled every step: when it turns true the run evaluates and returns
    (a polite stop). ``log_every`` (default: about 25 points per epoch) sets how often
    metrics and gradient norms are read back; ``snapshot_every_s`` how often filters and
    feature maps are captured; ``instrument=False`` leaves only the per-epoch events;
    ``param_groups`` (optimiser groups with their own ``lr``) replace "every trainable parameter".
    Raises :class:`DivergedError` on a NaN/inf loss and :class:`OutOfMemoryTrainingError`
    when the device runs out of memory.
    """
    settings.check()
    device = torch.device(device) if device is not None else pick_device(settings.device)
    binary = data.info.task == "binary"
    classes = data.classes
    amp = bool(settings.bf16 and supports_bf16(device))
    model.to(device)
    data = data.to(device)
    x_train, y_train = data.x_train, data.y_train
    n_train = len(x_train)
    bs = min(settings.batch_size, n_train)
    steps_per_epoch = math.ceil(n_train / bs)
    total_steps = steps_per_epoch * settings.epochs
    log_every = log_every or max(1, round(steps_per_epoch / 25))
    opt = make_optimizer(model, settings, param_groups)
    sched = make_scheduler(opt, settings, total_steps)
    g = torch.Generator().manual_seed(settings.seed)
    layers = _weight_layers(model)
    layer_names = [name for name, _ in layers]
    conv_name, conv = _first_conv(model)
    snap_layers = _snapshot_layers(model) if instrument else []
    probe_x = data.x_val[:1]
    probe_label = classes[int(data.y_val[0])] if len(classes) > int(data.y_val[0]) else ""

    clock_start = time.perf_counter()
    paused = 0.0  # seconds spent suspended at a yield (paused job, slow consumer)

    def elapsed() -> float:
        return time.perf_counter() - clock_start - paused

    def snapshot(step: int, epoch: int) -> Snapshot:
        from explorer.probe.capture import capture

        maps = capture(model, probe_x, snap_layers, to_cpu=True) if snap_layers else {}
        filters = conv.weight.detach().float().cpu().clone() if conv is not None else None
        return Snapshot(
            step, epoch, filters, conv_name, data.x_val[0].cpu(), probe_label,
            {k: v[0].float() for k, v in maps.items()},
        )  # fmt: skip

    t = time.perf_counter()
    yield Started(
        total_steps, steps_per_epoch, settings.epochs, str(device), amp,
        sum(p.numel() for p in model.parameters()), tuple(classes), data.info.task,
        n_train, len(data.x_val), settings.to_dict(),
    )  # fmt: skip
    paused += time.perf_counter() - t
    if instrument:
        t = time.perf_counter()
        yield snapshot(0, 1)
        paused += time.perf_counter() - t
    last_snap = elapsed()

    step = 0
    stopped = False
    last_val: tuple[int, float, float] = (-1, math.nan, math.nan)
    model.train()
    try:
        for epoch in range(1, settings.epochs + 1):
            perm = torch.randperm(n_train, generator=g).to(device)
            # Device accumulators [loss sum, correct] since the last read-back and per epoch; the
            # sample counts are plain ints (known on the host, no transfer needed).
            window = torch.zeros(2, device=device)
            epoch_acc = torch.zeros(2, device=device)
            window_t0, window_seen, epoch_seen = elapsed(), 0, 0
            for i in range(steps_per_epoch):
                idx = perm[i * bs : (i + 1) * bs]
                xb, yb = x_train[idx], y_train[idx]
                if settings.augment:
                    xb = augment_batch(xb, data.info.hflip, g)
                with _autocast(device, amp):
                    logits = model(xb)
                loss, correct = _loss_and_correct(logits, yb, binary)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                step += 1
                window_seen += len(xb)
                epoch_seen += len(xb)
                read_back = instrument and (step % log_every == 0 or i == steps_per_epoch - 1 or step == 1)
                norms = None
                if read_back and layers:
                    grads = [w.grad if w.grad is not None else torch.zeros((), device=device) for _, w in layers]
                    norms = torch.stack(torch._foreach_norm(grads)).float()  # one value per layer
                opt.step()
                lr_now = opt.param_groups[0]["lr"]
                if sched is not None:
                    sched.step()
                stats = torch.stack([loss.detach() * len(xb), correct.float()])
                window += stats
                epoch_acc += stats
                if read_back:
                    # One host transfer for everything this step reports.
                    host = torch.cat([window, norms if norms is not None else window[:0]]).tolist()
                    loss_sum, right = host[:2]
                    seen = window_seen
                    if not math.isfinite(loss_sum):
                        raise DivergedError(_diverged_message(loss_sum, step, epoch, settings.lr))
                    now = elapsed()
                    rate = seen / max(now - window_t0, 1e-9)
                    steps_per_s = step / max(now, 1e-9)
                    yield_t = time.perf_counter()
                    yield Progress(
                        step, epoch, (epoch - 1) + (i + 1) / steps_per_epoch,
                        loss_sum / seen, right / seen, lr_now, rate,
                        (total_steps - step) / max(steps_per_s, 1e-9), now,
                        dict(zip(layer_names, host[2:], strict=True)) if norms is not None else {},
                    )  # fmt: skip
                    paused += time.perf_counter() - yield_t
                    window.zero_()
                    window_t0, window_seen = elapsed(), 0
                    if elapsed() - last_snap >= snapshot_every_s:
                        snap = snapshot(step, epoch)
                        yield_t = time.perf_counter()
                        yield snap
                        paused += time.perf_counter() - yield_t
                        last_snap = elapsed()
                yield_t = time.perf_counter()
                yield Tick(step, epoch)
                paused += time.perf_counter() - yield_t
                if should_stop is not None and should_stop():
                    stopped = True
                    break
            # End of epoch (or early stop): validation.
            e_loss, e_right = epoch_acc.tolist()
            e_seen = epoch_seen
            if not math.isfinite(e_loss):
                raise DivergedError(_diverged_message(e_loss, step, epoch, settings.lr))
            val_loss, val_acc, _ = evaluate(model, data.x_val, data.y_val, binary, amp)
            last_val = (step, val_loss, val_acc)
            yield_t = time.perf_counter()
            yield EpochEnd(
                epoch, step, e_loss / max(e_seen, 1), e_right / max(e_seen, 1), val_loss, val_acc,
                opt.param_groups[0]["lr"], elapsed(),
            )  # fmt: skip
            paused += time.perf_counter() - yield_t
            if instrument:
                snap = snapshot(step, epoch)
                yield_t = time.perf_counter()
                yield snap
                paused += time.perf_counter() - yield_t
                last_snap = elapsed()
            if stopped:
                break
        # Final evaluation on the held-out test set (validation was just measured at the last
        # epoch end, which is also where a stopped run ends).
        if last_val[0] == step:
            val_loss, val_acc = last_val[1:]
        else:
            val_loss, val_acc, _ = evaluate(model, data.x_val, data.y_val, binary, amp)
        test_loss, test_acc, pred = evaluate(model, data.x_test, data.y_test, binary, amp)
        k = len(classes)
        conf = confusion_matrix(data.y_test, pred, k)
        per_class = (conf.diag().float() / conf.sum(1).clamp(min=1).float()).tolist()
        wrong = (pred != data.y_test).nonzero().squeeze(1)[:MAX_MISCLASSIFIED]
        epochs_done = step / steps_per_epoch
        yield Finished(
            step, epochs_done, stopped, val_loss, val_acc, test_loss, test_acc, conf, per_class,
            tuple(classes), data.x_test[wrong].float().cpu(), data.y_test[wrong].tolist(), pred[wrong].tolist(),
            elapsed(),
        )  # fmt: skip
    except torch.cuda.OutOfMemoryError as err:  # also covers the final evaluation
        _free_cuda(device)
        smaller = max(1, bs // 2)
        raise OutOfMemoryTrainingError(
            f"The {device.type.upper()} device ran out of memory with batch size {bs}. "
            f"Try batch size {smaller} (or a smaller model)."
        ) from err

    metrics = {
        "val_loss": val_loss, "val_accuracy": val_acc, "test_loss": test_loss, "test_accuracy": test_acc,
        "epochs": round(epochs_done, 3), "steps": step, "train_seconds": round(elapsed(), 2),
    }  # fmt: skip
    return FitResult(model, metrics, tuple(classes), stopped, settings)


def _diverged_message(value: float, step: int, epoch: int, lr: float) -> str:
    kind = "NaN" if math.isnan(value) else "infinite"
    return (
        f"The loss became {kind} at step {step} (epoch {epoch}): training diverged. "
        f"Lower the learning rate (it was {lr:g}; try {lr / 10:g}) and start again."
    )


def _free_cuda(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()


def run_training(
    settings: TrainSettings,
    should_stop: Callable[[], bool] | None = None,
    data: Splits | None = None,
    **fit_kwargs: Any,
) -> Generator[Event, None, FitResult]:
    """Build the dataset and the model from ``settings``, then ``fit``; the model ends on the CPU.

    This is what a background job runs: all heavy set-up happens inside the generator, so
    the caller returns at once.
    """
    settings.check()
    from explorer.data.datasets import get_dataset_info

    info = get_dataset_info(settings.dataset)
    if data is None:
        yield Preparing(f"Preparing {info.title}...")
        data = load_dataset(
            settings.dataset, seed=settings.seed, difficulty=settings.difficulty, download=settings.download,
            sizes=(settings.train_samples, settings.val_samples, max(settings.val_samples, 500)),
        )  # fmt: skip
    c, h, _ = data.x_train.shape[1:]
    yield Preparing("Building the model...")
    torch.manual_seed(settings.seed)  # same seed, same initial weights
    num_classes = 1 if data.info.task == "binary" else len(data.classes)
    model, build = build_model(settings.model, c, num_classes, h)
    result = yield from fit(model, data, settings, should_stop=should_stop, **fit_kwargs)
    result.model = result.model.cpu().eval()
    result.arch, result.build, result.dataset = settings.model, build, settings.dataset
    return result
