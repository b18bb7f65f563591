"""Seeded initialisation from a local generator: same seed, same weights; torch's global RNG untouched.

Worker threads share torch's global random stream. ``torch.manual_seed`` in one of them resets
the stream of every other thread, and two seeding at once get each other's numbers, so a "same
seed, same weights" promise breaks under load. Here every parameter is drawn from a local
``torch.Generator`` instead, with the distribution the module's own ``reset_parameters`` uses
(torch's defaults, or the builder's own scheme for torchvision's ResNet, VGG and GoogLeNet). A
module type with parameters that no rule knows raises :class:`UnknownInitError` rather than
being left on the global stream. ``build_seeded`` builds on the meta device (no global draws,
no memory twice) and materialises the model on the CPU before drawing.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn
from torch.nn.modules.batchnorm import _NormBase

Rule = Callable[[nn.Module, torch.Generator], None]


class UnknownInitError(TypeError):
    """A module with parameters (or buffers) whose initialisation this module does not know."""


# -- torch's default initialisation, per module type (as each type's reset_parameters) ----------


def _fan_in_uniform(m: nn.Module, g: torch.Generator) -> None:
    """Linear and convolutions: weight kaiming_uniform(a=sqrt(5)), i.e. U(+-1/sqrt(fan_in));
    bias U(+-1/sqrt(fan_in))."""
    nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=g)
    if m.bias is not None:
        fan_in, _ = nn.init._calculate_fan_in_and_fan_out(m.weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        nn.init.uniform_(m.bias, -bound, bound, generator=g)


def _affine_norm(m: nn.Module, g: torch.Generator) -> None:
    """Batch/instance/layer/group norm: scale 1, shift 0; running statistics reset."""
    if isinstance(m, _NormBase):
        m.reset_running_stats()
    if getattr(m, "weight", None) is not None:
        nn.init.ones_(m.weight)
    if getattr(m, "bias", None) is not None:
        nn.init.zeros_(m.bias)


def _embedding(m: nn.Module, g: torch.Generator) -> None:
    """N(0, 1), the padding row (if any) zero."""
    nn.init.normal_(m.weight, generator=g)
    if m.padding_idx is not None:
        m.weight[m.padding_idx].zero_()


def _recurrent(m: nn.Module, g: torch.Generator) -> None:
    """RNN/GRU/LSTM (fused, cells, and the explicit nets): every weight and bias U(+-1/sqrt(hidden))."""
    bound = 1.0 / math.sqrt(m.hidden_size) if m.hidden_size > 0 else 0.0
    for p in m.parameters(recurse=False):
        nn.init.uniform_(p, -bound, bound, generator=g)


def _prelu(m: nn.Module, g: torch.Generator) -> None:
    nn.init.constant_(m.weight, m.init)


def _default_rules() -> dict[type[nn.Module], Rule]:
    from explorer.models.recurrent import RecurrentNet  # explicit cells: torch's recurrent rule
    from explorer.models.spec_layers import BatchNorm, Conv2d, Linear  # imported models' layers

    rules: dict[type[nn.Module], Rule] = {
        nn.Linear: _fan_in_uniform,
        nn.Bilinear: _bilinear,
        nn.Conv1d: _fan_in_uniform,
        nn.Conv2d: _fan_in_uniform,
        nn.Conv3d: _fan_in_uniform,
        nn.ConvTranspose1d: _fan_in_uniform,
        nn.ConvTranspose2d: _fan_in_uniform,
        nn.ConvTranspose3d: _fan_in_uniform,
        nn.BatchNorm1d: _affine_norm,
        nn.BatchNorm2d: _affine_norm,
        nn.BatchNorm3d: _affine_norm,
        nn.InstanceNorm1d: _affine_norm,
        nn.InstanceNorm2d: _affine_norm,
        nn.LayerNorm: _affine_norm,
        nn.GroupNorm: _affine_norm,
        nn.Embedding: _embedding,
        nn.PReLU: _prelu,
        nn.RNN: _recurrent,
        nn.GRU: _recurrent,
        nn.LSTM: _recurrent,
        nn.RNNCell: _recurrent,
        nn.GRUCell: _recurrent,
        nn.LSTMCell: _recurrent,
        RecurrentNet: _recurrent,
        Conv2d: _fan_in_uniform,
        Linear: _fan_in_uniform,
        BatchNorm: _affine_norm,
    }
    return rules


def _bilinear(m: nn.Module, g: torch.Generator) -> None:
    bound = 1 / math.sqrt(m.weight.size(1))
    nn.init.uniform_(m.weight, -bound, bound, generator=g)
    if m.bias is not None:
        nn.init.uniform_(m.bias, -bound, bound, generator=g)


# -- builders with their own scheme (torchvision's ResNet, VGG, GoogLeNet) ------------------------


def _kaiming_fan_out_conv(m: nn.Module, g: torch.Generator) -> None:
    """ResNet's and VGG's convolutions: He normal over fan-out (ReLU), zero bias."""
    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu", generator=g)
    if m.bias is not None:
        nn.init.zeros_(m.bias)


def _vgg_linear(m: nn.Module, g: torch.Generator) -> None:
    nn.init.normal_(m.weight, 0.0, 0.01, generator=g)
    nn.init.zeros_(m.bias)


def _googlenet_weight(m: nn.Module, g: torch.Generator) -> None:
    """GoogLeNet (init_weights=True): weights N(0, 0.01) truncated at +-2; biases keep torch's rule."""
    nn.init.trunc_normal_(m.weight, mean=0.0, std=0.01, a=-2, b=2, generator=g)
    if m.bias is not None:
        fan_in, _ = nn.init._calculate_fan_in_and_fan_out(m.weight)
        nn.init.uniform_(m.bias, -1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in), generator=g)


# Model class (module.qualname, so torchvision is not imported here) -> rules that replace the
# defaults for the whole model, as that class's __init__ does.
FAMILY_RULES: dict[str, dict[type[nn.Module], Rule]] = {
    "torchvision.models.resnet.ResNet": {nn.Conv2d: _kaiming_fan_out_conv},
    "torchvision.models.vgg.VGG": {nn.Conv2d: _kaiming_fan_out_conv, nn.Linear: _vgg_linear},
    "torchvision.models.googlenet.GoogLeNet": {
        nn.Conv2d: _googlenet_weight,
        nn.Linear: _googlenet_weight,
    },
}


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def rules_for(model: nn.Module) -> dict[type[nn.Module], Rule]:
    """The rule of every module type this model may hold (its family's scheme over the defaults)."""
    return {**_default_rules(), **FAMILY_RULES.get(_qualname(type(model)), {})}


def _rule(module: nn.Module, name: str, rules: dict[type[nn.Module], Rule]) -> Rule | None:
    rule = rules.get(type(module))
    if rule is None and next(module.parameters(recurse=False), None) is not None:
        raise UnknownInitError(
            f"No seeded initialisation is known for {_qualname(type(module))} (module {name or 'model'!r}): "
            "add a rule to explorer.models.init so that its parameters are not left to torch's global "
            "random stream."
        )
    return rule


@torch.no_grad()
def seeded_init(model: nn.Module, seed: int) -> nn.Module:
    """Redraw every parameter of ``model`` (on the CPU) in place from a local generator seeded
    with ``seed``; return the model. Modules are visited in ``named_modules`` order, so the result
    depends on the architecture and the seed only. Raises :class:`UnknownInitError` for a module
    with parameters that no rule knows (before anything is drawn)."""
    off_cpu = {p.device.type for p in model.parameters()} - {"cpu"}
    if off_cpu:
        raise ValueError(
            f"seeded_init draws on the CPU; move the model there first (found {off_cpu})."
        )
    g = torch.Generator(device="cpu").manual_seed(int(seed))
    for module, rule in init_plan(model):
        if rule is not None:
            rule(module, g)
    return model


def init_plan(model: nn.Module) -> list[tuple[nn.Module, Rule | None]]:
    """Every module with the rule that draws its parameters (None: it has none), in drawing order.
    Works on the meta device too; raises :class:`UnknownInitError` for an unknown module."""
    rules = rules_for(model)
    return [(m, _rule(m, name, rules)) for name, m in model.named_modules()]


def build_seeded(build: Callable[[], nn.Module], seed: int) -> nn.Module:
    """``build()`` on the meta device, materialised on the CPU and drawn by :func:`seeded_init`.

    Nothing is drawn from (nor allocated twice by) torch's global generator. Buffers come back
    empty from the meta device: normalisation statistics are reset by their rule, and any other
    buffer raises :class:`UnknownInitError` (its value would be lost).
    """
    with torch.device("meta"):
        model = build()
    for name, module in model.named_modules():
        if (
            not isinstance(module, _NormBase)
            and next(module.buffers(recurse=False), None) is not None
        ):
            raise UnknownInitError(
                f"{_qualname(type(module))} (module {name or 'model'!r}) holds buffers that a meta-device "
                "build cannot restore: build it normally and call seeded_init."
            )
    return seeded_init(model.to_empty(device="cpu"), seed)
