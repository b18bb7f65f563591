"""What a unit looks for: an optimised input, a dataset-examples pass and a t-SNE.

- ``optimized_input_resnet18_s``: one channel of ResNet-18's layer3 (its last convolution,
  ``layer3.1.conv2``), 256 steps at 128 x 128 with the full recipe (Fourier parameterisation,
  colour decorrelation, transformations); ImageNet weights when cached, random ones otherwise
  (the cost is the same). Target <= 20 s on 2 CPU cores.
- ``dataset_examples_resnet_small_s``: the top 9 of every channel of the bundled compact
  ResNet's last block over 10,000 synthetic-shapes images (32 x 32), batches of 256. Target <= 15 s.
  It runs on a fast private copy (explorer.probe.fast_pass: BN folded into the convolutions,
  channels-last, stopped at the layer), so the ratio to the plain forward baseline is below 1
  (0.46-0.85 in wall time and 0.69 in CPU seconds on a loaded 2-core machine, against 1.05-1.22
  for the hooked full forward before); the CPU-seconds ratio is printed too, as it is steadier
  than wall time when other work shares the cores.
- ``tsne_2000_s``: scikit-learn t-SNE of 2,000 points of 64 dimensions. Target <= 10 s.

One run each (they are long; medians of several runs would multiply the time), on the device
explorer.device picks (EXPLORER_DEVICE=cpu forces the CPU). The first two also time a baseline in
the same run (plain forward/backward passes of the same model and sizes) and print the ratio, so
a loaded machine shows as a slow baseline, not as a slow recipe.

    nice -n 10 .venv/bin/python bench/bench_feature_vis.py
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import report  # noqa: E402
from explorer.data.synthetic import make_shapes  # noqa: E402
from explorer.device import pick_device  # noqa: E402
from explorer.models import get_spec  # noqa: E402
from explorer.models.init import build_seeded  # noqa: E402
from explorer.models.weights import load_bundled, load_pretrained, pretrained_available  # noqa: E402
from explorer.probe import dataset_examples as de  # noqa: E402
from explorer.probe import feature_space as fs  # noqa: E402
from explorer.probe import feature_vis as fv  # noqa: E402


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def bench_optimised_input(device: torch.device) -> None:
    spec = get_spec("resnet18")
    cached = pretrained_available(spec)
    model = (load_pretrained(spec) if cached else build_seeded(spec.build, 0)).to(device).eval()
    settings = fv.VisSettings(
        steps=256, size=128, preview_every=0, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)
    )
    warm = dataclasses.replace(settings, steps=8)  # first calls pay for kernel selection: not timed
    fv.run(fv.optimise(model, "layer3.1.conv2", 0, (3, 224, 224), warm))
    start = time.perf_counter()
    last = fv.run(fv.optimise(model, "layer3.1.conv2", 0, (3, 224, 224), settings))
    _sync(device)
    took = time.perf_counter() - start
    weights = "ImageNet" if cached else "random (seed 0)"
    report(
        "optimized_input_resnet18_s",
        took,
        "s",
        f"ResNet-18 layer3.1.conv2 channel 0, 256 steps at 128 px ({weights} weights, {device.type}, "
        f"objective {last.objective:.3g})",
        "<= 20 s on 2 CPU cores",
    )
    # Baseline in the same run: 256 plain forward passes and input gradients at 128 px, no hooks,
    # no parameterisation, no transforms: what the recipe costs on top.
    x = torch.rand(1, 3, 128, 128, device=device, requires_grad=True)
    start = time.perf_counter()
    for _ in range(256):
        (grad,) = torch.autograd.grad(model(x).sum(), [x])
    _sync(device)
    base = time.perf_counter() - start
    print(f"  baseline 256 x (forward + input gradient): {base:.3g} s; ratio {took / base:.2f}")
    print(f"BENCH optimized_input_resnet18_ratio {took / base:.4g} x", flush=True)


def bench_dataset_examples(device: torch.device) -> None:
    model, meta = load_bundled("resnet_small")
    model = model.to(device)
    images, _ = make_shapes(10_000, difficulty=0.5, seed=123, size=int(meta.build["image_size"]))
    blocks = [n for n, m in model.named_modules() if type(m).__name__ in ("BasicBlock", "Residual")]
    layer = blocks[-1]
    # warm-up, not timed
    de.compute(de.top_examples(model, images[:512], layer, k=9, batch_size=256))
    start, cpu = time.perf_counter(), time.process_time()
    top = de.compute(de.top_examples(model, images, layer, k=9, batch_size=256))
    _sync(device)
    took, took_cpu = time.perf_counter() - start, time.process_time() - cpu
    report(
        "dataset_examples_resnet_small_s",
        took,
        "s",
        f"compact ResNet {layer} ({top.channels} channels), top 9 over 10,000 images ({device.type})",
        "<= 15 s on 2 CPU cores",
    )
    # Baseline in the same run: the same batches through the model with no hook and no top-k.
    start, cpu = time.perf_counter(), time.process_time()
    with torch.no_grad():
        for i in range(0, len(images), 256):
            model(images[i : i + 256].to(device))
    _sync(device)
    base, base_cpu = time.perf_counter() - start, time.process_time() - cpu
    print(
        f"  baseline plain forward over the same 10,000 images: {base:.3g} s; ratio {took / base:.2f}"
    )
    print(f"BENCH dataset_examples_resnet_small_ratio {took / base:.4g} x", flush=True)
    # CPU seconds of this process: steadier than wall time when other work shares the cores
    print(f"  CPU seconds: {took_cpu:.3g} against {base_cpu:.3g} for the baseline")
    print(f"BENCH dataset_examples_resnet_small_cpu_ratio {took_cpu / base_cpu:.4g} x", flush=True)


def bench_tsne() -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=4.0, size=(10, 64))
    feats = (centres[rng.integers(0, 10, 2000)] + rng.normal(size=(2000, 64))).astype(np.float32)
    start = time.perf_counter()
    fs.project(feats, "tsne", seed=0)
    report(
        "tsne_2000_s",
        time.perf_counter() - start,
        "s",
        "t-SNE of 2,000 points x 64 dimensions",
        "<= 10 s on 2 CPU cores",
    )


def main() -> None:
    device = pick_device()
    bench_optimised_input(device)
    bench_dataset_examples(device)
    bench_tsne()


if __name__ == "__main__":
    main()
