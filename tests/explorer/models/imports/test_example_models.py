"""The shipped try-it files (assets/models, made by scripts/make_example_models.py) import and work."""

from __future__ import annotations

from pathlib import Path

import torch

from explorer.data.synthetic import make_shapes
from explorer.models.imports import import_model_file

ASSETS = Path(__file__).resolve().parents[4] / "assets" / "models"


def test_course_cnn_keras_tells_circles_from_squares():
    imported = import_model_file(ASSETS / "course_cnn.keras", isolate=False)
    assert imported.input_shape == (3, 64, 64) and imported.pixel_range == (0.0, 255.0)
    assert [n.name for n in imported.spec.nodes] == [
        "rescaling",
        "conv1",
        "pool1",
        "conv2",
        "pool2",
        "flatten",
        "dense",
        "output",
    ]
    assert all(path.stat().st_size < 2 * 2**20 for path in ASSETS.iterdir())
    x, y = make_shapes(200, classes=("circle", "square"), size=64, difficulty=0.3, seed=7)
    with torch.no_grad():
        p = imported.build()(x * 255).squeeze(1)
    assert ((p > 0.5).long() == y).float().mean() > 0.9


def test_googlenet_onnx_carries_its_classes():
    imported = import_model_file(ASSETS / "googlenet_small.onnx", isolate=False)
    assert imported.classes == [str(d) for d in range(10)]
    assert imported.input_shape[0] == 1 and imported.source == "onnx"
    assert any(n.op == "concat" for n in imported.spec.nodes)  # the Inception branches
