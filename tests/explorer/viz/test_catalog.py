"""The catalog figures: every layer named on a category axis, every architecture a point."""

from explorer.viz.catalog import compute_bars, params_against_macs
from explorer.viz.theme import PROJECTOR_PX


def test_compute_bars_keep_every_layer_in_network_order() -> None:
    records = [
        {"layer": "C1", "MACs": 117_600},
        {"layer": "C3", "MACs": 240_000},
        {"layer": "F5", "MACs": 48_000},
    ]
    fig = compute_bars(records)
    assert list(fig.data[0].y) == ["C1", "C3", "F5"]
    assert list(fig.data[0].x) == [117_600, 240_000, 48_000]
    assert fig.layout.yaxis.type == "category"  # "0, 3, 7" must not become a number line


def test_params_against_macs_is_log_log_with_a_point_per_architecture() -> None:
    rows = [
        {"architecture": "AlexNet", "params": 61_100_840, "MACs": 714_000_000, "year": 2012},
        {"architecture": "ResNet-18", "params": 11_689_512, "MACs": 1_814_000_000, "year": 2015},
    ]
    fig = params_against_macs(rows)
    assert list(fig.data[0].text) == ["AlexNet", "ResNet-18"]
    assert (fig.layout.xaxis.type, fig.layout.yaxis.type) == ("log", "log")


def test_compute_bars_ticks_are_projector_readable() -> None:
    records = [{"layer": f"conv{i}", "MACs": 1000 * i} for i in range(1, 41)]
    fig = compute_bars(records)
    assert fig.layout.yaxis.tickfont.size == PROJECTOR_PX == 16
    assert fig.layout.xaxis.tickfont.size == PROJECTOR_PX
    plot_height = fig.layout.height - fig.layout.margin.t - fig.layout.margin.b
    # every layer's row is taller than its name: labels never overlap
    assert plot_height / len(records) >= 1.4 * PROJECTOR_PX
