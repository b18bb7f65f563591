"""The sliding window's step view: server time and bytes per step.

One step is what the step view's fragment does on the server when the user presses Forward,
clicks an output cell, or the player ticks: build the step figure, validate and serialise it
as ``st.plotly_chart`` does (``return_figure_from_figure_or_data`` + ``plotly.io.to_json``),
and write the arithmetic. Bytes per step: the serialised figure plus the arithmetic text (the
fragment sends only these, never the page). Baseline measured in the same run: one full run of
the page in AppTest (what a step would cost if it reran the page).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import plotly.io as pio
import plotly.tools
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import median_seconds, report  # noqa: E402
from explorer.basics import KERNELS, sliding_steps, to_grey  # noqa: E402
from explorer.data.samples import DEFAULT_SAMPLE, load_sample  # noqa: E402
from explorer.viz.sliding_window import step_equation, step_figure  # noqa: E402


def _one_step(steps, k: int) -> int:
    fig = step_figure(steps, k)
    payload = pio.to_json(plotly.tools.return_figure_from_figure_or_data(fig, validate_figure=True))
    return len(payload.encode()) + len(step_equation(steps, k).encode())


def median_cpu_seconds(fn, repeats: int = 30, warmup: int = 3) -> float:
    """Median CPU time of ``fn()`` in this process: on a shared machine wall time also counts the
    time other processes held the cores, CPU time only this work."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return statistics.median(times)


def main() -> None:
    image = to_grey(load_sample(DEFAULT_SAMPLE).tensor, 12).to(torch.float64)
    kernel = KERNELS["vertical edges (Sobel x)"].tensor()
    for side, pad, label in [
        (8, 1, "8x8 input, P=1 (default)"),
        (12, 2, "12x12 input, P=2 (largest)"),
    ]:
        steps = sliding_steps(image[:side, :side], kernel, 1, pad, 1, 0.0)
        counter = iter(range(10**6))
        seconds = median_seconds(
            lambda s=steps, c=counter: _one_step(s, next(c) % len(s)), repeats=30, warmup=3
        )
        cpu = median_cpu_seconds(lambda s=steps, c=counter: _one_step(s, next(c) % len(s)))
        size = _one_step(steps, len(steps) // 2)
        name = "default" if side == 8 else "largest"
        report(
            f"basics_step_ms_{name}",
            seconds * 1000,
            "ms",
            f"Step view, one step, {label}",
            "<= 100 ms",
        )
        report(
            f"basics_step_cpu_ms_{name}",
            cpu * 1000,
            "ms",
            f"Step view, one step, CPU time, {label}",
            "<= 100 ms",
        )
        report(
            f"basics_step_kB_{name}", size / 1000, "kB", f"Step view, bytes sent per step, {label}"
        )
    steps_once = median_seconds(
        lambda: sliding_steps(image[:12, :12], kernel, 1, 2, 1, 0.0), repeats=30
    )
    report(
        "basics_all_steps_ms",
        steps_once * 1000,
        "ms",
        "All window positions of a 12x12 input, once",
    )

    from streamlit.testing.v1 import AppTest

    def full_run() -> None:
        at = AppTest.from_file(str(ROOT / "app_pages" / "basics.py"), default_timeout=120)
        at.run()

    page = median_seconds(full_run, repeats=3, warmup=1)
    report(
        "basics_full_page_ms",
        page * 1000,
        "ms",
        "Baseline: one full run of the basics page (AppTest)",
    )
    report(
        "basics_step_vs_page",
        seconds / page,
        "x",
        "One step against a full page run (wall time ratio)",
    )


if __name__ == "__main__":
    main()
