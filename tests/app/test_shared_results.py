"""Results for shared inputs are computed once per process (issue 19, class scale): two sessions
on a sample image share one result; an upload stays its owner's; the shared parts are safe
under concurrent sessions; the heap freeze that keeps Streamlit's per-run GC cheap."""

from __future__ import annotations

import gc
import io
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from explorer.data.decode import decode_image
from explorer.data.samples import list_samples, load_sample
from explorer.ui import image_results
from explorer.ui.weight_sources import SHARED_KINDS, model_with_weights
from explorer.viz import result_pngs

PAGE = str(Path(__file__).resolve().parents[2] / "app_pages" / "feature_maps.py")


def _results(at: AppTest) -> list[image_results.FeatureResult]:
    return list(at.session_state[image_results._RESULTS_KEY].values())


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tokens of every result computed (cold shared cache)."""
    calls: list[str] = []
    real = image_results.compute_result

    def counting(lm, image):
        calls.append(lm.token)
        return real(lm, image)

    monkeypatch.setattr(image_results, "compute_result", counting)
    image_results._shared_result.clear()
    return calls


def _page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=90)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_two_sessions_on_a_sample_share_one_result(counted: list[str]) -> None:
    a, b = _page(), _page()
    assert len(counted) == 1  # the second session computed nothing
    (ra,), (rb,) = _results(a), _results(b)
    assert ra.maps is rb.maps and ra.pngs is rb.pngs and ra.lock is rb.lock
    assert (
        ra.attributions is not rb.attributions and ra.erf is not rb.erf
    )  # a user's clicks stay theirs
    a.radio(key="fm_view").set_value("Layer detail").run()
    b.radio(key="fm_view").set_value("Layer detail").run()
    assert not a.exception and not b.exception
    assert len(ra.pngs) == 1  # the same layer, sort and scale on both screens: one montage PNG made


def test_an_upload_is_not_shared(counted: list[str]) -> None:
    rng = np.random.default_rng(3)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (48, 64, 3), np.uint8)).save(buf, "PNG")
    sessions = []
    for _ in range(2):
        at = _page()
        at.radio(key="fm_source").set_value("Upload").run()
        at.file_uploader(key="fm_upload").set_value(("mine.png", buf.getvalue(), "image/png")).run()
        assert not at.exception, [e.value for e in at.exception]
        sessions.append(at)
    assert len(counted) == 3  # the sample once (shared), the same upload once per session
    upload_a, upload_b = (_results(at)[-1] for at in sessions)
    assert upload_a.maps is not upload_b.maps


def test_what_is_shared() -> None:
    lm = model_with_weights("lenet5", "random")
    assert lm.kind in SHARED_KINDS
    sample = load_sample(list_samples()[0].name)
    assert image_results.is_shared(lm, sample)
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 10, 10)).save(buf, "PNG")
    assert not image_results.is_shared(lm, decode_image(buf.getvalue()))  # not a sample
    assert {"user", "upload"}.isdisjoint(SHARED_KINDS)  # a user's own model is never shared


def test_a_shared_result_makes_each_png_once_under_concurrent_sessions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lm = model_with_weights("lenet5", "random")
    res = image_results.compute_result(lm, load_sample("digit"))
    made: list[str] = []
    real = result_pngs.montage_png

    def counting(*args, **kwargs):
        made.append("png")
        return real(*args, **kwargs)

    monkeypatch.setattr(result_pngs, "montage_png", counting)
    layer = res.maps.names()[1]
    sessions = [res.for_session() for _ in range(8)]
    out: list[bytes] = []
    threads = [
        threading.Thread(
            target=lambda r=r: out.append(
                result_pngs.result_montage_png(r, layer, "mean", "viridis")
            )
        )
        for r in sessions
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(out) == 8 and len(set(out)) == 1 and made == ["png"]


def test_freeze_loaded_moves_what_is_loaded_out_of_the_collections() -> None:
    from explorer.ui import heap, process_state

    process_state.gc_frozen_at = 0
    assert heap.freeze_loaded() is True
    assert gc.get_freeze_count() > 0
    assert heap.freeze_loaded() is False  # nothing new since: no second collection
