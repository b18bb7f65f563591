"""The bundled weights load through the shared loader and reach their recorded test accuracy."""

from __future__ import annotations

import pytest

from explorer.data.datasets import get_dataset_info, load_dataset
from explorer.models.weights import BUNDLED_DIR, bundled_keys, load_bundled
from explorer.training.steps import evaluate

EXPECTED = ("lenet5", "resnet_small")


def test_the_promised_models_are_bundled_and_small():
    keys = bundled_keys()
    for key in EXPECTED:
        assert key in keys
        assert (BUNDLED_DIR / f"{key}.safetensors").stat().st_size < 2 * 2**20
    assert (BUNDLED_DIR / "README.md").is_file()


@pytest.mark.parametrize("key", EXPECTED)
def test_bundled_weights_reach_their_recorded_test_accuracy(key):
    model, meta = load_bundled(key)
    m = meta.metrics
    assert meta.arch == key and 0.5 < m["test_accuracy"] <= 1.0
    data = load_dataset(meta.dataset, seed=m["test_seed"], sizes=(1, 1, m["test_samples"]), difficulty=m["difficulty"])
    assert list(meta.classes) == list(data.classes)
    binary = get_dataset_info(meta.dataset).task == "binary"
    _, acc, _ = evaluate(model, data.x_test, data.y_test, binary)
    assert abs(acc - m["test_accuracy"]) <= 0.01, (acc, m["test_accuracy"])
