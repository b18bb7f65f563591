"""Figures of a training run: curves, gradient norms, learning rate, confusion matrix, samples.

Pure functions from a :class:`~explorer.training.events.History` (or event fields) to plotly
figures and uint8 images; nothing here displays anything. Filters and feature maps reuse the
montages of :mod:`explorer.viz.maps`, so the Training and Feature maps pages look alike.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
import torch

from explorer.training.events import History
from explorer.viz.maps import first_layer_patches, montage_rgb

TRAIN_COLOUR = "#1f77b4"
VAL_COLOUR = "#d62728"


def _layout(fig: go.Figure, title: str, x_title: str, y_title: str, height: int = 300) -> go.Figure:
    fig.update_layout(
        title=title,
        height=height,
        margin=dict(l=50, r=10, t=40, b=40),
        xaxis_title=x_title,
        yaxis_title=y_title,
        legend=dict(orientation="h", y=-0.25),
        uirevision="keep",  # keep zoom while the page polls
    )
    return fig


def _mode(points: Sequence[float]) -> str:
    """Lines, with markers while there is one point: a one-point line draws nothing (a run of a
    single logged step would show empty charts)."""
    return "lines" if len(points) > 1 else "lines+markers"


def _metric_figure(
    h: History, train: list[float], val: list[float], title: str, y_title: str, running: bool = True
) -> go.Figure:
    fig = go.Figure()
    name = "training (running)" if running else "training"  # a finished run's legend says so
    fig.add_scatter(
        x=h.epoch_x, y=train, mode=_mode(train), name=name, line=dict(color=TRAIN_COLOUR)
    )
    if h.epochs:
        fig.add_scatter(
            x=[e.step / _steps_per_epoch(h) for e in h.epochs],  # an early stop ends mid-epoch
            y=val,
            mode="lines+markers",
            name="validation (end of epoch)",
            line=dict(color=VAL_COLOUR),
        )
    return _layout(fig, title, "epoch", y_title)


def _steps_per_epoch(h: History) -> int:
    return max(h.started.steps_per_epoch, 1) if h.started is not None else 1


def loss_figure(h: History, running: bool = True) -> go.Figure:
    """Training loss (every logged step) and validation loss (each epoch) against epochs;
    ``running=False`` once the run has ended (the legend stops saying "running")."""
    return _metric_figure(h, h.train_loss, [e.val_loss for e in h.epochs], "Loss", "loss", running)


def accuracy_figure(h: History, running: bool = True) -> go.Figure:
    fig = _metric_figure(
        h, h.train_acc, [e.val_acc for e in h.epochs], "Accuracy", "accuracy", running
    )
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%")
    return fig


def grad_norm_figure(h: History, max_layers: int = 24) -> go.Figure:
    """Per-layer gradient norms (log scale): in a deep plain net the first layers' fall away."""
    fig = go.Figure()
    names = list(h.grad_norms)
    if len(names) > max_layers:  # keep the first, the last and evenly spaced layers between
        keep = np.unique(np.linspace(0, len(names) - 1, max_layers).round().astype(int))
        names = [names[i] for i in keep]
    n = max(len(names) - 1, 1)
    for i, name in enumerate(names):
        # Early layers dark blue, late layers yellow: depth reads as colour.
        colour = f"hsl({int(240 - 180 * i / n)}, 70%, {int(35 + 20 * i / n)}%)"
        values = [max(v, 1e-12) for v in h.grad_norms[name]]
        fig.add_scatter(
            x=h.grad_steps,
            y=values,
            mode=_mode(values),
            name=name,
            line=dict(color=colour, width=1.5),
        )
    fig = _layout(fig, "Gradient norm per layer (log scale)", "step", "||grad||", height=320)
    fig.update_yaxes(type="log", dtick=1, exponentformat="power")  # one labelled tick per decade
    fig.update_layout(legend=dict(orientation="v", y=1, x=1.02, font=dict(size=10)))
    return fig


def lr_figure(h: History) -> go.Figure:
    fig = go.Figure()
    fig.add_scatter(
        x=h.steps, y=h.lr, mode=_mode(h.lr), name="learning rate", line=dict(color="#2ca02c")
    )
    fig = _layout(fig, "Learning rate", "step", "lr", height=240)
    top = max(h.lr, default=1.0)
    # From zero: a constant rate is a flat line at its value, not a line in an empty +-1 axis.
    fig.update_yaxes(range=[0, top * 1.15 if top > 0 else 1], exponentformat="e")
    return fig


def throughput_figure(h: History) -> go.Figure:
    fig = go.Figure()
    fig.add_scatter(
        x=h.steps,
        y=h.samples_per_s,
        mode=_mode(h.samples_per_s),
        name="samples/s",
        line=dict(color="#9467bd"),
    )
    return _layout(fig, "Throughput", "step", "samples / s", height=240)


def confusion_figure(conf: torch.Tensor | np.ndarray, classes: Sequence[str]) -> go.Figure:
    """Counts with rows = true class, columns = predicted; the diagonal is what went right."""
    c = np.asarray(conf, dtype=np.int64)
    fig = go.Figure(
        go.Heatmap(
            z=c,
            x=list(classes),
            y=list(classes),
            colorscale="Blues",
            showscale=False,
            text=c.astype(str),
            texttemplate="%{text}",
            hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>",
        )
    )
    fig = _layout(
        fig, "Confusion matrix (test set)", "predicted", "true", height=80 + 32 * len(classes) + 120
    )
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category")
    return fig


def per_class_figure(per_class: Sequence[float], classes: Sequence[str]) -> go.Figure:
    fig = go.Figure(
        go.Bar(
            x=list(classes),
            y=list(per_class),
            marker_color=TRAIN_COLOUR,
            text=[f"{a:.0%}" for a in per_class],
            textposition="outside",
        )
    )
    fig = _layout(fig, "Accuracy per class (test set)", "class", "accuracy", height=300)
    fig.update_yaxes(range=[0, 1.1], tickformat=".0%")
    fig.update_xaxes(type="category")
    return fig


def images_uint8(x: torch.Tensor, min_side: int = 64) -> list[np.ndarray]:
    """N x C x H x W in [0, 1] -> list of H x W x 3 uint8 images, enlarged (nearest) to ``min_side``."""
    x = x.detach().float().cpu().clamp(0, 1)
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    arr = (x.permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8)
    f = max(1, -(-min_side // arr.shape[1]))
    if f > 1:
        arr = np.repeat(np.repeat(arr, f, axis=1), f, axis=2)
    return list(arr)


def misclassified_captions(
    true: Sequence[int], pred: Sequence[int], classes: Sequence[str]
) -> list[str]:
    return [f"{classes[t]} -> {classes[p]}" for t, p in zip(true, pred, strict=True)]


def filters_image(filters: torch.Tensor, zoom: int = 12) -> np.ndarray:
    """First-layer kernels as patches (RGB for colour input), H x W x 3 uint8."""
    return first_layer_patches(filters, zoom=zoom)


def feature_maps_image(
    maps: torch.Tensor, max_channels: int = 32, min_width: int = 480
) -> np.ndarray:
    """One layer's C x H x W maps as a montage, each channel min-max scaled on its own."""
    m = maps.detach().float().cpu()[:max_channels]
    flat = m.flatten(1)
    lo, hi = flat.amin(1)[:, None, None], flat.amax(1)[:, None, None]
    u = ((m - lo) / (hi - lo).clamp_min(1e-12)).clamp(0, 1)
    tiles = (u.numpy() * 255).round().astype(np.uint8)
    return montage_rgb(tiles, scale="viridis", min_width=min_width)


def _duration(seconds: float) -> str:
    return (
        f"{int(seconds // 60)} min {int(seconds % 60)} s" if seconds >= 60 else f"{seconds:.0f} s"
    )


def progress_text(
    step: int,
    total: int,
    eta_s: float | None,
    samples_per_s: float,
    ended: str | None = None,
    elapsed_s: float | None = None,
) -> str:
    """The progress bar's line; ``eta_s=None`` (rate not stable yet) says "estimating...".
    A run that has ended says how (``ended``: "finished", "stopped", "failed") and, with
    ``elapsed_s``, after how long, instead of a time left."""
    if ended is not None:
        left = ended + (f" after {_duration(elapsed_s)}" if elapsed_s is not None else "")
    elif eta_s is None:
        left = "estimating time left..."
    else:
        left = f"about {_duration(eta_s)} left"
    return f"step {step} / {total}  ·  {samples_per_s:,.0f} samples/s  ·  {left}"
