"""The preprocessing recipe: how a decoded picture becomes a model's input batch.

Resize the shorter side, centre-crop a square, scale to [0, 1], match the channel count (grey
models take luma), optionally normalise per channel (torchvision's ImageNet recipe), each step
recorded in words with its shapes so the page can show what the model sees. Decoding untrusted
files is :mod:`explorer.data.decode`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from explorer.data.decode import DecodedImage

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
GREY_WEIGHTS = (0.299, 0.587, 0.114)  # ITU-R BT.601 luma, what PIL's convert("L") uses


@dataclass(frozen=True)
class Preprocessing:
    """How an image becomes a model input: resize the shorter side, centre-crop a square,
    scale to [0, 1], match the channel count, optionally normalise per channel."""

    size: int  # side of the square model input
    channels: int = 3  # 1 (grey models) or 3
    resize: int | None = None  # shorter side before the crop; None: straight to ``size``
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    name: str = "custom"


def imagenet_preprocessing(size: int = 224) -> Preprocessing:
    """torchvision's ImageNet recipe: shorter side to 256/224 * size, centre crop, normalise."""
    return Preprocessing(
        size=size,
        channels=3,
        resize=round(size * 256 / 224),
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        name="ImageNet",
    )


@dataclass(frozen=True, eq=False)
class ModelInput:
    """The batch a model sees, the same pixels as a picture, and the steps in words."""

    x: torch.Tensor  # 1 x C x size x size, normalised when the recipe says so
    view: np.ndarray  # size x size x 3 uint8: what the model sees, before normalisation
    steps: list[str]
    crop_box: tuple[int, int, int, int]  # (left, top, right, bottom) in the resized image
    grey_model: bool  # the model takes 1 channel


def preprocess(image: DecodedImage, prep: Preprocessing) -> ModelInput:
    """Turn a decoded image into a model input, recording each step with its shapes."""
    w, h = image.size
    steps = [f"Decoded image: H x W x C = {h} x {w} x 3 (8-bit RGB, 0-255)"]
    if image.was_grey and prep.channels == 3:
        steps.append(
            "The image is grey: its one channel was repeated into R, G and B, "
            "because this model expects 3 channels."
        )
    target = prep.resize or prep.size
    s = target / min(w, h)
    rw, rh = max(target, round(w * s)), max(target, round(h * s))
    resized = (
        image.display.resize((rw, rh), Image.Resampling.BILINEAR, reducing_gap=2.0)
        if (rw, rh) != (w, h)
        else image.display
    )
    if (rw, rh) != (w, h):
        verb = "enlarged" if s > 1 else "reduced"
        steps.append(
            f"Resize (bilinear, {verb}) so the shorter side is {target}: {h} x {w} -> {rh} x {rw}"
        )
    left, top = (rw - prep.size) // 2, (rh - prep.size) // 2
    box = (left, top, left + prep.size, top + prep.size)
    cropped = resized.crop(box) if (rw, rh) != (prep.size, prep.size) else resized
    if (rw, rh) != (prep.size, prep.size):
        steps.append(
            f"Centre crop {prep.size} x {prep.size} (rows {top}-{top + prep.size - 1}, "
            f"columns {left}-{left + prep.size - 1})"
        )
    view = np.asarray(cropped.convert("RGB"), dtype=np.uint8)  # H x W x C
    x = torch.from_numpy(view.copy()).permute(2, 0, 1).float().div_(255.0)  # C x H x W
    steps.append(
        f"To a tensor: H x W x C = {prep.size} x {prep.size} x 3 -> "
        f"C x H x W = 3 x {prep.size} x {prep.size}, values / 255 -> [0, 1]"
    )
    if prep.channels == 1:
        x, view = _to_grey(x, image.was_grey, prep.size, steps)
    if prep.mean is not None and prep.std is not None:
        x = _normalised(x, prep, steps)
    x = x.unsqueeze(0).contiguous()  # 1 x C x H x W
    steps.append(
        f"Add the batch dimension: N x C x H x W = 1 x {prep.channels} x {prep.size} x {prep.size}"
    )
    return ModelInput(x=x, view=view, steps=steps, crop_box=box, grey_model=prep.channels == 1)


def _to_grey(
    x: torch.Tensor, was_grey: bool, size: int, steps: list[str]
) -> tuple[torch.Tensor, np.ndarray]:
    """3 x H x W -> 1 x H x W luma (ITU-R BT.601), and the grey picture the model sees."""
    wr, wg, wb = GREY_WEIGHTS
    x = (wr * x[0] + wg * x[1] + wb * x[2]).unsqueeze(0)  # 1 x H x W
    grey = np.round(x[0].numpy() * 255).astype(np.uint8)
    if was_grey:
        steps.append(
            f"This model expects 1 channel: the grey image keeps its one channel "
            f"(R = G = B), so C x H x W = 1 x {size} x {size}"
        )
    else:
        steps.append(
            f"This model expects 1 channel: the colour image becomes grey = "
            f"{wr} R + {wg} G + {wb} B, so C x H x W = 1 x {size} x {size}"
        )
    return x, np.repeat(grey[:, :, None], 3, axis=2)


def _normalised(x: torch.Tensor, prep: Preprocessing, steps: list[str]) -> torch.Tensor:
    """(x - mean) / std per channel, with the recipe's numbers in words."""
    mean = torch.tensor(prep.mean[: prep.channels]).view(-1, 1, 1)
    std = torch.tensor(prep.std[: prep.channels]).view(-1, 1, 1)
    fmt = ", ".join(f"{v:.3f}" for v in prep.mean[: prep.channels])
    fst = ", ".join(f"{v:.3f}" for v in prep.std[: prep.channels])
    steps.append(
        f"Normalise each channel: (x - mean) / std with the {prep.name} "
        f"mean ({fmt}) and std ({fst})"
    )
    return (x - mean) / std
