"""Training figures: fit() with live instrumentation vs a bare PyTorch loop; dataset generation.

1. Throughput (training samples/s) of ``fit`` at its default cadence (per-step ticks, metrics and
   per-layer gradient norms read back every ``log_every`` steps, filter + feature-map snapshots
   about once a second) against a bare loop (forward, loss, zero_grad, backward, step) on the
   same model, data, batch order, optimiser and device, measured in the same run, alternating
   the two, median over repeats. Target ratio >= 0.90 on CPU for LeNet-5 on printed digits and
   the compact ResNet on shapes. Both time one epoch of training steps; fit's per-epoch
   validation pass is evaluation, not instrumentation, and is reported separately as the
   end-to-end ratio.
2. Time to generate each offline dataset at its default size.

    .venv/bin/python bench/bench_training.py                  # CPU (what `make bench` runs)
    .venv/bin/python bench/bench_training.py --device cuda    # a GPU (bench/gpu_training.sh)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import median_seconds, report  # noqa: E402
from explorer.data.datasets import DATASETS, load_dataset  # noqa: E402
from explorer.device import supports_bf16  # noqa: E402
from explorer.training.events import Started, Tick  # noqa: E402
from explorer.training.fit import build_model, fit  # noqa: E402
from explorer.training.settings import default_settings  # noqa: E402
from explorer.training.steps import autocast, loss_and_correct, make_optimizer, make_scheduler  # noqa: E402


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def fresh_model(settings, data, device):
    torch.manual_seed(settings.seed)
    c, h, _ = data.x_train.shape[1:]
    k = 1 if data.info.task == "binary" else len(data.classes)
    return build_model(settings.model, c, k, h)[0].to(device)


def bare_loop(settings, data, device) -> tuple[float, float]:
    """(samples per wall second, samples per CPU second) of one epoch of plain training steps."""
    model = fresh_model(settings, data, device)
    model.train()
    binary = data.info.task == "binary"
    amp = bool(settings.bf16 and supports_bf16(device))
    n = len(data.x_train)
    bs = settings.batch_size
    steps = -(-n // bs)
    opt = make_optimizer(model, settings)
    sched = make_scheduler(opt, settings, steps)
    g = torch.Generator().manual_seed(settings.seed)
    sync(device)
    t0, c0 = time.perf_counter(), time.process_time()
    perm = torch.randperm(n, generator=g).to(device)
    for i in range(steps):
        idx = perm[i * bs : (i + 1) * bs]
        xb, yb = data.x_train[idx], data.y_train[idx]
        with autocast(device, amp):
            logits = model(xb)
        loss, _ = loss_and_correct(logits, yb, binary)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
    sync(device)
    return n / (time.perf_counter() - t0), n / (time.process_time() - c0)


def instrumented(settings, data, device) -> tuple[float, float, float]:
    """Samples per wall second of fit's training steps, per CPU second, and per wall second end
    to end (incl. validation and test evaluation)."""
    model = fresh_model(settings, data, device)
    n = len(data.x_train)
    gen = fit(model, data, settings, device=device)
    t0 = t_steps = None
    total = None
    for event in gen:
        if isinstance(event, Started):
            sync(device)
            t0, c0, total = time.perf_counter(), time.process_time(), event.total_steps
        elif isinstance(event, Tick) and event.step == total:
            sync(device)
            t_steps, c_steps = time.perf_counter(), time.process_time()
    sync(device)
    t_end = time.perf_counter()
    return n / (t_steps - t0), n / (c_steps - c0), n / (t_end - t0)


def bench_throughput(
    name: str, model: str, dataset: str, train: int, repeats: int, device: torch.device
) -> None:
    settings = default_settings(
        model,
        dataset,
        device=str(device),
        epochs=1,
        train_samples=train,
        schedule="constant",
        augment=False,
    )
    data = load_dataset(dataset, seed=0, sizes=(train, settings.val_samples, 256)).to(device)
    settings = replace(settings, val_samples=len(data.x_val))
    # Warm-up: allocator, kernels, lazy imports (capture, catalog).
    warm = replace(settings, train_samples=settings.batch_size * 2)
    warm_data = load_dataset(dataset, seed=0, sizes=(warm.train_samples, 16, 16)).to(device)
    bare_loop(warm, warm_data, device)
    instrumented(warm, warm_data, device)
    bare, fitted, wall_ratio, cpu_ratio, e2e_ratio = [], [], [], [], []
    for r in range(repeats):
        # Pairs close in time share the machine's load (2 cores shared with others here); the
        # order alternates so neither side always runs first. Ratios are taken per pair.
        if r % 2 == 0:
            b_wall, b_cpu = bare_loop(settings, data, device)
            f_wall, f_cpu, f_e2e = instrumented(settings, data, device)
        else:
            f_wall, f_cpu, f_e2e = instrumented(settings, data, device)
            b_wall, b_cpu = bare_loop(settings, data, device)
        bare.append(b_wall)
        fitted.append(f_wall)
        wall_ratio.append(f_wall / b_wall)
        cpu_ratio.append(f_cpu / b_cpu)
        e2e_ratio.append(f_e2e / b_wall)
    med = statistics.median
    tag = f"{name}_{device.type}"
    spe = -(-train // settings.batch_size)
    print(
        f"-- {model} on {dataset}: {train} images/epoch, batch {settings.batch_size}, {spe} steps, "
        f"log every {max(1, round(spe / 25))} steps, {repeats} pairs, {device}"
    )
    report(f"train_bare_{tag}", med(bare), "samples/s", f"bare PyTorch loop, {model}")
    report(
        f"train_fit_{tag}", med(fitted), "samples/s", f"fit() with live instrumentation, {model}"
    )
    report(
        f"train_ratio_{tag}",
        med(wall_ratio),
        "x",
        f"fit / bare throughput (median of paired runs), {model}",
        target=">= 0.90",
    )
    print(f"   paired wall-time ratios: {' '.join(f'{x:.3f}' for x in wall_ratio)}")
    if device.type == "cpu":
        report(
            f"train_ratio_cputime_{tag}",
            med(cpu_ratio),
            "x",
            f"fit / bare samples per CPU-second (less sensitive to other load), {model}",
        )
    report(
        f"train_ratio_e2e_{tag}",
        med(e2e_ratio),
        "x",
        f"fit end to end incl. validation ({settings.val_samples} images) and test evaluation / bare, {model}",
    )


def bench_datasets(repeats: int) -> None:
    for key, info in DATASETS.items():
        if not info.offline:
            continue
        seconds = median_seconds(lambda k=key: load_dataset(k, seed=0), repeats=repeats, warmup=1)
        total = sum(info.sizes)
        report(
            f"dataset_{key}_s",
            seconds,
            "s",
            f"generate {info.title}: {total} images ({'/'.join(map(str, info.sizes))})",
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default=os.environ.get("EXPLORER_DEVICE", "cpu"))
    parser.add_argument("--repeats", type=int, default=6, help="pairs of runs per model")
    parser.add_argument("--skip-datasets", action="store_true")
    parser.add_argument(
        "--only", nargs="*", default=None, help="model keys to measure (default: all)"
    )
    args = parser.parse_args()
    device = torch.device(args.device)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {device}"
        + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else "")
    )
    big = device.type == "cuda"
    # CPU sizes: LeNet's default training set (its default cadence: read-back every 4 steps);
    # the ResNet's cadence is every step at its default 2000 images, as at 512 (kept short).
    runs = [
        ("lenet5_digits", "lenet5", "digits", 20000 if big else 6000),
        ("resnet_small_shapes", "resnet_small", "shapes", 20000 if big else 512),
    ]
    if big:
        runs.append(("keras_cnn_circles", "keras_cnn", "circles_squares", 8000))
    for name, model, dataset, train in runs:
        if args.only is None or model in args.only:
            bench_throughput(name, model, dataset, train, args.repeats, device)
    if not args.skip_datasets:
        bench_datasets(args.repeats)


if __name__ == "__main__":
    main()
