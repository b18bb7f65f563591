"""Importing users' model files (issue 20): wall time including the parsing process, and the
converted ResNet-18's forward against torchvision's own.

- ``import_keras_course_cnn``: assets/models/course_cnn.keras (the course's Keras CNN, 1.6 M
  weights) through ``explorer.models.imports.import_model``: spawned child with its limits,
  zip + JSON + HDF5 parsing, conversion, the parent's checks. Median of 3.
- ``import_onnx_resnet18``: torchvision's ResNet-18 (random weights, 224x224) exported to ONNX
  here, imported the same way. Median of 3.
- ``forward_resnet18_converted_ratio``: median forward time of the converted model over
  torchvision's ResNet-18 with the same weights, on the same 1x3x224x224 input, timed
  alternately (target <= 1.10).
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import median_seconds, report  # noqa: E402
from explorer.models.imports import import_model  # noqa: E402


def resnet18_onnx() -> tuple[torch.nn.Module, bytes]:
    import torchvision

    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None).eval()
    buf = io.BytesIO()
    torch.onnx.export(
        model,
        torch.randn(1, 3, 224, 224),
        buf,
        dynamo=False,
        input_names=["x"],
        output_names=["y"],
        dynamic_axes={"x": {0: "n"}, "y": {0: "n"}},
    )
    return model, buf.getvalue()


def interleaved(a, b, repeats: int = 21) -> tuple[float, float]:
    """Medians of ``a()`` and ``b()`` timed alternately, so that load from other work on the
    machine falls on both alike (2 shared cores: back-to-back blocks drift)."""
    import statistics
    import time

    for _ in range(3):
        a(), b()
    ta, tb = [], []
    for _ in range(repeats):
        for fn, out in ((a, ta), (b, tb)):
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    return statistics.median(ta), statistics.median(tb)


def main() -> None:
    torch.set_num_threads(max(1, torch.get_num_threads()))
    keras_file = ROOT / "assets" / "models" / "course_cnn.keras"
    data = keras_file.read_bytes()
    seconds = median_seconds(lambda: import_model(data, keras_file.name), repeats=3, warmup=1)
    report(
        "import_keras_course_cnn",
        seconds,
        "s",
        "Import of the course's Keras CNN (.keras, child process included)",
        "<= 2 s on 2 cores",
    )

    reference, onnx_bytes = resnet18_onnx()
    seconds = median_seconds(lambda: import_model(onnx_bytes, "resnet18.onnx"), repeats=3, warmup=1)
    report(
        "import_onnx_resnet18",
        seconds,
        "s",
        "Import of ResNet-18 as ONNX (child process included)",
        "<= 2 s on 2 cores",
    )

    converted = import_model(onnx_bytes, "resnet18.onnx").build()
    x = torch.randn(1, 3, 224, 224)
    with torch.inference_mode():
        assert (converted(x) - reference(x)).abs().max().item() < 1e-3
        ours, theirs = interleaved(lambda: converted(x), lambda: reference(x))
    report(
        "forward_resnet18_torchvision",
        theirs,
        "s",
        "Forward of torchvision's ResNet-18 (1x3x224x224)",
    )
    report(
        "forward_resnet18_converted", ours, "s", "Forward of the converted ResNet-18 (same input)"
    )
    report(
        "forward_resnet18_converted_ratio",
        ours / theirs,
        "x",
        "Converted over torchvision",
        "<= 1.10x",
    )


if __name__ == "__main__":
    main()
