"""What a channel looks for: the input that excites it most, found by gradient ascent.

The recipe is the one of Olah, Mordvintsev & Schubert, "Feature Visualization", Distill 2017
(https://distill.pub/2017/feature-visualization/), as implemented in lucid
(``lucid/optvis/param/spatial.py``, ``color.py``, ``transform.py``):

- a **decorrelated Fourier-space parameterisation**: the image is the inverse real FFT of a
  learned spectrum scaled by 1 / frequency, so that every frequency moves at the same rate
  and the high-frequency noise of a plain pixel ascent does not dominate;
- a **colour decorrelation matrix**: the three learned channels are mixed by the square root
  of ImageNet's colour covariance (below), then squashed to [0, 1] by a sigmoid;
- **transformation robustness**: every step sees the image randomly shifted, scaled and
  rotated a little, so only patterns that survive small transformations grow.

Written as a generator of :class:`VisEvent` (like ``training.fit``) so that the UI can run it
as a background job with a progress bar and Stop; closing the generator removes its hooks.
Randomness comes from a local ``torch.Generator`` (the global RNG is never seeded). The model's
parameters are read only: gradients are taken with ``torch.autograd.grad`` with respect to the
image, so a shared cached model is never touched (no ``.grad`` written, mode restored).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from explorer.probe.capture import hooked
from explorer.probe.layers import conv_layers

# The square root of ImageNet's colour covariance (by SVD), from lucid's
# ``lucid/optvis/param/color.py`` (``color_correlation_svd_sqrt``), also in lucent
# (``lucent/optvis/param/color.py``). Rows: R, G, B; columns: the decorrelated components.
COLOR_CORRELATION_SVD_SQRT = torch.tensor(
    [[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]]
)
_COLOR_NORMALISED = COLOR_CORRELATION_SVD_SQRT / COLOR_CORRELATION_SVD_SQRT.norm(dim=0).max()


class FeatureVisError(ValueError):
    """A request the optimisation cannot serve; ``str(err)`` is the message for the page."""


@dataclass(frozen=True)
class VisSettings:
    """How to optimise. The defaults are the Distill article's recipe at a small step count."""

    steps: int = 256
    size: int = 0  # side of the optimised image in pixels; 0: the model's own input size
    lr: float = 0.05  # Adam, as in lucid
    param: str = "fourier"  # "fourier" (decorrelated spectrum) | "pixel" (plain pixels)
    decorrelate: bool = True  # colour decorrelation (3-channel models only)
    transforms: bool = True  # jitter, scale and rotation every step
    jitter: float = 1 / 16  # largest shift, as a fraction of the side
    scale: float = 0.1  # scales drawn from [1 - scale, 1 + scale]
    rotate: float = 10.0  # degrees, drawn from [-rotate, rotate]
    seed: int = 0
    preview_every: int = 32  # a preview image every this many steps; 0: none
    # pixel parameterisation only: projected gradient ascent on this L2 ball
    norm_bound: float = 0.0
    mean: tuple[float, ...] | None = None  # the model's input normalisation, if it has one
    std: tuple[float, ...] | None = None


@dataclass(frozen=True)
class VisEvent:
    """One progress event: the step, the objective (mean activation) and, now and then, images.

    ``transient``: a background job keeps only the newest of these (explorer.training.job)."""

    transient: ClassVar[bool] = True

    step: int
    steps: int
    objective: float
    objectives: tuple[float, ...] = ()  # one per optimised channel
    previews: tuple[np.ndarray, ...] | None = None  # uint8 H x W x C per channel
    done: bool = False
    images: tuple[np.ndarray, ...] | None = None  # the final images, on the last event
    raw: torch.Tensor | None = field(default=None, repr=False)  # final B x C x H x W in model space


def cache_key(
    model_key: str, weights: str, layer: str, channel: int | Sequence[int], settings: VisSettings
) -> str:
    """A stable key for one optimised input: model, weight source/version, layer, channel(s), settings."""
    channels = [channel] if isinstance(channel, int) else list(channel)
    blob = json.dumps(
        [model_key, weights, layer, channels, asdict(settings)], sort_keys=True, default=list
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def layer_output_shape(model: nn.Module, layer: str, input_shape: Sequence[int]) -> tuple[int, ...]:
    """The shape (without batch) of ``layer``'s output for one input of ``input_shape``."""
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    was_training = model.training
    model.eval()
    try:
        with hooked(model, [layer]) as store, torch.no_grad():
            model(torch.zeros(1, *input_shape, device=device))
    finally:
        model.train(was_training)
    if layer not in store:
        raise FeatureVisError(
            f"Layer {layer!r} did not run in the forward pass, so it cannot be optimised."
        )
    return tuple(store[layer].shape[1:])


def check_target(
    model: nn.Module, layer: str, channels: Sequence[int], input_shape: Sequence[int]
) -> int:
    """Raise :class:`FeatureVisError` unless ``layer`` has a spatial output with every channel
    of ``channels``; the layer's channel count."""
    shape = layer_output_shape(model, layer, input_shape)
    if len(shape) != 3:
        raise FeatureVisError(
            f"Layer {layer!r} has no spatial output (its output is {' x '.join(map(str, shape))} per image): "
            "pick a convolution, activation, pooling or block layer."
        )
    n = shape[0]
    for c in channels:
        if not 0 <= int(c) < n:
            raise FeatureVisError(
                f"Channel {c} is out of range: layer {layer!r} has {n} channels (0 to {n - 1})."
            )
    return n


# --------------------------------------------------------------------------- parameterisation


def _freq_scale(h: int, w: int) -> torch.Tensor:
    """lucid's 1 / frequency spectrum scale (``rfft2d_freqs``, decay power 1), h x (w//2+1)."""
    fy = torch.fft.fftfreq(h)[:, None]
    fx = torch.fft.rfftfreq(w)[None, :]
    freqs = torch.sqrt(fx * fx + fy * fy)
    return 1.0 / freqs.clamp(min=1.0 / max(h, w))


class _Image:
    """The learned tensor and how it becomes a B x C x H x W image in [0, 1] (or raw pixels)."""

    def __init__(
        self,
        batch: int,
        channels: int,
        h: int,
        w: int,
        s: VisSettings,
        g: torch.Generator,
        device: torch.device,
    ) -> None:
        self.s, self.h, self.w, self.channels = s, h, w, channels
        if s.param == "fourier":
            shape = (batch, channels, h, w // 2 + 1, 2)
            self.scale = _freq_scale(h, w).to(device)[None, None, ..., None]
            self.var = (torch.randn(shape, generator=g) * 0.01).to(device).requires_grad_(True)
        elif s.param == "pixel":
            init = torch.randn((batch, channels, h, w), generator=g) * 0.01
            self.var = init.to(device).requires_grad_(True)
        else:
            raise FeatureVisError(
                f"Unknown image parameterisation {s.param!r}: use 'fourier' or 'pixel'."
            )

    def image(self) -> torch.Tensor:
        s = self.s
        if s.param == "fourier":
            spectrum = torch.view_as_complex((self.scale * self.var).contiguous())
            # lucid's "magic" 4
            x = torch.fft.irfftn(spectrum, s=(self.h, self.w), norm="ortho") / 4.0
        else:
            x = self.var
        if s.param == "pixel" and s.norm_bound > 0:
            return x  # raw pixels on an L2 ball: the linear-response check of the tests
        if s.decorrelate and self.channels == 3:
            x = torch.einsum("bchw,dc->bdhw", x, _COLOR_NORMALISED.to(x.device))
        return torch.sigmoid(x)

    @torch.no_grad()
    def project(self) -> None:
        """Keep plain pixels inside the L2 ball of radius ``norm_bound`` (per image)."""
        if self.s.param == "pixel" and self.s.norm_bound > 0:
            norms = self.var.flatten(1).norm(dim=1).clamp(min=1e-12)
            factor = (self.s.norm_bound / norms).clamp(max=1.0)
            self.var.mul_(factor[:, None, None, None])


def _random_affine(x: torch.Tensor, s: VisSettings, g: torch.Generator) -> torch.Tensor:
    """Shift, scale and rotate each image of the batch a little (one affine warp, same size)."""
    b = x.shape[0]
    u = torch.rand((b, 4), generator=g).to(x.device) * 2 - 1  # four draws in [-1, 1] per image
    angle = u[:, 0] * math.radians(s.rotate)
    scale = 1 + u[:, 1] * s.scale
    shift = u[:, 2:] * 2 * s.jitter  # grid units: the side is 2
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def to_uint8(x: torch.Tensor, *, stretch: bool = False) -> np.ndarray:
    """A C x H x W image in [0, 1] (or any range with ``stretch``) as uint8 H x W x C."""
    x = x.detach().float().cpu()
    if stretch:
        x = (x - x.min()) / (x.max() - x.min()).clamp(min=1e-12)
    return (x.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()


# --------------------------------------------------------------------------- optimisation


def _objective(
    act: torch.Tensor, channels: torch.Tensor, unit: tuple[int, int] | None
) -> torch.Tensor:
    """Per image b: the mean of its channel ``channels[b]`` over positions (or one unit)."""
    picked = act[torch.arange(act.shape[0], device=act.device), channels]  # B x H x W
    if unit is not None:
        return picked[:, unit[0], unit[1]]
    return picked.flatten(1).mean(dim=1)


def optimise(
    model: nn.Module,
    layer: str,
    channels: int | Sequence[int],
    input_shape: Sequence[int],
    settings: VisSettings | None = None,
    *,
    unit: tuple[int, int] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Iterator[VisEvent]:
    """Gradient ascent on the input for each channel of ``channels`` (one image per channel,
    optimised together as a batch); yields a :class:`VisEvent` per step, the last with the images.

    ``input_shape`` is the model's C x H x W; ``settings.size`` overrides H and W (models with
    global pooling accept other sizes). ``unit`` (row, col) maximises one unit instead of the
    channel's mean. ``should_stop()``, polled after each step, ends the run early with a final
    event (``done``, the images as they are, ``step < steps``): a job's Stop. Raises
    :class:`FeatureVisError` for a channel out of range or a layer without spatial output,
    before any step.
    """
    s = settings or VisSettings()
    chans = [channels] if isinstance(channels, int) else [int(c) for c in channels]
    c_in = int(input_shape[0])
    h = int(s.size) if s.size else int(input_shape[-2])
    w = int(s.size) if s.size else int(input_shape[-1])
    check_target(model, layer, chans, (c_in, h, w))
    if s.steps < 1:
        raise FeatureVisError(f"The optimisation needs at least one step, got {s.steps}.")
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    g = torch.Generator().manual_seed(int(s.seed))
    img = _Image(len(chans), c_in, h, w, s, g, device)
    # Adam as in lucid; on a norm ball, plain projected gradient ascent (Adam's per-pixel step
    # sizes would bend the path towards the ball's corners, not its true maximiser).
    bounded = s.param == "pixel" and s.norm_bound > 0
    opt = torch.optim.SGD([img.var], lr=s.lr) if bounded else torch.optim.Adam([img.var], lr=s.lr)
    target = torch.tensor(chans, device=device)
    normalise = _normaliser(s, device)
    was_training = model.training
    model.eval()
    try:
        with hooked(model, [layer], detach=False) as store:
            for step in range(1, s.steps + 1):
                x = img.image()
                if s.transforms:
                    x = _random_affine(x, s, g)
                model(normalise(x))
                values = _objective(store.pop(layer), target, unit)
                (grad,) = torch.autograd.grad(-values.sum(), [img.var])
                opt.zero_grad(set_to_none=True)
                img.var.grad = grad
                opt.step()
                img.project()
                last = step == s.steps or (should_stop is not None and should_stop())
                yield _event(step, s, values, img, last=last)
                if last:
                    return
    finally:
        model.train(was_training)


def _normaliser(s: VisSettings, device: torch.device) -> Callable[[torch.Tensor], torch.Tensor]:
    """The model's input normalisation ``(x - mean) / std`` (none when the settings have none)."""
    if not (s.mean and s.std):
        return lambda x: x
    mean = torch.tensor(s.mean, device=device)[None, :, None, None]
    std = torch.tensor(s.std, device=device)[None, :, None, None]
    return lambda x: (x - mean) / std


def _event(step: int, s: VisSettings, values: torch.Tensor, img: _Image, *, last: bool) -> VisEvent:
    objectives = tuple(float(v) for v in values.detach().cpu())
    event = VisEvent(step, s.steps, float(np.mean(objectives)), objectives, done=last)
    if not (last or (s.preview_every and step % s.preview_every == 0)):
        return event
    with torch.no_grad():
        raw = img.image()
    stretch = s.param == "pixel" and s.norm_bound > 0
    previews = tuple(to_uint8(x, stretch=stretch) for x in raw)
    if not last:
        return replace(event, previews=previews)
    return replace(event, previews=previews, images=previews, raw=raw)


def run(events: Iterator[VisEvent]) -> VisEvent:
    """Drive an optimisation to its end (scripts, tests, benchmarks); the last event."""
    last = None
    for last in events:  # noqa: B007 - the last event is the result
        pass
    if last is None:
        raise FeatureVisError("The optimisation yielded nothing.")
    return last


# --------------------------------------------------------------------------- the hierarchy


@dataclass(frozen=True)
class HierarchyRow:
    """One row of the hierarchy grid: a depth, its layer and the channels shown."""

    depth: str  # "early" | "middle" | "late"
    layer: str
    channels: tuple[int, ...]


def hierarchy_layers(model: nn.Module) -> list[tuple[str, str]]:
    """An early, a middle and a late convolution of ``model``: [(depth, module path)].

    Chosen among the 2-D convolutions with a kernel larger than 1 x 1 (ResNet's 1 x 1
    shortcut projections and NiN's cccp layers see no more than their input pixel's
    neighbourhood), all convolutions when there are too few; fewer rows for a model with
    fewer than three. Raises :class:`FeatureVisError` for a model without convolutions.
    """
    convs = [n for n, m in conv_layers(model) if max(m.kernel_size) > 1] or [
        n for n, _ in conv_layers(model)
    ]
    if not convs:
        raise FeatureVisError(
            "This model has no convolution, so it has no feature hierarchy to show."
        )
    picks = [0, (len(convs) - 1) // 2, len(convs) - 1]
    depths = ("early", "middle", "late")
    seen: list[tuple[str, str]] = []
    for depth, i in zip(depths, picks, strict=True):
        if all(convs[i] != name for _, name in seen):
            seen.append((depth, convs[i]))
    return seen


def hierarchy(
    model: nn.Module, input_shape: Sequence[int], per_layer: int = 4
) -> list[HierarchyRow]:
    """The hierarchy grid's rows: ``per_layer`` channels spread evenly over each chosen layer."""
    rows = []
    for depth, layer in hierarchy_layers(model):
        n = check_target(model, layer, [0], input_shape)
        chans = sorted({int(round(c)) for c in np.linspace(0, n - 1, min(per_layer, n))})
        rows.append(HierarchyRow(depth, layer, tuple(chans)))
    return rows


def optimise_hierarchy(
    model: nn.Module,
    rows: Sequence[HierarchyRow],
    input_shape: Sequence[int],
    settings: VisSettings | None = None,
) -> Iterator[tuple[int, VisEvent]]:
    """Optimise every row's channels, row after row: yields (row index, event); the last event
    of each row carries its images."""
    for i, row in enumerate(rows):
        for event in optimise(model, row.layer, row.channels, input_shape, settings):
            yield i, event


def hierarchy_titles(
    model: nn.Module, rows: Sequence[HierarchyRow], arch: str | None = None
) -> list[str]:
    """Row titles for the grid: the depth and the paper-style layer name ('early: conv1_1')."""
    from explorer.probe.names import readable_names

    names = readable_names(model, arch)
    return [f"{row.depth}: {names.get(row.layer, row.layer)}" for row in rows]
