"""What validating a checkpoint before building costs, and what refusing a hostile one costs.

- Loading the bundled compact ResNet through the one reader (header, allow-list, meta-device
  plan, shape and finite checks) against the bare path it replaced (safetensors load, build,
  strict load): median of each and their ratio, measured in the same run.
- Refusing the issue's 156-byte file (Keras CNN at image_size 700) and an in-bounds variant
  whose header lacks the tensors: median time per refusal.
- A first, uncached plan of ResNet-50 on the meta device (what a new upload of it pays once).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import median_seconds, report  # noqa: E402
from explorer.models import get_spec, plan  # noqa: E402
from explorer.models.checkpoint import CheckpointError, model_from_checkpoint  # noqa: E402
from explorer.models.weights import bundled_path  # noqa: E402


def bare(data: bytes) -> torch.nn.Module:
    """The path before this module: no checks but the strict load itself."""
    from safetensors import safe_open
    from safetensors.torch import load

    state = load(data)
    with safe_open(str(bundled_path("resnet_small")), "pt") as f:
        meta = json.loads(f.metadata()["explorer"])
    model = get_spec(meta["arch"]).build(**meta["build"])
    model.load_state_dict(state, strict=True)
    return model.eval()


def refuse(data: bytes) -> None:
    try:
        model_from_checkpoint(data)
    except CheckpointError:
        return
    raise AssertionError("not refused")


def hostile(build: dict) -> bytes:
    from safetensors.torch import save

    return save(
        {"x": torch.zeros(1)},
        metadata={"explorer": json.dumps({"arch": "keras_cnn", "build": build})},
    )


def main() -> None:
    data = bundled_path("resnet_small").read_bytes()
    checked = median_seconds(lambda: model_from_checkpoint(data, arch="resnet_small"), repeats=15)
    baseline = median_seconds(lambda: bare(data), repeats=15)
    report(
        "checkpoint_load_validated_ms",
        checked * 1e3,
        "ms",
        "bundled compact ResNet through the one reader",
    )
    report(
        "checkpoint_load_bare_ms",
        baseline * 1e3,
        "ms",
        "the same file, bare safetensors + build + load",
    )
    report("checkpoint_validation_ratio", checked / baseline, "x", "validated / bare (same run)")
    for name, build in (
        ("image_size_700", {"image_size": 700}),
        ("image_size_256", {"image_size": 256}),
    ):
        blob = hostile(build)
        t = median_seconds(lambda b=blob: refuse(b), repeats=50)
        report(
            f"checkpoint_refuse_{name}_ms",
            t * 1e3,
            "ms",
            f"refusing the {len(blob)}-byte file with {build}",
        )
    plan._measure.cache_clear()
    t = median_seconds(
        lambda: (plan._measure.cache_clear(), plan.plan_model("resnet50", {})), repeats=5, warmup=1
    )
    report("checkpoint_plan_resnet50_ms", t * 1e3, "ms", "uncached meta-device plan of ResNet-50")


if __name__ == "__main__":
    main()
