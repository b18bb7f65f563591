"""Layer-by-layer summary: output shape, parameters, MACs and receptive field.

Built on the ``meta`` device where possible: shapes and FLOPs need no real weights, so
the table of VGG-16 costs kilobytes instead of its 528 MB. MACs come from torch's own
flop counter (``torch.utils.flop_counter``; one multiply-accumulate = 2 FLOPs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from explorer.probe.capture import LayerInfo, layer_infos
from explorer.probe.receptive_field import INPUT_FIELD, Field, FieldTracker
from explorer.probe.windows import CONV_CALLS, Window


@dataclass(frozen=True)
class LayerRow:
    """One row of the layer table (one call of one module, in execution order)."""

    name: str
    type: str
    role: str
    out_shape: tuple[int, ...]  # without the batch dimension
    params: int
    macs: int
    field: Field | None  # None when the output is not a feature map
    title: str = ""  # paper-style name (explorer.probe.names); the raw module path is ``name``
    kernel: tuple[int, ...] | None = None  # convolution / pooling window, height x width
    stride: tuple[int, ...] | None = None
    padding: tuple[int, ...] | None = None
    groups: int | None = None
    dilation: tuple[int, ...] | None = None
    ceil_mode: bool = False  # pooling that rounds its output size up (PyTorch's ceil_mode)

    @property
    def rf_size(self) -> str:
        if self.field is None:
            return ""
        if self.field.is_global:
            return "whole image"
        h, w = self.field.size
        return f"{h:g}" if h == w else f"{h:g}x{w:g}"


@dataclass(frozen=True)
class Summary:
    """The whole table plus totals."""

    rows: list[LayerRow]
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    total_params: int
    trainable_params: int
    total_macs: int
    fields: dict[str, Field] = field(default_factory=dict)  # every leaf / block output by name

    def row(self, name: str) -> LayerRow:
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(f"No layer {name!r} in the summary.")

    def as_records(self) -> list[dict[str, object]]:
        """Rows as plain dicts (for a table widget): readable name, raw module path, window
        (kernel, stride, padding; groups and dilation only where some layer needs them), output,
        parameters, MACs and receptive field. A row can be checked by hand with
        floor((N - F + 2P)/S) + 1, or the ceiling where the ``ceil_mode`` column (shown when some
        pooling layer uses it) says so."""
        odd_groups = any(r.groups not in (None, 1) for r in self.rows)
        any_ceil = any(r.ceil_mode for r in self.rows)
        odd_dilation = any(r.dilation is not None and set(r.dilation) != {1} for r in self.rows)
        records = []
        for r in self.rows:
            rec: dict[str, object] = {
                "layer": r.title or r.name,
                "module": r.name,
                "type": r.type,
                "kernel": _window(r.kernel),
                "stride": _window(r.stride),
                "padding": _window(r.padding),
            }
            if odd_groups:
                rec["groups"] = "" if r.groups is None else str(r.groups)
            if odd_dilation:
                rec["dilation"] = _window(r.dilation)
            if any_ceil:
                rec["ceil_mode"] = "yes" if r.ceil_mode else ("no" if r.kernel is not None else "")
            rec.update(
                {
                    "output": " x ".join(map(str, r.out_shape)),
                    "params": r.params,
                    "MACs": r.macs,
                    "RF size": r.rf_size,
                    "RF jump": ""
                    if r.field is None or r.field.is_global
                    else f"{r.field.jump[0]:g}",
                    "RF start": ""
                    if r.field is None or r.field.is_global
                    else f"{r.field.start[0]:g}",
                }
            )
            records.append(rec)
        return records


def _window(value: tuple[int, ...] | None) -> str:
    """(3, 3) -> '3', (1, 7) -> '1x7', None -> ''."""
    if value is None:
        return ""
    return str(value[0]) if len(set(value)) == 1 else "x".join(map(str, value))


def _window_columns(call: tuple[str, Window] | None) -> dict[str, object]:
    """Kernel, stride, padding (groups, dilation, ceil_mode) of the one convolution or pooling
    call a layer made, as read by :func:`explorer.probe.windows.window_of` (the parser the
    receptive-field and graph tracers use); nothing for any other layer."""
    if call is None:
        return {}
    fname, w = call
    columns: dict[str, object] = {
        "kernel": w.kernel,
        "stride": w.stride,
        "padding": w.padding,
        "dilation": w.dilation,
    }
    if fname in CONV_CALLS:
        columns["groups"] = w.groups
    else:
        columns["ceil_mode"] = w.ceil_mode
    return columns


def instantiate(model: nn.Module | Callable[[], nn.Module]) -> tuple[nn.Module, torch.device]:
    """The module and the device its input goes to: a real module runs where its weights are; a
    zero-argument builder is built on the meta device (no weights allocated)."""
    if isinstance(model, nn.Module):
        param = next(model.parameters(), None)
        return model, param.device if param is not None else torch.device("cpu")
    with torch.device("meta"):
        return model(), torch.device("meta")


# One hooked call: module path, output, and the window of the conv / pool call a leaf made.
_Call = tuple[str, torch.Tensor, tuple[str, Window] | None]


def _traced_forward(
    net: nn.Module, hooked: set[str], input_shape: tuple[int, ...], device: torch.device | str
) -> tuple[list[_Call], torch.Tensor, FlopCounterMode, FieldTracker]:
    """One forward pass in eval mode on a zero input, counting FLOPs and tracking receptive fields.

    Returns every call of a ``hooked`` module with its output tensor and, for a leaf module that
    made exactly one convolution or pooling call, that call's window (in call order); the
    network's output (the first one of a tuple), the FLOP counter and the field tracker."""
    names = {m: n for n, m in net.named_modules()}
    tracker = FieldTracker()
    calls: list[_Call] = []
    opened: dict[nn.Module, int] = {}  # leaf module -> tracker.windows' length when it started
    handles = []

    def pre_hook(module: nn.Module, _inputs: object) -> None:
        opened[module] = len(tracker.windows)

    def hook(module: nn.Module, _inputs: object, output: object) -> None:
        made = tracker.windows[opened.pop(module) :] if module in opened else []
        if isinstance(output, torch.Tensor):
            calls.append((names[module], output, made[0] if len(made) == 1 else None))

    was_training = net.training
    net.eval()
    try:
        for name, module in net.named_modules():
            if name in hooked:
                if next(module.children(), None) is None:  # a leaf: its own window
                    handles.append(module.register_forward_pre_hook(pre_hook))
                handles.append(module.register_forward_hook(hook))
        x = torch.zeros(1, *input_shape, device=device)
        flops = FlopCounterMode(display=False)
        with torch.no_grad(), flops, tracker:
            tracker.set(x, INPUT_FIELD)
            out = net(x)
    finally:
        for handle in handles:
            handle.remove()
        net.train(was_training)
    return calls, (out[0] if isinstance(out, (tuple, list)) else out), flops, tracker


def _layer_rows(
    net: nn.Module,
    arch: str | None,
    infos: dict[str, LayerInfo],
    calls: list[_Call],
    flops: FlopCounterMode,
    tracker: FieldTracker,
) -> tuple[list[LayerRow], dict[str, Field]]:
    """One row per hooked call, and the receptive field of every feature-map output by name.

    A module called twice (a shared ReLU) owns its parameters and MACs once: its later calls
    are rows "(call 2)" with zero of each."""
    from explorer.probe.names import layer_names

    titles = layer_names(net, arch)
    counts = {n: sum(p.numel() for p in m.parameters()) for n, m in net.named_modules()}
    prefix = type(net).__name__
    flop_counts = flops.get_flop_counts()
    table: list[LayerRow] = []
    seen: dict[str, int] = {}
    fields: dict[str, Field] = {}
    for name, output, window in calls:
        seen[name] = seen.get(name, 0) + 1
        first = seen[name] == 1
        again = "" if first else f" (call {seen[name]})"
        macs = sum(flop_counts.get(f"{prefix}.{name}", {}).values()) // 2
        f = tracker.get(output) if output.dim() == 4 else None
        table.append(
            LayerRow(
                name + again,
                infos[name].type,
                infos[name].role,
                tuple(output.shape[1:]),
                counts[name] if first else 0,
                macs if first else 0,
                f,
                titles.get(name, name) + again,
                **_window_columns(window),
            )
        )
        if f is not None:
            fields[name] = f
    return table, fields


def summarize(
    model: nn.Module | Callable[[], nn.Module],
    input_shape: tuple[int, ...],
    arch: str | None = None,
) -> Summary:
    """Summary of ``model`` for one input of ``input_shape`` (C x H x W, no batch dimension).

    ``model`` may be a zero-argument builder: it is then built on the meta device, so no
    real weights are ever allocated. A real module runs on a zero input on its own device.
    ``arch`` (a catalog key) picks the paper-style names of the rows (``LayerRow.title``).
    """
    net, device = instantiate(model)
    infos = {info.name: info for info in layer_infos(net, inside_blocks=True)}
    calls, out, flops, tracker = _traced_forward(net, set(infos), input_shape, device)
    table, fields = _layer_rows(net, arch, infos, calls, flops, tracker)
    return Summary(
        table,
        tuple(input_shape),
        tuple(out.shape[1:]),
        sum(p.numel() for p in net.parameters()),
        sum(p.numel() for p in net.parameters() if p.requires_grad),
        flops.get_total_flops() // 2,
        fields,
    )


def weight_layers(summary: Summary) -> int:
    """Depth as papers count it: convolution and dense layers (first calls only)."""
    return sum(1 for r in summary.rows if r.type in ("Conv2d", "Linear") and "(call" not in r.name)


def largest_field(summary: Summary) -> float | None:
    """The largest local receptive field (side, in input pixels) reached before global pooling."""
    sizes = [f.size[0] for f in summary.fields.values() if not f.is_global]
    return max(sizes) if sizes else None
