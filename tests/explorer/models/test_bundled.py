"""Every compact model offered with bundled weights ships them, and they reach the stated accuracy.

The accuracy is re-measured here on the recorded test split (regenerated from its own seed,
never seen in training) and compared with the file's metadata and with the README's table.
(The one home of these checks: a near-duplicate in tests/explorer/training/ was merged here.)
"""

from __future__ import annotations

import re

import pytest
import torch
from safetensors import safe_open

from explorer.data.datasets import get_dataset_info, load_dataset
from explorer.models import catalog, get_spec
from explorer.models.weights import BUNDLED_DIR, bundled_keys, bundled_path, load_bundled
from explorer.training.steps import evaluate

# Every compact CNN except the deep plain net, which exists to fail (nothing to ship).
NOT_BUNDLED = {"plain_deep"}
EXPECTED = [s.key for s in catalog(kind="cnn", compact=True) if s.key not in NOT_BUNDLED]
README = (BUNDLED_DIR / "README.md").read_text() if (BUNDLED_DIR / "README.md").is_file() else ""


def test_every_compact_model_ships_small_float16_weights() -> None:
    assert {
        "keras_cnn",
        "lenet5",
        "alexnet_small",
        "vgg_small",
        "nin_small",
        "googlenet_small",
        "resnet_small",
        "residual_deep",
    } <= set(EXPECTED)
    assert set(EXPECTED) <= set(bundled_keys())
    assert (BUNDLED_DIR / "README.md").is_file()  # the table the accuracy test reads
    for key in EXPECTED:
        path = bundled_path(key)
        assert path.stat().st_size < 4 * 2**20, (
            key
        )  # the course's Keras CNN is the largest (~3.1 MiB)
        with safe_open(str(path), framework="pt") as f:
            floats = {f.get_slice(k).get_dtype() for k in f.keys()} - {"I64"}  # noqa: SIM118 - not iterable
        assert floats == {"F16"}, (key, floats)


@pytest.mark.slow  # regenerates each test split and runs every model on it (~1-3 s a model on a free core)
@pytest.mark.parametrize("key", EXPECTED)
def test_bundled_weights_reach_the_stated_test_accuracy(key: str) -> None:
    model, meta = load_bundled(key)
    m = meta.metrics
    assert meta.arch == key and m["stored_dtype"] == "float16"
    # The sample the catalog suggests for this model is one like its training data.
    assert (
        get_spec(key).sample
        == {"digits": "digit", "shapes": "shapes", "circles_squares": "shapes"}[meta.dataset]
    )
    data = load_dataset(
        meta.dataset,
        seed=m["test_seed"],
        sizes=(1, 1, m["test_samples"]),
        difficulty=m["difficulty"],
    )
    assert list(meta.classes) == list(data.classes)
    binary = get_dataset_info(meta.dataset).task == "binary"
    with torch.random.fork_rng(devices=[]):
        _, acc, _ = evaluate(model, data.x_test, data.y_test, binary)
    assert acc == pytest.approx(m["test_accuracy"], abs=0.002), (acc, m["test_accuracy"])
    assert acc > 0.85, f"{key} barely learned: {acc:.1%}"  # chance: 50% (binary), 10-17% (others)
    # The README's table states the same figure.
    row = next((line for line in README.splitlines() if line.startswith(f"| `{key}` |")), "")
    stated = re.search(r"\|\s*(?:\*\*)?([\d.]+)%(?:\*\*)? on (\d+)", row)
    assert stated is not None, f"{key} is missing from assets/weights/README.md"
    assert float(stated.group(1)) == pytest.approx(100 * m["test_accuracy"], abs=0.006)
    assert int(stated.group(2)) == m["test_samples"]
