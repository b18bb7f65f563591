"""Which input pixels a prediction rests on: captum's attribution methods behind one call.

``attribute(model, x, target, method)`` returns an H x W map in [0, 1] for every method, so
the page can draw any of them the same way. Captum registers its own hooks (Grad-CAM) and
removes them; only the input gets gradients (``torch.autograd.grad``), so a shared model's
parameters are never touched.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


@dataclass(frozen=True)
class Method:
    key: str
    title: str
    explanation: str


METHODS: dict[str, Method] = {m.key: m for m in [
    Method("saliency", "Saliency (|gradient|)",
           "How much a tiny change of each pixel would change the class score (Simonyan et al., 2014)."),
    Method("integrated_gradients", "Integrated gradients",
           "Gradients summed along a path from a black image to this one; the pixels' shares add up "
           "to the score difference (Sundararajan et al., 2017)."),
    Method("grad_cam", "Grad-CAM",
           "The last feature maps weighted by how much the class score grows with each channel: "
           "coarse, but shows where the evidence is (Selvaraju et al., 2017)."),
]}  # fmt: skip


class AttributionError(ValueError):
    """An attribution that cannot be computed for this model or target."""


def _check_target(model: nn.Module, x: torch.Tensor, target: int) -> None:
    with torch.no_grad():
        outputs = model(x).shape[-1]
    if not 0 <= target < outputs:
        raise AttributionError(f"Class {target} does not exist: the model has {outputs} output(s).")


def _normalise(heat: torch.Tensor) -> np.ndarray:
    heat = heat.detach().float().cpu()
    top = float(heat.max())
    return (heat / top if top > 0 else heat).numpy()


def attribute(
    model: nn.Module, x: torch.Tensor, target: int, method: str, *,
    layer: str | None = None, steps: int = 32,
) -> np.ndarray:  # fmt: skip
    """An H x W map in [0, 1] of how much each input pixel supports output ``target``.

    ``x`` is one preprocessed input (1 x C x H x W). Grad-CAM needs ``layer``, the name of a
    module whose output is a feature map (the last convolutional stage is the usual choice).
    """
    from captum.attr import IntegratedGradients, LayerAttribution, LayerGradCam, Saliency

    if method not in METHODS:
        raise AttributionError(f"Unknown attribution method {method!r}: use one of {', '.join(METHODS)}.")
    was_training = model.training
    model.eval()
    xi = x.detach().clone()
    try:
        _check_target(model, xi, target)
        with torch.enable_grad():
            if method == "saliency":
                attr = Saliency(model).attribute(xi.requires_grad_(True), target=target, abs=True)
                heat = attr[0].sum(0)  # C x H x W -> H x W
            elif method == "integrated_gradients":
                ig = IntegratedGradients(model)
                attr = ig.attribute(xi, baselines=torch.zeros_like(xi), target=target, n_steps=steps,
                                    internal_batch_size=8)  # fmt: skip
                heat = attr[0].abs().sum(0)
            else:
                modules = dict(model.named_modules())
                if layer not in modules:
                    raise AttributionError(f"Grad-CAM needs a feature-map layer; {layer!r} is not one.")
                cam = LayerGradCam(model, modules[layer]).attribute(xi, target=target, relu_attributions=True)
                if cam.dim() != 4:
                    raise AttributionError(f"Grad-CAM needs a feature-map layer; {layer!r} is not one.")
                # 1 x 1 x h x w -> 1 x 1 x H x W, so it lies on the image
                heat = LayerAttribution.interpolate(cam, tuple(xi.shape[-2:]), "bilinear")[0, 0].clamp(min=0)
    finally:
        model.train(was_training)
    return _normalise(heat)
