"""One ``fit`` call's loop: the optimiser steps, the read-backs, the snapshots and the evaluations.

:class:`TrainingRun` holds a run's state (model, data, optimiser, counters, device accumulators)
and yields its events epoch by epoch; :func:`explorer.training.fit.fit` drives it and turns its
end into a :class:`~explorer.training.fit.FitResult`. :class:`RunClock` counts working seconds
only (a paused job does not slow the rates down). The errors a run can stop with live here too.
"""

from __future__ import annotations

import math
import time
from collections.abc import Generator
from typing import Any

import torch
from torch import nn

from explorer.data.datasets import Splits
from explorer.device import supports_bf16
from explorer.probe.capture import feature_layers
from explorer.probe.names import readable_names
from explorer.training.events import EpochEnd, Event, Finished, Progress, Snapshot, Started, Tick
from explorer.training.settings import TrainSettings
from explorer.training.steps import (
    augment_batch,
    autocast,
    confusion_matrix,
    evaluate,
    loss_and_correct,
    make_optimizer,
    make_scheduler,
)

MAX_MISCLASSIFIED = 32


class TrainingError(RuntimeError):
    """A run stopped for a reason the user can act on; the message says what to do."""


class DivergedError(TrainingError):
    """The loss became NaN or infinite."""


class OutOfMemoryTrainingError(TrainingError):
    """The device ran out of memory; the message names a batch size to try."""


def _weight_layers(model: nn.Module, names: dict[str, str]) -> list[tuple[str, torch.nn.Parameter]]:
    """(layer name, weight) for every layer whose weight is a matrix or a kernel, in order."""
    out = []
    for path, module in model.named_modules():
        w = getattr(module, "weight", None)
        if isinstance(w, torch.nn.Parameter) and w.dim() > 1 and w.requires_grad:
            out.append((f"{names.get(path, path or 'model')} ({type(module).__name__})", w))
    return out


def _first_conv(model: nn.Module) -> tuple[str | None, nn.Conv2d | None]:
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            return name, module
    return None, None


def _snapshot_layers(model: nn.Module, limit: int = 3) -> list[str]:
    try:
        layers = [info.name for info in feature_layers(model)]
    except Exception:  # a model the probe cannot describe: no feature maps, training goes on
        return []
    return layers[:limit]


class RunClock:
    """Working seconds of a run: wall time since the start minus the time the generator spent
    suspended at a ``yield`` (a paused job, a slow consumer), so rates and ETAs count training only.
    """

    def __init__(self) -> None:
        self._start = time.perf_counter()
        self._paused = 0.0

    def elapsed(self) -> float:
        return time.perf_counter() - self._start - self._paused

    def hand_over(self, event: Event) -> Generator[Event, None, None]:
        """Yield ``event``; the time until the consumer resumes the generator is not counted."""
        t = time.perf_counter()
        yield event
        self._paused += time.perf_counter() - t


class TrainingRun:
    """The state of one ``fit`` call: model, data, optimiser, counters and device accumulators."""

    def __init__(
        self,
        model: nn.Module,
        data: Splits,
        settings: TrainSettings,
        device: torch.device,
        options: dict[str, Any],
    ) -> None:
        self.model, self.data, self.s, self.device = model, data, settings, device
        self.binary = data.info.task == "binary"
        self.amp = bool(settings.bf16 and supports_bf16(device))
        self.n_train = len(data.x_train)
        self.bs = min(settings.batch_size, self.n_train)
        self.steps_per_epoch = math.ceil(self.n_train / self.bs)
        self.total_steps = self.steps_per_epoch * settings.epochs
        self.log_every = options["log_every"] or max(1, round(self.steps_per_epoch / 25))
        self.instrument, self.should_stop = options["instrument"], options["should_stop"]
        self.snapshot_every_s = options["snapshot_every_s"]
        self.opt = make_optimizer(model, settings, options["param_groups"])
        self.sched = make_scheduler(self.opt, settings, self.total_steps)
        self.g = torch.Generator().manual_seed(settings.seed)
        self.names = readable_names(model, options["arch"])  # module path -> paper-style name
        self.layers = _weight_layers(model, self.names)
        self.conv_name, self.conv = _first_conv(model)
        self.snap_layers = _snapshot_layers(model) if self.instrument else []
        label = int(data.y_val[0])
        self.probe_label = data.classes[label] if len(data.classes) > label else ""
        self.clock = RunClock()
        self.step, self.stopped, self.last_snap = 0, False, 0.0
        # Device accumulators [loss sum, correct] since the last read-back and per epoch; the
        # sample counts are plain ints (known on the host, no transfer needed).
        self.window = torch.zeros(2, device=device)
        self.epoch_sum = torch.zeros(2, device=device)
        self.window_t0, self.window_seen, self.epoch_seen = 0.0, 0, 0

    def started(self) -> Started:
        d = self.data
        return Started(
            self.total_steps,
            self.steps_per_epoch,
            self.s.epochs,
            str(self.device),
            self.amp,
            sum(p.numel() for p in self.model.parameters()),
            tuple(d.classes),
            d.info.task,
            self.n_train,
            len(d.x_val),
            self.s.to_dict(),
        )

    def snapshot(self, epoch: int) -> Generator[Event, None, None]:
        """Capture filters and feature maps of the probe image, hand them over, restart the timer."""
        from explorer.probe.capture import capture

        probe_x = self.data.x_val[:1]
        maps = (
            capture(self.model, probe_x, self.snap_layers, to_cpu=True) if self.snap_layers else {}
        )
        filters = self.conv.weight.detach().float().cpu().clone() if self.conv is not None else None
        yield from self.clock.hand_over(
            Snapshot(
                self.step,
                epoch,
                filters,
                self.names.get(self.conv_name or "", self.conv_name),
                self.data.x_val[0].cpu(),
                self.probe_label,
                {self.names.get(k, k): v[0].float() for k, v in maps.items()},
            )
        )
        self.last_snap = self.clock.elapsed()

    def train_epoch(self, epoch: int) -> Generator[Event, None, None]:
        """One pass over the shuffled training set; sets ``stopped`` when asked to stop."""
        d, s = self.data, self.s
        perm = torch.randperm(self.n_train, generator=self.g).to(self.device)
        self.window.zero_()
        self.epoch_sum.zero_()
        self.window_t0, self.window_seen, self.epoch_seen = self.clock.elapsed(), 0, 0
        for i in range(self.steps_per_epoch):
            idx = perm[i * self.bs : (i + 1) * self.bs]
            xb, yb = d.x_train[idx], d.y_train[idx]
            if s.augment:
                xb = augment_batch(xb, d.info.hflip, self.g)
            self.step += 1
            last = i == self.steps_per_epoch - 1
            read_back = self.instrument and (
                self.step % self.log_every == 0 or last or self.step == 1
            )
            norms, lr_now = self._train_step(xb, yb, read_back)
            if read_back:
                yield from self._report(
                    epoch, (epoch - 1) + (i + 1) / self.steps_per_epoch, norms, lr_now
                )
            yield from self.clock.hand_over(Tick(self.step, epoch))
            if self.should_stop is not None and self.should_stop():
                self.stopped = True
                return

    def _train_step(
        self, xb: torch.Tensor, yb: torch.Tensor, read_back: bool
    ) -> tuple[torch.Tensor | None, float]:
        """Forward, backward, optimiser step; per-layer gradient norms when reading back."""
        with autocast(self.device, self.amp):
            logits = self.model(xb)
        loss, correct = loss_and_correct(logits, yb, self.binary)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        norms = None
        if read_back and self.layers:
            zero = torch.zeros((), device=self.device)
            grads = [w.grad if w.grad is not None else zero for _, w in self.layers]
            norms = torch.stack(torch._foreach_norm(grads)).float()  # one value per layer
        self.opt.step()
        lr_now = self.opt.param_groups[0]["lr"]
        if self.sched is not None:
            self.sched.step()
        stats = torch.stack([loss.detach() * len(xb), correct.float()])
        self.window += stats
        self.epoch_sum += stats
        self.window_seen += len(xb)
        self.epoch_seen += len(xb)
        return norms, lr_now

    def _report(
        self, epoch: int, epoch_float: float, norms: torch.Tensor | None, lr_now: float
    ) -> Generator[Event, None, None]:
        """One host transfer for everything this step reports, then a snapshot when one is due."""
        host = torch.cat([self.window, norms if norms is not None else self.window[:0]]).tolist()
        loss_sum, right = host[:2]
        seen = self.window_seen
        if not math.isfinite(loss_sum):
            raise DivergedError(_diverged_message(loss_sum, self.step, epoch, self.s.lr))
        now = self.clock.elapsed()
        rate = seen / max(now - self.window_t0, 1e-9)
        steps_per_s = self.step / max(now, 1e-9)
        grad_norms = (
            dict(zip((n for n, _ in self.layers), host[2:], strict=True))
            if norms is not None
            else {}
        )
        yield from self.clock.hand_over(
            Progress(
                self.step,
                epoch,
                epoch_float,
                loss_sum / seen,
                right / seen,
                lr_now,
                rate,
                (self.total_steps - self.step) / max(steps_per_s, 1e-9),
                now,
                grad_norms,
            )
        )
        self.window.zero_()
        self.window_t0, self.window_seen = self.clock.elapsed(), 0
        if self.clock.elapsed() - self.last_snap >= self.snapshot_every_s:
            yield from self.snapshot(epoch)

    def end_epoch(self, epoch: int) -> Generator[Event, None, tuple[int, float, float]]:
        """Validation after an epoch (or an early stop); returns (step, val loss, val accuracy)."""
        e_loss, e_right = self.epoch_sum.tolist()
        seen = max(self.epoch_seen, 1)
        if not math.isfinite(e_loss):
            raise DivergedError(_diverged_message(e_loss, self.step, epoch, self.s.lr))
        val_loss, val_acc, _ = evaluate(
            self.model, self.data.x_val, self.data.y_val, self.binary, self.amp
        )
        yield from self.clock.hand_over(
            EpochEnd(
                epoch,
                self.step,
                e_loss / seen,
                e_right / seen,
                val_loss,
                val_acc,
                self.opt.param_groups[0]["lr"],
                self.clock.elapsed(),
            )
        )
        if self.instrument:
            yield from self.snapshot(epoch)
        return self.step, val_loss, val_acc

    def finish(self, last_val: tuple[int, float, float]) -> tuple[Finished, dict[str, float]]:
        """Held-out test evaluation (validation is reused when measured at this very step)."""
        d = self.data
        if last_val[0] == self.step:
            val_loss, val_acc = last_val[1:]
        else:
            val_loss, val_acc, _ = evaluate(self.model, d.x_val, d.y_val, self.binary, self.amp)
        test_loss, test_acc, pred = evaluate(self.model, d.x_test, d.y_test, self.binary, self.amp)
        conf = confusion_matrix(d.y_test, pred, len(d.classes))
        per_class = (conf.diag().float() / conf.sum(1).clamp(min=1).float()).tolist()
        wrong = (pred != d.y_test).nonzero().squeeze(1)[:MAX_MISCLASSIFIED]
        epochs_done = self.step / self.steps_per_epoch
        finished = Finished(
            self.step,
            epochs_done,
            self.stopped,
            val_loss,
            val_acc,
            test_loss,
            test_acc,
            conf,
            per_class,
            tuple(d.classes),
            d.x_test[wrong].float().cpu(),
            d.y_test[wrong].tolist(),
            pred[wrong].tolist(),
            self.clock.elapsed(),
        )
        metrics = {
            "val_loss": val_loss,
            "val_accuracy": val_acc,
            "test_loss": test_loss,
            "test_accuracy": test_acc,
            "epochs": round(epochs_done, 3),
            "steps": self.step,
        }
        return finished, metrics


def _diverged_message(value: float, step: int, epoch: int, lr: float) -> str:
    kind = "NaN" if math.isnan(value) else "infinite"
    return (
        f"The loss became {kind} at step {step} (epoch {epoch}): training diverged. "
        f"Lower the learning rate (it was {lr:g}; try {lr / 10:g}) and start again."
    )
