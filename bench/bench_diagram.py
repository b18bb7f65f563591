"""Architecture diagrams: graph tracing on the meta device, server-side drawing and serialising,
and (with Chromium) the browser's render time of the two renderers that were compared:
a plotly figure laid out here versus Graphviz DOT through Streamlit's st.graphviz_chart.

    .venv/bin/python bench/bench_diagram.py            # everything (browser part needs Chromium)
    .venv/bin/python bench/bench_diagram.py --no-browser
"""

from __future__ import annotations

import os
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import median_seconds, report, start_streamlit  # noqa: E402
from explorer.models import get_spec  # noqa: E402
from explorer.probe.graph import catalog_graph  # noqa: E402
from explorer.probe.summary import summarize  # noqa: E402
from explorer.viz.diagram import figure, to_dot, to_png, to_svg  # noqa: E402

CASES = (
    ("resnet50", "blocks"),
    ("googlenet", "blocks"),
    ("googlenet", "layers"),
    ("resnet50", "layers"),
)


def bench_build() -> None:
    for key in ("resnet50", "googlenet"):
        catalog_graph(key)  # imports and torchvision's first build out of the way
        t_graph = median_seconds(lambda k=key: catalog_graph(k), repeats=7, warmup=1)
        spec = get_spec(key)
        t_summary = median_seconds(
            lambda s=spec: summarize(s.build, s.input_shape), repeats=5, warmup=1
        )
        report(
            f"graph_build_{key}",
            t_graph * 1e3,
            "ms",
            f"{key}: trace the graph on the meta device",
            "<= 300 ms",
        )
        report(
            f"graph_over_summary_{key}",
            t_graph / t_summary,
            "x",
            f"{key}: graph build / layer-table summary",
        )


def bench_serialise() -> None:
    for key, level in CASES:
        graph = catalog_graph(key)
        view = graph.view(level)
        t_view = median_seconds(lambda g=graph, lv=level: g.view(lv), repeats=10)
        t_plotly = median_seconds(lambda v=view: figure(v).to_json(), repeats=10)
        t_dot = median_seconds(lambda v=view: to_dot(v), repeats=10)
        size = len(figure(view).to_json())
        name = f"{key}_{level}"
        report(
            f"view_{name}",
            t_view * 1e3,
            "ms",
            f"{name}: group the graph for the view ({len(view.nodes)} boxes)",
        )
        report(
            f"plotly_serialise_{name}",
            t_plotly * 1e3,
            "ms",
            f"{name}: plotly figure built and JSON-serialised ({size / 1024:.0f} KiB)",
            "<= 100 ms",
        )
        report(
            f"dot_serialise_{name}",
            t_dot * 1e3,
            "ms",
            f"{name}: Graphviz DOT source (the alternative)",
        )
    view = catalog_graph("googlenet").view("layers")
    report(
        "svg_export_googlenet_layers",
        median_seconds(lambda: to_svg(view), repeats=5) * 1e3,
        "ms",
        "GoogLeNet (layers): standalone SVG",
    )
    report(
        "png_export_googlenet_layers",
        median_seconds(lambda: to_png(view, scale=2.0), repeats=3) * 1e3,
        "ms",
        "GoogLeNet (layers): PNG at 2x with Pillow",
    )


APP = """
import json, time
import plotly.io as pio
import streamlit as st
from explorer.probe.graph import catalog_graph
from explorer.viz.diagram import figure, to_dot

params = st.query_params
graph = catalog_graph(params["arch"]).view(params["level"])
if params["renderer"] == "plotly":
    st.plotly_chart(figure(graph), on_select="rerun", selection_mode="points", key="d")
else:
    st.graphviz_chart(to_dot(graph))
st.markdown("<span id='served'></span>", unsafe_allow_html=True)
"""


def bench_browser() -> None:
    """Time from the end of the server's run to the drawing in Chromium, both renderers."""
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not Path(chromium).exists():
        print("Chromium not found: browser timings skipped")
        return
    from playwright.sync_api import sync_playwright

    from bench.common import free_port, wait_healthy
    from tests.e2e.conftest import CHROMIUM_ARGS

    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "diagram_app.py"
        script.write_text(textwrap.dedent(APP))
        port = free_port()
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = start_streamlit(port, Path(tmp) / "server.log", env=env, script=script)
        try:
            wait_healthy(port)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=chromium, args=CHROMIUM_ARGS, headless=True
                )
                page = browser.new_page(viewport={"width": 1280, "height": 720})
                for key, level in (
                    ("googlenet", "layers"),
                    ("resnet50", "layers"),
                    ("resnet50", "blocks"),
                ):
                    n = len(catalog_graph(key).view(level).nodes)
                    for renderer, selector in (
                        ("plotly", ".scatterlayer .point"),
                        ("graphviz", '[data-testid="stGraphVizChart"] g.node'),
                    ):
                        times = []
                        for i in range(4):  # the first load fetches the renderer's code: not timed
                            page.goto(
                                f"http://127.0.0.1:{port}/?arch={key}&level={level}&renderer={renderer}"
                            )
                            page.wait_for_selector("#served", state="attached", timeout=120_000)
                            start = time.perf_counter()
                            page.wait_for_function(
                                f"document.querySelectorAll('{selector}').length >= {n}",
                                timeout=120_000,
                            )
                            if i:
                                times.append(time.perf_counter() - start)
                        times.sort()
                        report(
                            f"browser_{renderer}_{key}_{level}",
                            times[1] * 1e3,
                            "ms",
                            f"{key} ({level}, {n} boxes): {renderer} drawn after the page's script ended",
                            "<= 1000 ms",
                        )
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    bench_build()
    bench_serialise()
    if "--no-browser" not in sys.argv:
        bench_browser()
