"""A fast inference pass up to one layer, for scans of a layer over thousands of images.

Dataset examples (:mod:`explorer.probe.dataset_examples`) run a model over a whole dataset and
keep a little of one layer's output per image, so the forward pass is nearly all of the cost.
:class:`LayerPass` makes it cheaper without changing what the layer outputs (up to float
rounding, checked):

- a private copy of the model in eval mode, with every BatchNorm2d that directly consumes a
  Conv2d's output folded into that convolution (``torch.nn.utils.fusion.fuse_conv_bn_eval``;
  the probed layer itself is never folded away), so one pass over memory is saved per pair;
- channels-last memory layout (oneDNN's fast convolution layout on CPU);
- ``torch.inference_mode`` and, when the layer runs once per forward pass, a stop right after
  it (its hook raises), so nothing behind the layer is computed.

The first batch checks the folded copy against the unfolded one at the layer; on any mismatch
(a convolution whose output is also used elsewhere, a custom layer) the folds are undone. The
shared model itself is only read (deep-copied), never switched or modified; a model over
:data:`COPY_LIMIT_BYTES` of parameters (VGG-16) is not copied but run as it is, in eval mode
for each pass (its mode restored after), under the caller's lock, stopped at the layer.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from explorer.probe.capture import UnknownLayerError, _first_tensor

Reduce = Callable[[torch.Tensor], Any]


# Models up to this size run on a private copy (folded, channels-last); bigger ones as they are.
COPY_LIMIT_BYTES = 256 * 2**20


class _Reached(Exception):
    """Raised from the probed layer's hook to end the forward pass there."""


def _conv_bn_pairs(model: nn.Module, x: torch.Tensor, keep: str) -> list[tuple[str, str]]:
    """(conv, batch norm) module paths where the norm's input is the very tensor the convolution
    produced, each called once; the probed layer ``keep`` is never the convolution of a pair."""
    outputs: dict[int, tuple[str, torch.Tensor]] = {}  # id -> (conv, tensor kept alive)
    calls: dict[str, int] = {}
    pairs: list[tuple[str, str]] = []
    handles = []

    def on_conv(name: str):
        def hook(_m: nn.Module, _i: object, out: torch.Tensor) -> None:
            calls[name] = calls.get(name, 0) + 1
            outputs[id(out)] = (name, out)

        return hook

    def on_norm(name: str):
        def hook(_m: nn.Module, inputs: tuple) -> None:
            calls[name] = calls.get(name, 0) + 1
            hit = outputs.get(id(inputs[0]))
            if hit is not None and hit[1] is inputs[0]:
                pairs.append((hit[0], name))

        return hook

    for name, m in model.named_modules():
        if type(m) is nn.Conv2d and name != keep:
            handles.append(m.register_forward_hook(on_conv(name)))
        elif type(m) is nn.BatchNorm2d and m.track_running_stats and m.running_mean is not None:
            handles.append(m.register_forward_pre_hook(on_norm(name)))
    try:
        model(x)
    finally:
        for h in handles:
            h.remove()
    return [(c, b) for c, b in pairs if calls.get(c) == 1 and calls.get(b) == 1]


def _set(model: nn.Module, name: str, module: nn.Module) -> None:
    parent, _, attr = name.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, attr, module)


def _fold(model: nn.Module, pairs: list[tuple[str, str]]) -> list[tuple[str, nn.Module]]:
    """Fold each pair's norm into its convolution, in place; the norm becomes an Identity (its
    name stays, so a hook on it still sees the same values). Returns what to put back to undo."""
    undo = []
    for conv_name, bn_name in pairs:
        conv, bn = model.get_submodule(conv_name), model.get_submodule(bn_name)
        undo += [(conv_name, conv), (bn_name, bn)]
        _set(model, conv_name, fuse_conv_bn_eval(conv, bn))
        _set(model, bn_name, nn.Identity())
    return undo


class LayerPass:
    """Run batches through a fast private copy of ``model`` up to ``layer``; each call returns
    ``reduce(output of layer)``, computed inside the forward pass on the live output."""

    def __init__(self, model: nn.Module, layer: str, reduce: Reduce) -> None:
        if layer not in dict(model.named_modules()):
            raise UnknownLayerError(
                f"Unknown layer {layer!r}: the model has no module of that name."
            )
        self.layer, self.reduce = layer, reduce
        size = sum(p.numel() * p.element_size() for p in model.parameters())
        # a big model (VGG-16: 528 MB) is not copied: it runs as it is, in eval mode for the pass
        self.private = size <= COPY_LIMIT_BYTES
        self.model = copy.deepcopy(model).eval() if self.private else model
        self.checked = False
        self.folded = 0  # conv + norm pairs folded (0 until the first batch, or when refused)
        self.stops_early = False
        self._calls = 0  # how often the layer ran in the last pass

    def _forward(self, x: torch.Tensor, *, stop: bool) -> Any:
        """One pass; the reduced output of the layer (None when it did not run)."""
        found: list[Any] = []
        calls = [0]

        def hook(_m: nn.Module, _i: object, out: object) -> None:
            calls[0] += 1
            tensor = _first_tensor(out)
            if tensor is not None:
                found[:] = [self.reduce(tensor)]
            if stop:
                raise _Reached

        handle = self.model.get_submodule(self.layer).register_forward_hook(hook)
        was_training = self.model.training
        self.model.eval()
        try:
            self.model(x)
        except _Reached:
            pass
        finally:
            handle.remove()
            self.model.train(was_training)
        self._calls = calls[0]
        return found[0] if found else None

    def _prepare(self, x: torch.Tensor) -> None:
        """On the first batch: fold, switch to channels-last, keep them only if the layer's
        output still matches (it is the whole reduction's input), and learn whether the layer
        runs exactly once (then later passes stop there)."""
        probe = x[:4]
        reduce, self.reduce = self.reduce, lambda t: t.clone()
        try:
            reference = self._forward(probe, stop=False)
            self.stops_early = self._calls == 1
            if reference is None or not self.private:  # the shared model is never changed
                return
            pairs = _conv_bn_pairs(self.model, probe, self.layer)
            undo = _fold(self.model, pairs)
            self.model.to(memory_format=torch.channels_last)
            out = self._forward(probe.contiguous(memory_format=torch.channels_last), stop=False)
            scale = max(1.0, float(reference.abs().max()))
            if out is None or not torch.allclose(out, reference, rtol=1e-3, atol=1e-4 * scale):
                # folding changed the layer: put the modules back (channels-last still helps)
                for name, module in reversed(undo):
                    _set(self.model, name, module.to(memory_format=torch.channels_last))
            else:
                self.folded = len(pairs)
        finally:
            self.reduce, self.checked = reduce, True

    def __call__(self, x: torch.Tensor) -> Any:
        """``reduce`` of the layer's output for the batch ``x`` (already normalised)."""
        with torch.inference_mode():
            if not self.checked:
                self._prepare(x)
            if self.private:
                x = x.contiguous(memory_format=torch.channels_last)
            return self._forward(x, stop=self.stops_early)
