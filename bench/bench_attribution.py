"""Integrated gradients with 50 steps on ResNet-18 and VGG-16 (random weights, 224 x 224, CPU).

For each model: the price said before a run (one measured forward + backward pass on 2
inputs, scaled to 50), the run itself batched 10 inputs at a time (the page's setting), and
for ResNet-18 the same run one input at a time (the effect of batching), and where the CPU has
bfloat16 instructions the run in bfloat16 (the page's faster choice). Threads: torch's default for
this process (all cores); the app's server process uses its share (explorer.device.configure_threads). Medians where the
run is repeated; VGG-16 runs once (it takes tens of seconds on a shared CPU).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("EXPLORER_DEVICE", "cpu")

from bench.common import median_seconds, report  # noqa: E402
from explorer.data.images import imagenet_preprocessing, preprocess  # noqa: E402
from explorer.data.samples import load_sample  # noqa: E402
from explorer.models import get_spec  # noqa: E402
from explorer.probe.attribution import DEFAULT_BATCH, attribute, bfloat16_is_fast, measure_pass  # noqa: E402

STEPS = 50
PROBE = 2


def timed(fn, repeats: int) -> float:
    return median_seconds(fn, repeats=repeats, warmup=0)  # runs are seconds long: no warm-up run


def bench_model(key: str, repeats: int, unbatched: bool, target: str, bf16: bool = True) -> None:
    spec = get_spec(key)
    torch.manual_seed(0)
    model = spec.build().eval()
    x = preprocess(load_sample("cat"), imagenet_preprocessing(224)).x
    with torch.no_grad():
        outputs = model(x).shape[-1]
    estimate = measure_pass(model, x, 0, PROBE) / PROBE * STEPS
    report(
        f"ig{STEPS}_{key}_estimate",
        estimate,
        "s",
        f"{spec.title}: price said before the run (one measured pass of {PROBE} inputs)",
    )

    def run(batch: int) -> None:
        attribute(
            model, x, 0, "integrated_gradients", steps=STEPS, batch_size=batch, outputs=outputs
        )

    t_batched = timed(lambda: run(DEFAULT_BATCH), repeats)
    report(
        f"ig{STEPS}_{key}",
        t_batched,
        "s",
        f"{spec.title}: integrated gradients, {STEPS} steps, {DEFAULT_BATCH} inputs per pass "
        f"(median of {repeats})",
        target=target,
    )
    if bf16 and bfloat16_is_fast("cpu"):
        t_bf16 = timed(
            lambda: attribute(
                model,
                x,
                0,
                "integrated_gradients",
                steps=STEPS,
                batch_size=DEFAULT_BATCH,
                outputs=outputs,
                precision="bfloat16",
            ),
            repeats,
        )
        report(
            f"ig{STEPS}_{key}_bfloat16",
            t_bf16,
            "s",
            f"{spec.title}: the same in bfloat16 (the page's faster choice on this CPU)",
            target=target,
        )
    if unbatched:
        t_one = timed(lambda: run(1), repeats)
        report(
            f"ig{STEPS}_{key}_unbatched", t_one, "s", f"{spec.title}: the same, one input per pass"
        )
        report(
            f"ig{STEPS}_{key}_batching_speedup",
            t_one / t_batched,
            "x",
            f"{spec.title}: one input per pass / {DEFAULT_BATCH} per pass",
        )


def bench_shared_model(key: str = "resnet18") -> None:
    """Another user of the same shared model while integrated gradients runs: how long their one
    forward pass waits for the model's lock (held one batch at a time, not for the whole run)."""
    import threading

    spec = get_spec(key)
    model = spec.build().eval()
    x = preprocess(load_sample("cat"), imagenet_preprocessing(224)).x
    lock = threading.Lock()
    done = threading.Event()

    def run() -> None:
        attribute(
            model,
            x,
            0,
            "integrated_gradients",
            steps=STEPS,
            batch_size=DEFAULT_BATCH,
            outputs=1000,
            hold=lambda: lock,
        )
        done.set()

    worker = threading.Thread(target=run)
    start = time.perf_counter()
    worker.start()
    waits = []
    time.sleep(0.2)
    while not done.is_set():
        asked = time.perf_counter()
        with lock, torch.no_grad():  # another session's capture of the same model
            waits.append(time.perf_counter() - asked)
            model(x)
        time.sleep(0.05)
    worker.join()
    total = time.perf_counter() - start
    report(
        f"ig{STEPS}_{key}_other_user_wait",
        max(waits) if waits else 0.0,
        "s",
        f"{spec.title}: the longest another session's forward pass waited for the model during the "
        f"{total:.1f} s run ({len(waits)} passes served; before: the whole run)",
    )


def main() -> None:
    torch.set_grad_enabled(True)
    print(f"CPU, {torch.get_num_threads()} threads, torch {torch.__version__}")
    quick = "--quick" in sys.argv[1:]  # one run each (a loaded machine)
    bench_model("resnet18", repeats=1 if quick else 3, unbatched=True, target="<= 2 s")
    bench_shared_model("resnet18")
    bench_model("vgg16", repeats=1, unbatched=False, target="<= 8 s")


if __name__ == "__main__":
    main()
