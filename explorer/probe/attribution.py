"""Which input pixels a prediction rests on: captum's attribution methods behind one call.

``attribute(model, x, target, method)`` returns an H x W map in [0, 1] for every method, so
the page can draw any of them the same way. Captum registers its own hooks (Grad-CAM) and
removes them; only the input gets gradients (``torch.autograd.grad``), so a shared model's
weights never change and never collect a ``.grad`` (its settings are changed for each pass and
restored, below, while ``hold()`` - the shared model's lock - is held).

Multi-pass methods (integrated gradients: one forward and backward pass per step) run in
batches of ``batch_size`` inputs, report progress after every batch, can be stopped between
batches, and can be priced before they start from one measured forward + backward pass
(:func:`measure_pass`, :func:`estimate_seconds`). Integrated gradients is captum's rule
(Gauss-Legendre nodes, zero baseline) stepped here batch by batch, tested equal to captum's
``IntegratedGradients``: captum runs its batches inside one call, which would keep a shared model
locked for the whole run (17 s for VGG-16 on a CPU) while every other user of it waits; here the
model is held for one batch at a time.

Speed without changing the answer: during each pass the parameters stop asking for gradients
(the backward pass then computes input gradients only, never weight gradients) and a
convolutional model on the CPU runs in channels-last memory order (oneDNN's fast layout, about
1.2x to 1.4x faster here); both are restored after the pass, also after an error. A caller may
also choose ``precision="bfloat16"`` (autocast): about twice as fast on CPUs with bfloat16
instructions, at the price of maps that match the float32 ones only to about 2 to 3 digits.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

DEFAULT_STEPS = (
    50  # integrated gradients: Sundararajan et al. use 20 to 300; 50 is captum's default
)
MIN_STEPS, MAX_STEPS = 4, 200
DEFAULT_BATCH = 10  # inputs per forward/backward pass: most of the CPU speed-up, bounded memory


@dataclass(frozen=True)
class Method:
    key: str
    title: str
    explanation: str
    multi_pass: bool = False  # one forward + backward pass per step (priced and batched)


METHODS: dict[str, Method] = {
    m.key: m
    for m in [
        Method(
            "saliency",
            "Saliency (|gradient|)",
            "How much a tiny change of each pixel would change the class score (Simonyan et al., 2014).",
        ),
        Method(
            "integrated_gradients",
            "Integrated gradients",
            "Gradients summed along a straight path from the baseline to this image; the pixels' "
            "shares add up to the difference in class score (Sundararajan et al., 2017). The "
            "baseline is the all-zero input after normalisation: for ImageNet models that is the "
            "mean-colour (grey-brown) image, not a black one.",
            multi_pass=True,
        ),
        Method(
            "grad_cam",
            "Grad-CAM",
            "The last feature maps weighted by how much the class score grows with each channel: "
            "coarse, but shows where the evidence is (Selvaraju et al., 2017).",
        ),
    ]
}


class AttributionError(ValueError):
    """An attribution that cannot be computed for this model or target."""


class AttributionCancelled(RuntimeError):
    """The caller asked a running attribution to stop (between two batches)."""


Progress = Callable[[int, int], None]  # (inputs done, inputs in all)
Hold = Callable[[], contextlib.AbstractContextManager]  # holds a shared model for one pass

PRECISIONS = ("float32", "bfloat16")


def bfloat16_is_fast(device: torch.device | str = "cpu") -> bool:
    """Whether autocast to bfloat16 is worth offering on ``device`` (CPUs with bf16 instructions,
    or a CUDA GPU that supports it)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device.type != "cpu":
        return False
    check = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    try:
        return bool(check()) if check is not None else False
    except RuntimeError:  # an op this build lacks
        return False


@contextlib.contextmanager
def _gradient_mode(model: nn.Module, x: torch.Tensor) -> Iterator[torch.Tensor]:
    """The model set up for input gradients only, in the fastest exact layout; ``x`` in it.

    Parameters stop requiring gradients (autograd then skips every weight gradient) and a
    convolutional model on the CPU moves to channels-last order. Both come back on exit.
    """
    params = list(model.parameters())
    wanted = [p.requires_grad for p in params]
    convs = [p for p in params if p.dim() == 4]
    to_channels_last = (
        x.dim() == 4
        and x.device.type == "cpu"
        and bool(convs)
        and all(p.is_contiguous() for p in convs)
    )
    try:
        for p in params:
            p.requires_grad_(False)
        if to_channels_last:
            model.to(memory_format=torch.channels_last)
            x = x.contiguous(memory_format=torch.channels_last)
        yield x
    finally:
        if to_channels_last:
            model.to(memory_format=torch.contiguous_format)
        for p, flag in zip(params, wanted, strict=True):
            p.requires_grad_(flag)


def _autocast(x: torch.Tensor, precision: str) -> contextlib.AbstractContextManager:
    if precision not in PRECISIONS:
        raise AttributionError(
            f"Unknown precision {precision!r}: use one of {', '.join(PRECISIONS)}."
        )
    if precision == "float32":
        return contextlib.nullcontext()
    return torch.autocast(x.device.type, dtype=torch.bfloat16)


def passes(method: str, steps: int = DEFAULT_STEPS) -> int:
    """How many inputs go through a forward and a backward pass for ``method``."""
    return steps if METHODS[method].multi_pass else 1


def batches(method: str, steps: int, batch_size: int) -> int:
    """How many batched forward + backward passes ``method`` makes."""
    return math.ceil(passes(method, steps) / max(1, batch_size))


def estimate_seconds(method: str, steps: int, batch_size: int, seconds_per_batch: float) -> float:
    """Expected run time from the measured cost of one batched forward + backward pass."""
    return batches(method, steps, batch_size) * seconds_per_batch


def measure_pass(
    model: nn.Module,
    x: torch.Tensor,
    target: int,
    batch_size: int,
    warmup: bool = True,
    precision: str = "float32",
) -> float:
    """Seconds of one forward + backward pass (gradient of the input only) on ``batch_size``
    copies of ``x``: the unit that :func:`estimate_seconds` scales. A first untimed pass on one
    input pays the one-off costs (kernel selection, allocations) that a long run does not."""
    was_training = model.training
    model.eval()

    def one_pass(xf: torch.Tensor, n: int) -> float:
        xs = xf.detach().expand(n, *x.shape[1:]).clone().requires_grad_(True)  # n x C x H x W
        start = time.perf_counter()
        with _autocast(xs, precision):
            out = model(xs).float()
        torch.autograd.grad(out[:, target].sum(), xs)
        return time.perf_counter() - start

    try:
        with torch.enable_grad(), _gradient_mode(model, x.detach()) as xf:
            if warmup:
                one_pass(xf, 1)
            return one_pass(xf, batch_size)
    finally:
        model.train(was_training)


def _check_target(
    model: nn.Module,
    x: torch.Tensor,
    target: int,
    outputs: int | None,
    hold: Hold = contextlib.nullcontext,
) -> None:
    if outputs is None:
        with hold(), torch.no_grad():
            outputs = model(x).shape[-1]
    if not 0 <= target < outputs:
        raise AttributionError(f"Class {target} does not exist: the model has {outputs} output(s).")


def _normalise(heat: torch.Tensor) -> np.ndarray:
    heat = heat.detach().float().cpu()
    top = float(heat.max())
    return (heat / top if top > 0 else heat).numpy()


def _metered(
    model: nn.Module,
    total: int,
    progress: Progress | None,
    should_stop: Callable[[], bool] | None,
    precision: str = "float32",
) -> Callable[[torch.Tensor], torch.Tensor]:
    """The model as a function that reports each batch and stops when asked (between batches)."""
    done = 0

    def forward(x: torch.Tensor) -> torch.Tensor:
        nonlocal done
        if should_stop is not None and should_stop():
            raise AttributionCancelled("The attribution was stopped before it finished.")
        if progress is not None:
            progress(min(done, total), total)
        with _autocast(x, precision):
            out = model(x).float()
        done += x.shape[0]
        return out

    return forward


def _integrated_gradients(
    model: nn.Module,
    x: torch.Tensor,
    target: int,
    steps: int,
    batch_size: int,
    precision: str,
    hold: Hold,
    progress: Progress | None,
    should_stop: Callable[[], bool] | None,
) -> torch.Tensor:
    """captum's integrated gradients (Gauss-Legendre rule, zero baseline), batch by batch.

    The model is held (``hold()``) for one batch's forward and backward pass at a time, not for
    the whole run, so other users of a shared model wait one batch, not the whole attribution.
    Returns the C x H x W attribution.
    """
    nodes, weights = np.polynomial.legendre.leggauss(steps)  # captum's "gausslegendre"
    alphas = torch.tensor(0.5 * (nodes + 1), dtype=torch.float32)
    sizes = torch.tensor(0.5 * weights, dtype=torch.float32)
    baseline = torch.zeros_like(x)  # the normalised input's zero: the dataset's mean colour
    total = torch.zeros(x.shape[1:], dtype=torch.float32, device=x.device)  # C x H x W
    for start in range(0, steps, batch_size):
        if should_stop is not None and should_stop():
            raise AttributionCancelled("The attribution was stopped before it finished.")
        if progress is not None:
            progress(start, steps)
        a = alphas[start : start + batch_size].to(x.device).view(-1, 1, 1, 1)  # n x 1 x 1 x 1
        with hold(), torch.enable_grad(), _gradient_mode(model, x) as xf:
            scaled = (baseline + a * (xf - baseline)).requires_grad_(True)  # n x C x H x W
            with _autocast(scaled, precision):
                out = model(scaled).float()
            (grads,) = torch.autograd.grad(out[:, target].sum(), scaled)
        w = sizes[start : start + batch_size].to(x.device).view(-1, 1, 1, 1)
        total += (grads.float() * w).sum(0)
    return (x[0] - baseline[0]) * total


def attribute(
    model: nn.Module,
    x: torch.Tensor,
    target: int,
    method: str,
    *,
    layer: str | None = None,
    steps: int = DEFAULT_STEPS,
    batch_size: int | None = DEFAULT_BATCH,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    outputs: int | None = None,
    precision: str = "float32",
    hold: Hold | None = None,
) -> np.ndarray:
    """An H x W map in [0, 1] of how much each input pixel supports output ``target``.

    ``x`` is one preprocessed input (1 x C x H x W). Grad-CAM needs ``layer``, the name of a
    module whose output is a feature map (the last convolutional stage is the usual choice).
    Integrated gradients integrates from the zero input (the normalised mean image) in
    ``steps`` steps, ``batch_size`` at a time (None: all at once). ``progress(done, total)``
    is called before every batch and at the end; ``should_stop()`` returning True raises
    :class:`AttributionCancelled` before the next batch. ``outputs`` (the number of model
    outputs, when known) saves a forward pass that only checks ``target``. ``precision``
    "bfloat16" runs the model under autocast (faster, about 2 to 3 digits). ``hold()`` (e.g. a
    shared model's lock) is entered around each pass: once per batch for integrated gradients.
    """
    _check_request(method, steps, x, precision)
    hold = hold or contextlib.nullcontext
    was_training = model.training
    model.eval()
    total = passes(method, steps)
    try:
        _check_target(model, x, target, outputs, hold)
        if method == "integrated_gradients":
            run = (batch_size or steps, precision, hold, progress, should_stop)
            attr = _integrated_gradients(model, x.detach(), target, steps, *run)
            heat = attr.abs().sum(0)  # C x H x W -> H x W
        else:
            with hold():
                heat = _one_pass(
                    model,
                    x,
                    target,
                    method,
                    layer,
                    _metered(model, total, progress, should_stop, precision),
                )
    finally:
        model.train(was_training)
    if progress is not None:
        progress(total, total)
    return _normalise(heat)


def _check_request(method: str, steps: int, x: torch.Tensor, precision: str) -> None:
    """One clear AttributionError for an unknown method, steps out of bounds or an unknown
    precision, before any work."""
    if method not in METHODS:
        raise AttributionError(
            f"Unknown attribution method {method!r}: use one of {', '.join(METHODS)}."
        )
    if METHODS[method].multi_pass and not MIN_STEPS <= steps <= MAX_STEPS:
        raise AttributionError(f"Steps must be between {MIN_STEPS} and {MAX_STEPS}, got {steps}.")
    _autocast(x, precision)  # checks the name


def _one_pass(
    model: nn.Module,
    x: torch.Tensor,
    target: int,
    method: str,
    layer: str | None,
    forward: Callable[[torch.Tensor], torch.Tensor],
) -> torch.Tensor:
    """Saliency or Grad-CAM (captum), one forward and backward pass: the H x W map."""
    from captum.attr import LayerAttribution, LayerGradCam, Saliency

    with torch.enable_grad(), _gradient_mode(model, x.detach().clone()) as xi:
        if method == "saliency":
            attr = Saliency(forward).attribute(xi.requires_grad_(True), target=target, abs=True)
            return attr[0].sum(0)  # C x H x W -> H x W
        modules = dict(model.named_modules())
        if layer not in modules:
            raise AttributionError(f"Grad-CAM needs a feature-map layer; {layer!r} is not one.")
        cam = LayerGradCam(forward, modules[layer]).attribute(
            xi, target=target, relu_attributions=True
        )
        if cam.dim() != 4:
            raise AttributionError(f"Grad-CAM needs a feature-map layer; {layer!r} is not one.")
        # 1 x 1 x h x w -> 1 x 1 x H x W, so it lies on the image
        return LayerAttribution.interpolate(cam, tuple(xi.shape[-2:]), "bilinear")[0, 0].clamp(
            min=0
        )
