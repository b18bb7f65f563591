"""Recurrent figures: a 1,000-step trace of a 2-layer LSTM (128 units) and its heatmaps.

Baseline measured in the same run: torch's fused nn.LSTM over the same sequence (no trace).
The trace is the fused path (torch's kernel per layer, gates recomputed in bulk); the explicit
step-by-step cells (the tested reference, and the trace before the fused path) are timed too.
Baseline and traces are interleaved round by round, so a load change on a shared machine hits
both alike; the ratio is the median of the per-round ratios.
Heatmap server time is what ``st.plotly_chart`` does on the server for each figure: build,
validate (``return_figure_from_figure_or_data``) and serialise (``plotly.io.to_json``).
"""

from __future__ import annotations

import pickle
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
from explorer.data.sequences import (  # noqa: E402
    MAX_STEPS,
    VOCAB_SIZE,
    display_char,
    encode_text,
    load_corpus,
)
from explorer.models.recurrent import build_recurrent, torch_twin  # noqa: E402
from explorer.probe.recurrent import gradient_flow, trace  # noqa: E402
from explorer.viz.recurrent import all_heatmaps, state_heatmap  # noqa: E402


def _server_side(fig) -> str:
    """What st.plotly_chart does with a figure before it leaves the server."""
    figure = plotly.tools.return_figure_from_figure_or_data(fig, validate_figure=True)
    return pio.to_json(figure, validate=False)


def main() -> None:
    torch.manual_seed(0)
    text = (load_corpus() * 2)[:MAX_STEPS]
    enc = encode_text(text)
    x = torch.nn.functional.one_hot(enc.ids, VOCAB_SIZE).float()  # 1000 x 80
    labels = [display_char(c) for c in enc.chars]
    net = build_recurrent("lstm", VOCAB_SIZE, 128, num_layers=2).eval()
    fused = torch_twin(net).eval()
    print(
        f"CPU threads: {torch.get_num_threads()}; sequence: {len(x)} steps x {VOCAB_SIZE} (one-hot)"
    )

    def fused_forward() -> None:
        with torch.no_grad():
            fused(x.unsqueeze(1))

    rounds: dict[str, list[float]] = {"fused": [], "trace": [], "explicit": []}
    work = {
        "fused": fused_forward,
        "trace": lambda: trace(net, x, labels),
        "explicit": lambda: trace(net, x, labels, method="explicit"),
    }
    for fn in work.values():
        fn()
    for _ in range(10):
        for key, fn in work.items():
            start = time.perf_counter()
            fn()
            rounds[key].append(time.perf_counter() - start)
    t_fused, t_trace, t_explicit = (
        statistics.median(rounds[k]) for k in ("fused", "trace", "explicit")
    )
    ratio = statistics.median(t / f for t, f in zip(rounds["trace"], rounds["fused"], strict=True))
    ratio_explicit = statistics.median(
        t / f for t, f in zip(rounds["explicit"], rounds["fused"], strict=True)
    )
    report(
        "lstm2x128_fused_forward_1000",
        t_fused * 1e3,
        "ms",
        "torch nn.LSTM forward, 2 layers x 128, 1000 steps (baseline, no trace)",
    )
    report(
        "lstm2x128_trace_1000",
        t_trace * 1e3,
        "ms",
        "trace from the fused kernel (i, f, g, o, c, h every step and layer), 1000 steps",
        "<= 2x the fused forward",
    )
    report(
        "trace_over_fused_ratio",
        ratio,
        "x",
        "trace / fused forward (median of paired rounds)",
        "<= 2",
    )
    report(
        "lstm2x128_trace_explicit_1000",
        t_explicit * 1e3,
        "ms",
        "explicit step-by-step cells (the reference), same trace",
    )
    report("trace_explicit_over_fused_ratio", ratio_explicit, "x", "explicit trace / fused forward")

    tr = trace(net, x, labels)
    blob = pickle.dumps(tr)  # st.cache_data stores a pickle and unpickles it on every hit
    t_hit = median_seconds(lambda: pickle.loads(blob), repeats=20, warmup=2)
    report(
        "trace_cache_hit",
        t_hit * 1e3,
        "ms",
        f"cache hit: unpickle the cached trace ({len(blob) / 2**20:.1f} MiB) on a rerun",
    )
    figures = all_heatmaps(tr)
    t_build = median_seconds(lambda: all_heatmaps(tr), repeats=10, warmup=2)
    t_server = median_seconds(
        lambda: [_server_side(f) for f in all_heatmaps(tr).values()], repeats=10, warmup=2
    )

    def one_layer() -> None:  # what the Heatmaps view shows at once: one layer's 6 quantities
        for name in tr.quantities:
            _server_side(state_heatmap(tr, name, layer=1))

    t_view = median_seconds(one_layer, repeats=10, warmup=2)
    size = sum(len(_server_side(f)) for f in figures.values())
    report(
        "heatmaps_build_12",
        t_build * 1e3,
        "ms",
        f"build all {len(figures)} heatmap figures (2 layers x 6 quantities, 1000 x 128 each)",
    )
    report(
        "heatmaps_server_12",
        t_server * 1e3,
        "ms",
        "build + validate + serialise all 12, as st.plotly_chart does",
        "<= 100 ms",
    )
    report(
        "heatmaps_server_view_6",
        t_view * 1e3,
        "ms",
        "the Heatmaps view (one layer: 6 figures), build + serialise",
    )
    report("heatmaps_json_12", size / 2**20, "MiB", "JSON sent for all 12 heatmaps", "<= 1.5 MiB")

    seq = x[:100]
    for cell in ("rnn", "gru", "lstm"):
        small = build_recurrent(cell, VOCAB_SIZE, 32)
        t_flow = median_seconds(lambda small=small: gradient_flow(small, seq), repeats=3, warmup=1)
        report(
            f"gradient_flow_{cell}32_100",
            t_flow * 1e3,
            "ms",
            f"gradient flow ||dy_T/dh_t|| for every t, {cell.upper()} 32 units, 100 steps",
        )


if __name__ == "__main__":
    main()
