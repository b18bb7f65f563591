"""What the child process that decodes a user's image set runs (:mod:`explorer.data.image_sets`
starts it): the checked entries of a zip, or images added per class, decoded and reduced.

Nothing here imports torch (a test checks it in a fresh interpreter), so each decoding child
starts in a fraction of a second with PIL and numpy, instead of ~2 s and ~0.5 GB for torch.
"""

from __future__ import annotations

import io
import zipfile

from PIL import Image

from explorer.data.decode import ImageInputError, decode_image
from explorer.data.image_set_checks import Limits, OwnImagesError
from explorer.data.zip_entries import read_entry


def decode_zip(
    data: bytes, wanted: list[tuple[str, int]], limits: Limits
) -> dict[str, list[Image.Image]]:
    """(In the child) the checked entries decoded and reduced, per class."""
    images: dict[str, list[Image.Image]] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = zf.infolist()
        for cls, k in wanted:
            raw = read_entry(zf, infos[k], limits.max_file_bytes, OwnImagesError)
            images.setdefault(cls, []).append(_decode(raw, infos[k].filename, limits))
    return images


def decode_lists(per_class: dict[str, list[bytes]], limits: Limits) -> dict[str, list[Image.Image]]:
    """(In the child) images added per class, decoded and reduced."""
    return {
        c: [_decode(b, f"{c} image {i + 1}", limits) for i, b in enumerate(v)]
        for c, v in per_class.items()
    }


def _decode(raw: bytes, name: str, limits: Limits) -> Image.Image:
    try:
        decoded = decode_image(raw, max_bytes=limits.max_file_bytes, max_side=limits.decode_side)
    except ImageInputError as err:
        raise OwnImagesError(f"{name!r} is not an image this app can read: {err}") from err
    return decoded.display.resize((limits.image_size, limits.image_size), Image.Resampling.BILINEAR)
