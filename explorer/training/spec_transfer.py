"""Fine-tuning a model built from a declarative spec: an imported Keras / ONNX model on Training.

An imported model's catalog-like key (``own-<digest>``) resolves only in the web process that
imported it, so a training job cannot name it. The job carries the model itself instead, as
plain data: a :class:`~explorer.training.transfer_weights.SourceWeights` of kind ``"spec"``
whose ``build`` holds the spec's JSON and the pixel scale the model expects, and whose
``state_dict`` holds its weights (CPU tensors). The worker validates both before it allocates
anything (:func:`check_spec_source`: the JSON's size, the spec's rules, the parameter and
activation caps on the meta device, every weight's name and shape, finite values), then builds
the model through the engine's spec builder (:mod:`explorer.models.spec_modules`).

The model trains on logits (its output sigmoid / softmax taken off, as the pages show it); a new
classifier head (the ``linear`` node that makes the output) is drawn when the target has another
number of classes. The data are made to fit the model's own input (:func:`to_spec_input`): its
height and width (resized), its channels (grey images repeated into a colour model's three), and
its pixel range (a model that rescales 0-255 pixels itself gets them scaled, by a forward
pre-hook, so the run's images stay 0-1). The result carries the trained spec (the output
activation for the new task put back) so the web process registers it as the browser's model.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from explorer.data.datasets import Splits
from explorer.models.checkpoint import MAX_HEADER_BYTES
from explorer.models.errors import CheckpointError
from explorer.models.imported_entry import logits_spec, own_key
from explorer.models.plan import check_finite, check_shapes
from explorer.models.spec import ModelSpec, infer_shapes
from explorer.models.spec_modules import build_model, plan_spec
from explorer.training.transfer_weights import SourceWeights, TransferError, reset_seeded

SPEC_KIND = "spec"
MAX_SPEC_CHARS = MAX_HEADER_BYTES  # the spec travels in a checkpoint's header too
PASS_THROUGH = ("act", "identity", "dropout")  # nodes between the head and the output


def spec_source(
    spec: ModelSpec,
    state_dict: dict[str, torch.Tensor],
    *,
    arch: str,
    title: str,
    classes: tuple[str, ...] = (),
    dataset: str = "",
    pixel_scale: float = 1.0,
) -> SourceWeights:
    """An imported model as a transfer source: its spec's JSON and weights as plain job data."""
    return SourceWeights(
        SPEC_KIND,
        arch,
        {"spec": spec.to_json(), "pixel_scale": float(pixel_scale)},
        {k: v.detach().cpu() for k, v in state_dict.items()},
        tuple(classes),
        dataset,
        title=title,
    )


def _refused(reason: str) -> TransferError:
    return TransferError(f"Your imported model cannot be fine-tuned: {reason}")


def check_spec_source(source: SourceWeights) -> ModelSpec:
    """The source's spec, validated with its weights before anything is built (TransferError
    with one sentence otherwise): size of the JSON, the spec's rules, the caps on parameters and
    activations (on the meta device), every weight's name and shape, finite values."""
    text = source.build.get("spec")
    if not isinstance(text, str):
        raise _refused("the job carries no model spec.")
    if len(text) > MAX_SPEC_CHARS:
        raise _refused(
            f"its spec is {len(text):,} characters long; the limit is {MAX_SPEC_CHARS:,}."
        )
    scale = source.build.get("pixel_scale", 1.0)
    if not isinstance(scale, int | float) or not 0 < scale <= 255:
        raise _refused("its pixel scale must lie in (0, 255].")
    state = source.state_dict
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise _refused("its weights are not a dictionary of tensors.")
    try:
        spec = ModelSpec.from_json(text)
        check_shapes(plan_spec(spec).state_shapes, {k: tuple(v.shape) for k, v in state.items()})
        check_finite(state)
    except CheckpointError as err:
        raise _refused(str(err)) from None
    return spec


def memory_problems(source: SourceWeights, settings: Any) -> list[str]:
    """The per-job memory limit for fine-tuning this imported model with ``settings`` (batch,
    optimiser, what trains), estimated on the meta device: sentences, empty when it fits."""
    from explorer.training.freezing import apply_freeze
    from explorer.training.limits import memory_problems as problems
    from explorer.training.limits import step_memory

    spec = check_spec_source(source)
    with torch.device("meta"):
        model = build_model(logits_spec(spec)[0])
    apply_freeze(model, settings.freeze)
    est = step_memory(model, spec.input_shape, settings.optimizer)
    return problems(
        settings.model,
        settings.dataset,
        settings.optimizer,
        settings.batch_size,
        settings.train_samples,
        est,
    )


def head_node(spec: ModelSpec) -> str | None:
    """The ``linear`` node that makes the output (through activations, identities, dropouts
    only), or None when the output is made otherwise (a convolution, a pooling)."""
    nodes = {n.name: n for n in spec.nodes}
    node = nodes[spec.output]
    while node.op in PASS_THROUGH and node.inputs and node.inputs[0] in nodes:
        node = nodes[node.inputs[0]]
    return node.name if node.op == "linear" else None


def with_classes(spec: ModelSpec, num_classes: int) -> tuple[ModelSpec, str | None]:
    """(the spec with ``num_classes`` outputs, the head node replaced or None when it fits)."""
    shape = infer_shapes(spec)[spec.output]
    if shape and int(shape[-1]) == num_classes and len(shape) == 1:
        return spec, None
    head = head_node(spec)
    if head is None:
        raise _refused(
            f"it has {tuple(shape)} outputs and its last layer is not a Dense / Gemm layer, so it "
            f"cannot get a new head for {num_classes} class(es)."
        )
    nodes = tuple(
        replace(n, args={**n.args, "out_features": num_classes}) if n.name == head else n
        for n in spec.nodes
    )
    new = replace(spec, nodes=nodes)
    out = infer_shapes(new)[new.output]
    if tuple(out) != (num_classes,):
        raise _refused(
            f"its output after the new head has shape {tuple(out)}, not one score per class."
        )
    return new, head


def with_output_activation(spec: ModelSpec, removed: str, task: str) -> ModelSpec:
    """Put back the output activation the file had (``removed``), as the new task needs it: a
    sigmoid for one binary logit, a softmax over several classes; nothing if it had none."""
    if not removed:
        return spec
    fn = "sigmoid" if task == "binary" else "softmax"
    out = next(n for n in spec.nodes if n.name == spec.output)
    if out.op in ("linear", "conv2d"):
        node = replace(out, args={**out.args, "activation": fn})
    elif out.op == "identity":
        node = replace(out, op="act", args={"fn": fn})
    else:
        return spec
    return replace(spec, nodes=tuple(node if n.name == out.name else n for n in spec.nodes))


def build_spec_transfer(
    source: SourceWeights, num_classes: int, in_channels: int
) -> tuple[nn.Module, dict[str, Any], dict[str, list[str]]]:
    """The imported model for ``num_classes`` outputs, holding its weights except a new head when
    the classes differ. Returns (model, build, load report); ``build`` carries the spec that
    trains (logits) and what the result needs (see :func:`trained_spec`)."""
    spec = check_spec_source(source)
    if in_channels != spec.input_shape[0]:
        raise _refused(
            f"it reads {spec.input_shape[0]} channel(s) and the images have {in_channels}."
        )
    logits, task, removed = logits_spec(spec)
    new, head = with_classes(logits, num_classes)
    model = build_model(new)
    state = dict(source.state_dict or {})
    fresh = [k for k in model.state_dict() if head is not None and k.split(".", 1)[0] == head]
    model.load_state_dict({k: v for k, v in state.items() if k not in fresh}, strict=False)
    if head is not None:
        reset_seeded(model.get_submodule(head))
    build = {
        "spec": new.to_json(),
        "removed": removed,
        "task": "binary" if num_classes == 1 else "multiclass",
        "pixel_scale": float(source.build.get("pixel_scale", 1.0)),
    }
    copied = [k for k in model.state_dict() if k not in fresh]
    return model.train(), build, {"copied": copied, "adapted": [], "new": fresh}


FINE_TUNED = " (fine-tuned)"


def trained_spec(build: dict[str, Any]) -> ModelSpec:
    """The spec a fine-tuned model is saved and registered with: the trained one, its output
    activation put back for the new task, its title marked as fine-tuned (so its key differs
    from the file's, whose entry keeps naming the file)."""
    spec = ModelSpec.from_json(build["spec"])
    spec = with_output_activation(spec, build.get("removed", ""), build.get("task", "multiclass"))
    title = spec.title or "Your model"
    if not title.endswith(FINE_TUNED):
        title = title[: 200 - len(FINE_TUNED)] + FINE_TUNED
    return replace(spec, title=title)


def finish_result(result: Any, build: dict[str, Any]) -> None:
    """Name a finished run's model by its trained spec: ``arch`` its own key, ``spec_json`` its
    graph (the web process registers it), the build the pixel range it expects."""
    spec = trained_spec(build)
    result.spec_json = spec.to_json()
    result.arch = own_key(spec)
    result.build = {}
    result.metrics["pixel_scale"] = build.get("pixel_scale", 1.0)


# -- the data, made to fit the model's input -----------------------------------------------------


def fits_input(data_shape: tuple[int, ...], model_shape: tuple[int, ...]) -> bool:
    """Whether images of ``data_shape`` (C, H, W) can feed a model of ``model_shape``: the same
    channels, or grey images for a colour model; any size (they are resized)."""
    c, m = int(data_shape[0]), int(model_shape[0])
    return c == m or (c == 1 and m == 3)


_RULE = (
    "a model reads images of its own number of channels (a colour model also reads grey ones, "
    "repeated into R, G and B)."
)


def no_fit_message(model_shape: tuple[int, ...], data_channels: int | None = None) -> str:
    """What the page says when no dataset fits the model's input (``data_channels``: when these
    images, with that many channels, do not)."""
    c, h, w = model_shape
    if data_channels is None:
        return (
            f"No dataset here fits your model's input ({c} channel(s), {h} x {w} pixels): the "
            f"datasets have 1 (grey) or 3 (colour) channels, and {_RULE}"
        )
    return (
        f"Your model reads {c} channel(s) ({h} x {w} pixels) and these images have "
        f"{data_channels}: {_RULE}"
    )


def to_spec_input(data: Splits, model_shape: tuple[int, ...]) -> Splits:
    """The splits as the model reads them: resized to its height and width (bilinear,
    antialiased), grey repeated into three channels for a colour model; pixels stay 0-1."""
    c, h, w = (int(v) for v in model_shape)
    if not fits_input(tuple(data.x_train.shape[1:]), model_shape):
        raise TransferError(no_fit_message((c, h, w), int(data.x_train.shape[1])))

    def fit(x: torch.Tensor) -> torch.Tensor:  # N x C' x H' x W' -> N x c x h x w
        if tuple(x.shape[-2:]) != (h, w):
            x = F.interpolate(
                x.float(), size=(h, w), mode="bilinear", antialias=True, align_corners=False
            ).clamp(0, 1)
        return x.expand(-1, c, -1, -1).contiguous() if x.shape[1] != c else x

    return Splits(
        data.info,
        fit(data.x_train),
        data.y_train,
        fit(data.x_val),
        data.y_val,
        fit(data.x_test),
        data.y_test,
        meta={**data.meta, "resized_to": h},
    )


class ScaleInput:
    """A forward pre-hook: the model's input multiplied by ``scale`` (0-1 pixels -> 0-255 for a
    model that rescales them itself), so the run's images and snapshots stay 0-1."""

    def __init__(self, scale: float) -> None:
        self.scale = float(scale)

    def __call__(self, module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...]:
        return (args[0] * self.scale, *args[1:])
