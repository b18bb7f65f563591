"""Bytes a page sends to the browser per rerun, measured on the real pages with AppTest.

Each rerun sends the page's elements as protobuf deltas over the websocket (a plotly chart
carries its figure as JSON, exactly ``plotly.io.to_json`` of the validated figure; nothing is
compressed) and registers its images with the media file manager, which the browser then
fetches over HTTP. Both are counted: the sum of every element's protobuf size, and the bytes
of every media file added during the rerun.

1. Recurrent page, Heatmaps view of a 1,000-character text through a 2-layer LSTM of 128
   units (one layer's 6 heatmaps at once), and the 12 heatmaps of both layers serialised
   as st.plotly_chart does (the issue's measure).
2. Feature maps page, Overview of VGG-16 (random weights) on the default sample.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("EXPLORER_DEVICE", "cpu")

import plotly.io as pio  # noqa: E402
import plotly.tools  # noqa: E402
import torch  # noqa: E402
from streamlit.runtime.media_file_manager import MediaFileManager  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from bench.common import report  # noqa: E402
from explorer.data.sequences import MAX_STEPS, load_corpus  # noqa: E402

MiB = 2**20


class MediaCounter:
    """Counts the bytes of media files (st.image...) that pages register, by wrapping add()."""

    def __init__(self) -> None:
        self.bytes = 0
        self.files = 0
        self._original = MediaFileManager.add

    def __enter__(self) -> MediaCounter:
        counter = self

        def add(mgr, path_or_data, *args, **kwargs):
            if isinstance(path_or_data, (bytes, bytearray)):
                counter.bytes += len(path_or_data)
                counter.files += 1
            return counter._original(mgr, path_or_data, *args, **kwargs)

        MediaFileManager.add = add  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        MediaFileManager.add = self._original  # type: ignore[method-assign]


def delta_bytes(at: AppTest) -> tuple[int, int]:
    """(bytes of every element's protobuf, bytes of the plotly JSON among them)."""
    total = plotly = 0

    def walk(node) -> None:
        nonlocal total, plotly
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            for child in children.values():
                walk(child)
            return
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "ByteSize"):
            total += proto.ByteSize()
            if getattr(node, "type", "") == "plotly_chart":
                plotly += len(proto.spec)

    walk(at._tree)
    return total, plotly


def rerun_bytes(at: AppTest) -> tuple[int, int, int]:
    """Run once more (a rerun with nothing changed) and count what it sends."""
    with MediaCounter() as media:
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    total, plotly = delta_bytes(at)
    return total, plotly, media.bytes


def open_page(page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.run()
    at.switch_page(page)
    at.run()
    return at


def recurrent() -> None:
    at = open_page("app_pages/recurrent.py")
    at.slider(key="rec_hidden").set_value(128).run()
    at.slider(key="rec_layers").set_value(2).run()
    text = (load_corpus() * 2)[:MAX_STEPS]
    at.text_area(key="rec_text").input(text).run()
    total, plotly_json, media = rerun_bytes(at)
    charts = len(at.get("plotly_chart"))
    report(
        "payload_recurrent_heatmaps_view",
        (total + media) / MiB,
        "MiB",
        f"Recurrent page, Heatmaps view, 1,000 steps x 128 units ({charts} charts): sent per rerun",
    )
    report("payload_recurrent_plotly_json", plotly_json / MiB, "MiB", "... of which plotly JSON")

    # The measure: all 12 heatmaps (2 layers x 6 quantities), serialised as
    # st.plotly_chart does, from the same kind of trace the page computes.
    from explorer.data.sequences import VOCAB_SIZE, display_char, encode_text
    from explorer.models.recurrent import build_recurrent
    from explorer.probe.recurrent import trace
    from explorer.viz.recurrent import all_heatmaps

    torch.manual_seed(0)
    enc = encode_text(text)
    x = torch.nn.functional.one_hot(enc.ids, VOCAB_SIZE).float()
    tr = trace(
        build_recurrent("lstm", VOCAB_SIZE, 128, num_layers=2).eval(),
        x,
        [display_char(c) for c in enc.chars],
    )
    size = sum(
        len(
            pio.to_json(
                plotly.tools.return_figure_from_figure_or_data(f, validate_figure=True),
                validate=False,
            )
        )
        for f in all_heatmaps(tr).values()
    )
    report(
        "payload_heatmaps_12",
        size / MiB,
        "MiB",
        "12 heatmaps of the 1,000 x 128 trace as st.plotly_chart sends them",
        target="<= 1.5 MiB",
    )


def feature_maps() -> None:
    at = open_page("app_pages/feature_maps.py")
    at.selectbox(key="fm_arch").set_value("vgg16").run()
    if at.radio(key="fm_kind").value != "random":
        at.radio(key="fm_kind").set_value("random").run()
    total, _, media = rerun_bytes(at)
    report(
        "payload_feature_maps_vgg16_overview",
        (total + media) / MiB,
        "MiB",
        f"Feature maps page, VGG-16 overview: sent per rerun ({media / MiB:.2f} MiB of images)",
        target="<= 1 MiB",
    )


def main() -> None:
    print(f"CPU, {torch.get_num_threads()} threads, torch {torch.__version__}")
    recurrent()
    feature_maps()


if __name__ == "__main__":
    main()
