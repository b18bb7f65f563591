"""The one capture mechanism: forward hooks inside a context manager.

Feature maps, statistics, receptive fields and the training page's snapshots all go
through :func:`hooked`. Every hook is removed in ``finally``, also when the forward pass
raises. Captured tensors are detached *clones*: ``ReLU(inplace=True)`` (AlexNet, VGG,
ResNet in torchvision) overwrites its input in place, so a tensor kept by reference would
silently change after the hook ran. With ``summarise``, nothing is cloned: the hook reduces
the live output at once (statistics, a few tiles), before any later in-place operation can
touch it, and keeps only the summary.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh, nn.ELU)
POOLS = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
NORMS = (nn.BatchNorm2d, nn.BatchNorm1d, nn.LayerNorm, nn.GroupNorm, nn.LocalResponseNorm)


class UnknownLayerError(KeyError):
    """A requested layer name is not a module of the model."""

    def __str__(self) -> str:  # KeyError would print the message with quotes
        return str(self.args[0])


@dataclass(frozen=True)
class LayerInfo:
    """A layer worth looking at, and what its captured tensor means."""

    name: str
    type: str
    role: str  # "conv" | "act" | "pool" | "block" | "linear" | "norm" | "other"
    note: str = ""


def _block_note(module: nn.Module) -> str | None:
    """Blocks whose inside is not worth listing separately, and what their output is."""
    name = type(module).__name__
    if name == "BasicConv2d":  # torchvision GoogLeNet: conv -> BN -> F.relu (functional, no module)
        return "conv -> batch norm -> ReLU (the ReLU is applied inside the block, so this is post-activation)"
    if name in ("BasicBlock", "Bottleneck", "Residual"):
        return "residual block output: ReLU(F(x) + shortcut(x))"
    if name == "Inception":
        return "Inception output: the four branches concatenated along channels"
    return None


def _spec_role(module: nn.Module) -> str | None:
    """Layers of imported models (explorer.models.spec_layers): a convolution with its own
    activation (Keras' ``activation=``) outputs post-activation maps; their poolings pool."""
    from explorer.models import spec_layers as sm

    if isinstance(module, sm.Conv2d) and module.activation != "linear":
        return "act"
    if isinstance(module, (sm.Pool2d, sm.GlobalPool2d)):
        return "pool"
    return None


def _role(module: nn.Module) -> str:
    if _block_note(module) is not None:
        return "block"
    spec_role = _spec_role(module)
    if spec_role is not None:
        return spec_role
    if isinstance(module, nn.Conv2d):
        return "conv"
    if isinstance(module, ACTIVATIONS):
        return "act"
    if isinstance(module, POOLS):
        return "pool"
    if isinstance(module, nn.Linear):
        return "linear"
    if isinstance(module, NORMS):
        return "norm"
    return "other"


_NOTES = {
    "conv": "convolution output, before its activation",
    "act": "activation output (post-ReLU for ReLU)",
    "pool": "pooling output",
    "linear": "dense layer output",
    "norm": "normalisation output",
}


def layer_infos(model: nn.Module, *, inside_blocks: bool = False) -> list[LayerInfo]:
    """Every leaf layer and every opaque block (GoogLeNet's BasicConv2d, residual and
    Inception blocks), in definition order; the insides of blocks are left out unless
    ``inside_blocks``."""
    infos: list[LayerInfo] = []
    inside: list[str] = []
    for name, module in model.named_modules():
        if not name or (
            not inside_blocks and any(name.startswith(prefix + ".") for prefix in inside)
        ):
            continue
        note = _block_note(module)
        if note is not None:
            inside.append(name)
            infos.append(LayerInfo(name, type(module).__name__, "block", note))
        elif not any(True for _ in module.children()):
            role = _role(module)
            infos.append(LayerInfo(name, type(module).__name__, role, _NOTES.get(role, "")))
    return infos


def feature_layers(
    model: nn.Module, roles: Sequence[str] = ("act", "pool", "block")
) -> list[LayerInfo]:
    """The layers a feature-map view shows by default: activations, poolings and blocks.

    Convolutions are left out where a ReLU module follows them (its output is what people
    mean by a feature map); pass ``roles=("conv", ...)`` to see pre-activation maps.
    """
    return [info for info in layer_infos(model) if info.role in roles]


def _first_tensor(output: object) -> torch.Tensor | None:
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)):
        return next((o for o in output if isinstance(o, torch.Tensor)), None)
    return None


@contextmanager
def hooked(
    model: nn.Module,
    layers: Sequence[str],
    *,
    detach: bool = True,
    to_cpu: bool = False,
    summarise: Callable[[str, torch.Tensor], object] | None = None,
) -> Iterator[dict[str, torch.Tensor]]:
    """Hook ``layers`` for the duration of the ``with`` block; yields the dict they fill.

    A module called more than once per forward pass (torchvision ResNet's shared ``relu``)
    keeps its last call's output. With ``detach=False`` the stored tensors stay in the
    autograd graph (for effective receptive fields and attributions). ``summarise(name,
    output)``, if given, is stored instead of a clone; it runs inside the forward pass on the
    detached live output, so it must return new tensors or arrays, never views of ``output``.
    """
    modules = dict(model.named_modules())
    missing = [name for name in layers if name not in modules]
    if missing:
        raise UnknownLayerError(
            f"Unknown layer {missing[0]!r}: the model has no module of that name."
        )
    store: dict[str, torch.Tensor] = {}
    handles = []

    def make_hook(name: str):
        def hook(_module: nn.Module, _inputs: object, output: object) -> None:
            tensor = _first_tensor(output)
            if tensor is None:
                return
            if summarise is not None:
                store[name] = summarise(name, tensor.detach())  # type: ignore[assignment]
                return
            kept = tensor.detach().clone() if detach else tensor.clone()
            store[name] = kept.cpu() if to_cpu else kept

        return hook

    try:
        for name in layers:
            handles.append(modules[name].register_forward_hook(make_hook(name)))
        yield store
    finally:
        for handle in handles:
            handle.remove()


def capture(
    model: nn.Module,
    x: torch.Tensor,
    layers: Sequence[str],
    *,
    eval_mode: bool = True,
    to_cpu: bool = False,
) -> dict[str, torch.Tensor]:
    """Run ``model(x)`` once and return the outputs of ``layers``, in the requested order.

    The model runs in eval mode (dropout off, batch-norm statistics frozen) unless
    ``eval_mode=False``; its previous mode is restored afterwards.
    """
    was_training = model.training
    if eval_mode:
        model.eval()
    try:
        with hooked(model, layers, to_cpu=to_cpu) as store, torch.no_grad():
            model(x)
    finally:
        model.train(was_training)
    missing = [name for name in layers if name not in store]
    if missing:
        raise RuntimeError(
            f"Layer {missing[0]!r} did not run in the forward pass, so nothing was captured."
        )
    return {name: store[name] for name in layers}


def hook_count(model: nn.Module) -> int:
    """How many forward hooks are registered on the model's modules (tests use it)."""
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())
