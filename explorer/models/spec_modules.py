"""A :class:`~explorer.models.spec.ModelSpec` built into an ``nn.Module``, planned on the meta
device, and saved / loaded beside its weights in the app's one checkpoint format.

Each node becomes one child module (:mod:`explorer.models.spec_layers`) named as the node
(``model.conv2d_1``), so forward hooks, summaries and diagrams see the file's own layer names. A
checkpoint of a spec model is a safetensors file whose metadata holds the usual ``explorer``
JSON (arch ``"imported"``) and the spec's JSON under ``explorer_spec``: the model rebuilds
strictly from the file alone, every size checked before a real tensor exists.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from explorer.models.checkpoint import META_KEY, CheckpointMeta, read_header
from explorer.models.errors import (
    CheckpointFormatError,
    CheckpointMismatchError,
    CheckpointRefusedError,
)
from explorer.models.plan import (
    MAX_ACTIVATION_BYTES,
    MAX_PARAMETERS,
    _activation_bytes,
    check_finite,
    check_shapes,
)
from explorer.models.spec import INPUT, ModelSpec
from explorer.models.spec_layers import node_module

SPEC_KEY = "explorer_spec"
SPEC_ARCH = "imported"


class SpecModel(nn.Module):
    """The graph of a :class:`ModelSpec`: one child module per node, run in the spec's order."""

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        self.spec = spec
        for node in spec.nodes:
            self.add_module(node.name, node_module(node))
        last_use = {}
        for i, node in enumerate(spec.nodes):
            for name in node.inputs:
                last_use[name] = i
        self._free = [
            [n for n in dict.fromkeys(node.inputs) if last_use[n] == i and n != spec.output]
            for i, node in enumerate(spec.nodes)
        ]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values = {INPUT: x}
        for node, free in zip(self.spec.nodes, self._free, strict=True):
            values[node.name] = self._modules[node.name](*(values[i] for i in node.inputs))
            for name in free:  # drop what no later node reads (memory of deep graphs)
                del values[name]
        return values[self.spec.output]


def build_model(spec: ModelSpec) -> SpecModel:
    """The spec's model in eval mode (weights as torch initialises them)."""
    return SpecModel(spec).eval()


@dataclass(frozen=True)
class SpecPlan:
    """What a spec model costs, measured on the meta device (nothing real allocated)."""

    parameters: int
    activation_bytes: int
    state_shapes: dict[str, tuple[int, ...]]


def plan_spec(spec: ModelSpec) -> SpecPlan:
    """Build on meta, count parameters and activation memory, refuse above the catalog's caps."""
    try:
        with torch.device("meta"):
            model = build_model(spec)
    except (
        KeyError,
        ValueError,
        TypeError,
        RuntimeError,
    ) as err:  # e.g. a node named as a Module attribute
        raise CheckpointRefusedError(f"The model cannot be built: {str(err)[:160]}") from None
    params = sum(p.numel() for p in model.parameters())
    if params > MAX_PARAMETERS:
        raise CheckpointRefusedError(
            f"The model would have {params:,} parameters; the limit is {MAX_PARAMETERS:,}."
        )
    act = _activation_bytes(model, torch.empty((1, *spec.input_shape), device="meta"))
    if act > MAX_ACTIVATION_BYTES:
        raise CheckpointRefusedError(
            f"The model would need {act / 2**20:,.0f} MB of activations for one input; the limit is "
            f"{MAX_ACTIVATION_BYTES // 2**20:,} MB."
        )
    return SpecPlan(params, act, {k: tuple(v.shape) for k, v in model.state_dict().items()})


def model_from_spec(spec: ModelSpec, state: dict[str, torch.Tensor]) -> SpecModel:
    """The spec's model loaded strictly from ``state`` (shapes and finiteness checked first)."""
    plan = plan_spec(spec)
    check_shapes(plan.state_shapes, {k: tuple(v.shape) for k, v in state.items()})
    check_finite(state)
    model = build_model(spec)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise CheckpointMismatchError(
            f"The weights do not fit this model: {str(err)[:160]}"
        ) from None
    return model


def save_spec_checkpoint(
    model: nn.Module | dict[str, torch.Tensor], spec: ModelSpec, meta: CheckpointMeta | None = None
) -> bytes:
    """A checkpoint (safetensors) holding the weights, the app's metadata and the spec."""
    from safetensors.torch import save

    state = model.state_dict() if isinstance(model, nn.Module) else model
    state = {k: v.detach().cpu().contiguous().clone() for k, v in state.items()}
    meta = meta or CheckpointMeta(arch=SPEC_ARCH)
    return save(state, metadata={META_KEY: meta.to_json(), SPEC_KEY: spec.to_json()})


def is_spec_checkpoint(data: bytes) -> bool:
    """Whether a (header-checked) checkpoint carries a model spec."""
    return SPEC_KEY in read_header(data).metadata


def model_from_spec_checkpoint(data: bytes) -> tuple[SpecModel, ModelSpec, CheckpointMeta]:
    """Rebuild a spec model strictly from its checkpoint alone; every check before reading tensors."""
    from safetensors.torch import load

    header = read_header(data)
    if SPEC_KEY not in header.metadata:
        raise CheckpointFormatError(
            "This checkpoint holds no model spec ('explorer_spec' metadata)."
        )
    spec = ModelSpec.from_json(header.metadata[SPEC_KEY])
    meta = (
        CheckpointMeta.from_json(header.metadata[META_KEY])
        if META_KEY in header.metadata
        else CheckpointMeta(arch=SPEC_ARCH)
    )
    check_shapes(plan_spec(spec).state_shapes, header.shapes())
    try:
        state = load(bytes(data))
    except Exception as err:
        raise CheckpointFormatError(
            f"This is not a readable safetensors file ({str(err)[:100]})."
        ) from None
    return model_from_spec(spec, state), spec, meta
