"""Train the bundled weights of the compact models on the project's own offline data.

    nice -n 10 .venv/bin/python scripts/train_bundled.py            # all bundled models
    nice -n 10 .venv/bin/python scripts/train_bundled.py lenet5     # just one
    .venv/bin/python scripts/train_bundled.py --readme              # only rewrite the table

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
from explorer.training.events import drain  # noqa: E402
from explorer.training.fit import run_training  # noqa: E402
from explorer.training.settings import TrainSettings, default_settings  # noqa: E402
from explorer.training.steps import evaluate  # noqa: E402

OUT = ROOT / "assets" / "weights"


# key -> (settings, number of test images). The Training page's own defaults for each model
# (explorer.training.settings.default_settings), with a fixed seed, the CPU, difficulty 0.5 and
# budgets sized to a few minutes on 2 busy cores. Compact nets without batch norm learn on the
# printed digits (they stay at chance for longer on the shapes), so that is what they ship with.
def _recipe(model: str, dataset: str | None = None, **changes: object) -> TrainSettings:
    base = dict(seed=0, device="cpu", difficulty=0.5, augment=False)
    return default_settings(model, dataset, **{**base, **changes})


BUNDLED: dict[str, tuple[TrainSettings, int]] = {
    "keras_cnn": (_recipe("keras_cnn", train_samples=3000, epochs=5), 500),
    "lenet5": (
        TrainSettings(
            model="lenet5",
            dataset="digits",
            optimizer="adam",
            lr=2e-3,
            batch_size=64,
            epochs=5,
            schedule="onecycle",
            train_samples=10000,
            val_samples=1000,
            difficulty=0.5,
            seed=0,
            device="cpu",
            augment=False,
        ),
        2000,
    ),
    "alexnet_small": (_recipe("alexnet_small", train_samples=6000, epochs=4), 1000),
    # Without batch norm VGG learns the shapes slowly at difficulty 0.5 (59% after 4000 x 5 epochs);
    # on the printed digits it learns in a few epochs, like the other compact nets without BN.
    "vgg_small": (_recipe("vgg_small", "digits", train_samples=6000, epochs=3), 1000),
    "nin_small": (_recipe("nin_small", train_samples=6000, epochs=5), 1000),
    "googlenet_small": (_recipe("googlenet_small", train_samples=4000, epochs=6), 1000),
    "resnet_small": (
        TrainSettings(
            model="resnet_small",
            dataset="shapes",
            optimizer="adam",
            lr=3e-3,
            batch_size=64,
            epochs=3,
            schedule="onecycle",
            train_samples=5000,
            val_samples=500,
            difficulty=0.5,
            seed=0,
            device="cpu",
            augment=False,
        ),
        1000,
    ),
    "residual_deep": (_recipe("residual_deep"), 1000),  # the Training page default: 4000 x 4 epochs
}


def half_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Floating tensors in float16 (halves the file); integer buffers unchanged."""
    return {k: (v.half() if v.is_floating_point() else v) for k, v in model.state_dict().items()}


def test_split(settings: TrainSettings, n_test: int):
    """The test split for ``settings``: drawn from its own seed, independent of the training size."""
    return load_dataset(
        settings.dataset, seed=settings.seed, sizes=(1, 1, n_test), difficulty=settings.difficulty
    )


def measure(model: torch.nn.Module, settings: TrainSettings, n_test: int) -> float:
    data = test_split(settings, n_test)
    binary = get_dataset_info(settings.dataset).task == "binary"
    _, acc, _ = evaluate(model.eval(), data.x_test, data.y_test, binary)
    return acc


def train_one(key: str) -> dict:
    settings, n_test = BUNDLED[key]
    torch.manual_seed(settings.seed)
    t0 = time.perf_counter()
    _, result = drain(run_training(settings))
    seconds = time.perf_counter() - t0
    # Round trip through the stored (float16) file and the app's own checkpoint reader, then
    # measure what we ship.
    meta = meta_from_result(result)
    state = half_state(result.model)
    shipped, _ = model_from_checkpoint(save_checkpoint(state, meta), arch=key)
    acc = measure(shipped, settings, n_test)
    metrics = {
        **meta.metrics,
        "test_accuracy": round(acc, 4),
        "test_samples": n_test,
        "test_seed": settings.seed,
        "difficulty": settings.difficulty,
        "train_seconds": round(seconds, 1),
        "stored_dtype": "float16",
    }
    final = CheckpointMeta(
        meta.arch, meta.build, meta.classes, meta.dataset, meta.settings, metrics
    )
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{key}.safetensors"
    path.write_bytes(save_checkpoint(state, final))
    print(
        f"{key}: test accuracy {acc:.2%} on {n_test} {meta.dataset} images, trained in {seconds:.0f} s, "
        f"{path.stat().st_size / 1024:.0f} KiB -> {path.relative_to(ROOT)}",
        flush=True,
    )
    return {"key": key, "meta": final, "size": path.stat().st_size, "seconds": seconds}


def write_readme() -> None:
    rows = []
    for key in BUNDLED:
        path = OUT / f"{key}.safetensors"
        if not path.is_file():
            continue
        meta = read_meta(path.read_bytes())
        s, m = meta.settings, meta.metrics
        rows.append(
            f"| `{key}` | {get_dataset_info(meta.dataset).title}, difficulty {s['difficulty']} | "
            f"{s['train_samples']} images x {s['epochs']} epochs, batch {s['batch_size']}, {s['optimizer']} "
            f"lr {s['lr']:g} {s['schedule']}, seed {s['seed']} | "
            f"**{m['test_accuracy']:.2%}** on {m['test_samples']} | {m.get('train_seconds', 0):.0f} s | "
            f"{m.get('stored_dtype', 'float16')}, {path.stat().st_size / 1024:.0f} KiB |"
        )
    text = f"""# Bundled weights

Every compact model that the Feature maps page offers with "bundled weights" is trained by the
project on its own offline data, so the page shows learned features without any download.
Produced, one model after the other, by

```
nice -n 10 .venv/bin/python scripts/train_bundled.py             # every model below
nice -n 10 .venv/bin/python scripts/train_bundled.py vgg_small   # just one
```

Each recipe is the Training page's own default for the model (`default_settings`) with a fixed
seed, the CPU, difficulty 0.5 and a budget of a few minutes on 2 shared cores (the times below
were measured on such a machine, while other work ran). Same seed, same torch and the same CPU
give the same file; another CPU may differ in the last digits of the weights.

Format: safetensors with the checkpoint metadata of `docs/interfaces.md` under the key `explorer`
(architecture, build arguments, classes, dataset, settings, metrics). Floating tensors are
stored in float16, which halves the files; the accuracy below is measured *after* that round
trip, on a test split generated from its own seed that never overlaps training.
`tests/explorer/models/test_bundled.py` loads every file, regenerates its test split and checks
the figure. Inputs are images in [0, 1] without mean/std normalisation.

| model | trained on | recipe | test accuracy | training time | stored |
|---|---|---|---|---|---|
{chr(10).join(rows)}

Not bundled: the deep plain CNN (`plain_deep`). It exists to show a 20-layer network without
shortcuts or batch norm that does not learn; trained weights at chance level would teach nothing,
so the page offers it with random weights (and the Training page shows it failing live).
"""
    (OUT / "README.md").write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "keys", nargs="*", help=f"models to train (default: all of {', '.join(BUNDLED)})"
    )
    parser.add_argument(
        "--readme", action="store_true", help="only rewrite assets/weights/README.md"
    )
    args = parser.parse_args()
    if args.readme:
        write_readme()
        return
    unknown = [k for k in args.keys if k not in BUNDLED]
    if unknown:
        parser.error(f"no bundled recipe for {unknown[0]!r}; known: {', '.join(BUNDLED)}")
    for key in args.keys or list(BUNDLED):
        train_one(key)
    write_readme()


if __name__ == "__main__":
    main()
