"""Train the bundled weights of the compact models on the project's own offline data.

    .venv/bin/python scripts/train_bundled.py            # all bundled models
    .venv/bin/python scripts/train_bundled.py lenet5     # just one

Fixed seeds make the runs reproducible on the CPU. Each model is trained with
``explorer.training.run_training`` (the same loop as the Training page), stored in float16
(half the size; accuracy is measured *after* the round trip), evaluated on a freshly
generated test split that never overlaps training, and written to
``assets/weights/<key>.safetensors`` in the checkpoint format of docs/interfaces.md with
``metrics.test_accuracy``. ``assets/weights/README.md`` gets the accuracy table.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from explorer.data.datasets import get_dataset_info, load_dataset  # noqa: E402
from explorer.models.checkpoint import (  # noqa: E402
    CheckpointMeta,
    model_from_checkpoint,
    read_meta,
    save_checkpoint,
)
from explorer.training.checkpoints import meta_from_result  # noqa: E402
from explorer.training.fit import evaluate, run_training  # noqa: E402
from explorer.training.settings import TrainSettings  # noqa: E402

OUT = ROOT / "assets" / "weights"

# key -> (settings, number of test images). Seeds fixed; sizes chosen to fit ~5 min on 2 cores.
BUNDLED: dict[str, tuple[TrainSettings, int]] = {
    "lenet5": (
        TrainSettings(model="lenet5", dataset="digits", optimizer="adam", lr=2e-3, batch_size=64, epochs=5,
                      schedule="onecycle", train_samples=10000, val_samples=1000, difficulty=0.5, seed=0,
                      device="cpu", augment=False),
        2000,
    ),
    "resnet_small": (
        TrainSettings(model="resnet_small", dataset="shapes", optimizer="adam", lr=3e-3, batch_size=64, epochs=3,
                      schedule="onecycle", train_samples=5000, val_samples=500, difficulty=0.5, seed=0,
                      device="cpu", augment=False),
        1000,
    ),
}  # fmt: skip


def half_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Floating tensors in float16 (halves the file); integer buffers unchanged."""
    return {k: (v.half() if v.is_floating_point() else v) for k, v in model.state_dict().items()}


def test_split(settings: TrainSettings, n_test: int):  # noqa: ANN201
    """The test split for ``settings``: drawn from its own seed, independent of the training size."""
    return load_dataset(settings.dataset, seed=settings.seed, sizes=(1, 1, n_test), difficulty=settings.difficulty)


def measure(model: torch.nn.Module, settings: TrainSettings, n_test: int) -> float:
    data = test_split(settings, n_test)
    binary = get_dataset_info(settings.dataset).task == "binary"
    _, acc, _ = evaluate(model.eval(), data.x_test, data.y_test, binary)
    return acc


def train_one(key: str) -> dict:
    settings, n_test = BUNDLED[key]
    torch.manual_seed(settings.seed)
    t0 = time.perf_counter()
    gen = run_training(settings)
    try:
        while True:
            next(gen)
    except StopIteration as stop:
        result = stop.value
    seconds = time.perf_counter() - t0
    # Round trip through the stored (float16) file and the app's own checkpoint reader, then
    # measure what we ship.
    meta = meta_from_result(result)
    state = half_state(result.model)
    shipped, _ = model_from_checkpoint(save_checkpoint(state, meta), arch=key)
    acc = measure(shipped, settings, n_test)
    metrics = {
        **meta.metrics, "test_accuracy": round(acc, 4), "test_samples": n_test,
        "test_seed": settings.seed, "difficulty": settings.difficulty, "train_seconds": round(seconds, 1),
        "stored_dtype": "float16",
    }  # fmt: skip
    final = CheckpointMeta(meta.arch, meta.build, meta.classes, meta.dataset, meta.settings, metrics)
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{key}.safetensors"
    path.write_bytes(save_checkpoint(state, final))
    print(f"{key}: test accuracy {acc:.2%} on {n_test} {meta.dataset} images, trained in {seconds:.0f} s, "
          f"{path.stat().st_size / 1024:.0f} KiB -> {path.relative_to(ROOT)}", flush=True)  # fmt: skip
    return {"key": key, "meta": final, "size": path.stat().st_size, "seconds": seconds}


def write_readme() -> None:
    rows = []
    for key in BUNDLED:
        path = OUT / f"{key}.safetensors"
        if not path.is_file():
            continue
        meta = read_meta(path.read_bytes())
        s = meta.settings
        rows.append(
            f"| `{key}` | {get_dataset_info(meta.dataset).title} (difficulty {s['difficulty']}) | "
            f"{s['train_samples']} x {s['epochs']} epochs, {s['optimizer']} lr {s['lr']:g} {s['schedule']} | "
            f"{meta.metrics['test_accuracy']:.2%} on {meta.metrics['test_samples']} | "
            f"{path.stat().st_size / 1024:.0f} KiB |"
        )
    text = f"""# Bundled weights

Small models trained by the project on its own offline data, so the Feature maps page shows
learned features without any download. Produced by

```
.venv/bin/python scripts/train_bundled.py
```

(fixed seeds, CPU; about 2.5 minutes on 2 busy cores: LeNet-5 ~1 min, compact ResNet ~1.5 min). Format: safetensors with the checkpoint
metadata of `docs/interfaces.md` under the key `explorer` (architecture, build arguments,
classes, dataset, settings, metrics). Floating tensors are stored in float16; the accuracy
below is measured after that round trip, on a test split generated from its own seed that
never overlaps training. `tests/explorer/training/test_bundled.py` regenerates the test split
and checks the figure. Inputs are images in [0, 1] without mean/std normalisation.

| model | trained on | schedule | test accuracy | size |
|---|---|---|---|---|
{chr(10).join(rows)}
"""
    (OUT / "README.md").write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("keys", nargs="*", help=f"models to train (default: all of {', '.join(BUNDLED)})")
    args = parser.parse_args()
    unknown = [k for k in args.keys if k not in BUNDLED]
    if unknown:
        parser.error(f"no bundled recipe for {unknown[0]!r}; known: {', '.join(BUNDLED)}")
    for key in args.keys or list(BUNDLED):
        train_one(key)
    write_readme()


if __name__ == "__main__":
    main()
