"""Per-image results without Streamlit: one overview pass, sharing across sessions, the
attribution cache key and the price said before a run."""

from __future__ import annotations

import pytest

from explorer.data.samples import load_sample
from explorer.probe import results
from explorer.probe.sources import random_model


@pytest.fixture(scope="module")
def lenet():
    lm = random_model("lenet5")
    return lm, results.compute_result(lm, load_sample("digit"))


def test_a_result_and_its_sessions(lenet) -> None:
    lm, res = lenet
    assert res.token == "lenet5|random|0" and tuple(res.model_input.x.shape) == (1, 1, 32, 32)
    assert res.strips == {} and len(res.pngs) == 0  # pictures are viz's (explorer.viz.result_pngs)
    other = res.for_session()
    assert other.maps is res.maps and other.pngs is res.pngs and other.lock is res.lock
    assert other.erf is not res.erf and other.attributions is not res.attributions
    assert results.is_shared(lm, load_sample("digit"))


def test_attribution_key_drops_steps_and_precision_of_one_pass_methods() -> None:
    assert results.attribution_key("integrated_gradients", 3, 16, "bfloat16") == (
        "integrated_gradients",
        3,
        16,
        "bfloat16",
    )
    assert results.attribution_key("saliency", 3, 16, "bfloat16") == ("saliency", 3, 0, "float32")


def test_the_price_of_a_run(lenet, monkeypatch: pytest.MonkeyPatch) -> None:
    lm, res = lenet
    monkeypatch.setattr(results, "_PASS_SECONDS", {})
    monkeypatch.setattr(results, "measure_pass", lambda *a, **k: 0.5)  # 0.25 s per input
    est = results.attribution_estimate(lm, res, "integrated_gradients", 40)
    assert (est.seconds, est.passes, est.from_run) == (10.0, 40, False)
    assert est.text("cpu") == f"about 10 s on this cpu: 40 steps in batches of {est.batch_size}"
    assert (
        results.AttributionEstimate(0.05, 1, 1, False).text("cpu")
        == "about a moment on this cpu: one pass"
    )
