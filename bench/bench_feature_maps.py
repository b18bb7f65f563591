"""Feature-map page figures, on CPU at 224 x 224, for ResNet-18 and VGG-16 (random weights).

1. New image -> all-layers overview data (preprocess, one forward pass whose hooks keep
   statistics and the 8 strongest tiles per layer, one PNG strip per layer): exactly the
   page's ``compute_result``, as a ratio to one plain forward pass measured in the same run
   (target <= 1.8).
2. The first view that needs full maps (Layer detail...): one more captured pass keeping
   every layer's uint8 tiles and float16 values, once per image.
3. Switch to another layer's detail from the cached result (channel order, coloured montage,
   PNG bytes, statistics panel numbers): median over every layer (target <= 30 ms).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("EXPLORER_DEVICE", "cpu")

from bench.common import report  # noqa: E402
from explorer.data.images import imagenet_preprocessing, preprocess  # noqa: E402
from explorer.data.samples import load_sample  # noqa: E402
from explorer.models import get_spec  # noqa: E402
from explorer.probe.results import FeatureResult, compute_result  # noqa: E402
from explorer.probe.sources import LoadedModel  # noqa: E402
from explorer.probe.stats import compute_feature_maps, layer_overview  # noqa: E402
from explorer.viz.result_pngs import DEFAULT_SCALE, draw_strips, result_montage_png  # noqa: E402


def bench_model(key: str, repeats: int) -> None:
    spec = get_spec(key)
    torch.manual_seed(0)
    model = spec.build().eval()
    lm = LoadedModel(
        model=model,
        arch=key,
        kind="random",
        label=f"{spec.title} (random)",
        token=f"{key}|bench",
        prep=imagenet_preprocessing(224),
        classes=None,
        head_meaningful=False,
    )
    image = load_sample("cat")
    x = preprocess(image, lm.prep).x

    def plain() -> None:
        with torch.no_grad():
            model(x)

    # Interleave the baseline and the measured work so that a load change on a shared
    # machine hits both alike; the ratio is the median of the per-round ratios.
    def capture_all() -> None:
        """The overview as it was before the one-pass summary: every layer cloned, all tiles
        and float16 values kept, strips cut from the full tiles."""
        full = FeatureResult(
            token=lm.token,
            model_input=preprocess(image, lm.prep),
            maps=compute_feature_maps(model, x),
        )
        draw_strips(full)

    plain()
    draw_strips(compute_result(lm, image))
    capture_all()
    t_plain, t_over, t_all = [], [], []
    for _ in range(repeats):
        start = time.perf_counter()
        plain()
        t_plain.append(time.perf_counter() - start)
        start = time.perf_counter()
        res = draw_strips(compute_result(lm, image))  # what the page computes for a new image
        t_over.append(time.perf_counter() - start)
        start = time.perf_counter()
        capture_all()
        t_all.append(time.perf_counter() - start)
    ratio = statistics.median(o / p for o, p in zip(t_over, t_plain, strict=True))
    ratio_all = statistics.median(o / p for o, p in zip(t_all, t_plain, strict=True))
    report(
        f"feature_maps_{key}_forward",
        statistics.median(t_plain) * 1e3,
        "ms",
        f"{spec.title}: one plain forward pass (median of {repeats})",
    )
    report(
        f"feature_maps_{key}_overview",
        statistics.median(t_over) * 1e3,
        "ms",
        f"{spec.title}: new image -> overview data ({len(res.maps.layers)} layers, "
        f"{res.maps.nbytes / 2**20:.1f} MiB kept)",
    )
    report(
        f"feature_maps_{key}_overview_ratio",
        ratio,
        "x",
        f"{spec.title}: overview / plain forward, median of paired rounds",
        target="<= 1.8",
    )
    report(
        f"feature_maps_{key}_capture_all_ratio",
        ratio_all,
        "x",
        f"{spec.title}: the previous overview (capture and keep every layer) / plain forward, "
        "same rounds",
    )
    start = time.perf_counter()
    res.maps.full()
    report(
        f"feature_maps_{key}_full_capture",
        (time.perf_counter() - start) * 1e3,
        "ms",
        f"{spec.title}: full maps for the first detail view, once per image "
        f"({res.maps.nbytes / 2**20:.1f} MiB kept then)",
    )

    # Switching: each layer once, on a result whose montage cache is cold.
    times = []
    for name in res.maps.names():
        start = time.perf_counter()
        res.order(name, "variance")
        result_montage_png(res, name, "variance", DEFAULT_SCALE)
        layer_overview(res.maps.get(name).stats)
        times.append(time.perf_counter() - start)
    report(
        f"feature_maps_{key}_switch_layer",
        statistics.median(times) * 1e3,
        "ms",
        f"{spec.title}: switch to another layer's detail (median over layers; slowest "
        f"{max(times) * 1e3:.1f} ms)",
        target="<= 30 ms",
    )
    start = time.perf_counter()
    result_montage_png(res, res.maps.names()[0], "variance", DEFAULT_SCALE)
    report(
        f"feature_maps_{key}_switch_back",
        (time.perf_counter() - start) * 1e3,
        "ms",
        f"{spec.title}: back to a layer already shown (cached PNG)",
    )


def main() -> None:
    torch.set_grad_enabled(True)
    print(f"CPU, {torch.get_num_threads()} threads, torch {torch.__version__}")
    bench_model("resnet18", repeats=9)
    bench_model("vgg16", repeats=5)


if __name__ == "__main__":
    main()
