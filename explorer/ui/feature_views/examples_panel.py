"""Dataset examples beside the optimised input (Zeiler & Fergus 2014): the images of a chosen set
that excite one channel most, each cropped to the receptive field of its strongest unit.

The images come from an offline dataset of the model's input size (its own, for a bundled
model), the sample photos, or the user's own image set (the per-browser folder the Training page
fills; :func:`explorer.ui.image_set_panel.user_folder`). One pass over the set keeps every
channel's top images (:func:`explorer.probe.dataset_examples.top_examples`), with a progress bar,
so every other channel of that layer is then instant. A pass of a process-wide model on an
offline dataset or the sample photos is nobody's own and is made once per server process
(:mod:`explorer.probe.shared_results`); one on the user's own image set, or of the
user's own model, stays in this session.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import streamlit as st
import torch

from explorer.probe import dataset_examples as de
from explorer.probe import shared_results
from explorer.probe.feature_vis import FeatureVisError
from explorer.ui.feature_views.context import ViewContext
from explorer.ui.state import escape_text

N_EXAMPLES_IMAGES = 1000  # images searched per set (the test split of an offline dataset)
# The float images of one pass stay under this (an ImageNet-size set: about 200 images); only a
# uint8 copy is kept with the result, for the crops.
PASS_BYTES = 128 * 2**20
K = 8  # examples shown per channel
KEPT = 12  # results kept in a session's store (optimised inputs and private passes together)
SAMPLES = "samples"
OWN = "own"


def _own_folder() -> str | None:
    """This browser's image-set folder, when it holds a dataset."""
    from explorer.ui import browser_jobs
    from explorer.ui.image_set_panel import user_folder

    folder = user_folder(browser_jobs.owner_id())
    return str(folder) if (folder / "classes.json").is_file() else None


def sources(ctx: ViewContext) -> dict[str, str]:
    """The image sets offered for this model: source key -> label."""
    out = {}
    key = de.matching_dataset(tuple(int(v) for v in ctx.mi.x.shape[1:]))
    if key is not None:
        out[f"data:{key}"] = f"Test images of '{key}'"
    out[SAMPLES] = "The sample photos"
    if _own_folder() is not None:
        out[OWN] = "My image set (from the Training page)"
    return out


def _images(ctx: ViewContext, source: str) -> tuple:
    """(N x C x H x W images in [0, 1], a caption phrase) of ``source`` for this model."""
    c, size = int(ctx.mi.x.shape[1]), int(ctx.mi.x.shape[-1])
    n = de.images_within(PASS_BYTES, ctx.mi.x[0].numel(), N_EXAMPLES_IMAGES, K)
    if source.startswith("data:"):
        key = source.removeprefix("data:")
        x, _, _ = de.dataset_images(key, n=n)
        return x, f"test images of '{key}' (of {len(x)})"
    if source == SAMPLES:
        x, _ = de.sample_images(ctx.lm.prep)
        return x, f"sample photos (of {len(x)})"
    folder = _own_folder()
    if folder is None:
        raise FeatureVisError(
            "Your image set has expired or was cleared: add it again on Training."
        )
    x = de.own_images(folder, c, size, n=n)
    return x, f"images of your image set (of {len(x)})"


def _pass(ctx: ViewContext, layer: str, source: str) -> tuple:
    """Run the dataset pass over ``source`` with a progress bar: (TopExamples, images, phrase)."""
    x, phrase = _images(ctx, source)
    bar = st.progress(0.0, text=f"Searching {phrase} for what excites each channel")
    with ctx.lm.lock:
        events = de.top_examples(
            ctx.lm.model, x, layer, k=K, mean=ctx.lm.prep.mean, std=ctx.lm.prep.std
        )
        for event in events:
            bar.progress(
                event.done / event.total,
                text=f"Dataset examples: {event.done} of {event.total} images",
            )
            if event.result is not None:
                top = event.result
    bar.empty()
    return top, (x.clamp(0, 1) * 255).round().to(torch.uint8), phrase


def examples_panel(ctx: ViewContext, layer: str, channel: int, session: OrderedDict) -> None:
    """The source picker and the channel's top examples, each cropped to its unit's field."""
    offered = sources(ctx)
    ctx.url.bind("lfsrc", "fm_lf_source", default=next(iter(offered)), valid=list(offered))
    source = st.selectbox(
        "Dataset examples from", list(offered), key="fm_lf_source", format_func=offered.get
    )
    shared = shared_results.shareable(ctx.lm.kind, source)
    try:
        top, x, phrase = shared_results.result_for(
            session,
            shared_results.examples_key(
                ctx.lm.token,
                layer,
                source,
                de.images_within(PASS_BYTES, ctx.mi.x[0].numel(), N_EXAMPLES_IMAGES, K),
                K,
            ),
            shared,
            lambda: _pass(ctx, layer, source),
        )
        while len(session) > KEPT:  # a private pass stays in this session, boundedly
            session.popitem(last=False)
        examples = top.top(channel)
    except (FeatureVisError, ValueError) as err:
        st.error(escape_text(str(err)))
        return
    _draw(x, examples, phrase)


def _draw(x, examples: list[de.Example], phrase: str) -> None:
    from explorer.viz.montage import montage, resize_nearest

    tiles = []
    for ex in examples:
        patch = de.crop(x[ex.index], ex.box).permute(1, 2, 0).numpy()  # uint8 h x w x C
        patch = np.repeat(patch, 3, axis=2) if patch.shape[2] == 1 else patch
        tiles.append(resize_nearest(patch, 64))
    st.image(
        montage(np.stack(tiles), cols=4, gap=2, fill=(255, 255, 255)),
        width="stretch",
        caption=f"Dataset examples: the {len(tiles)} {phrase} that excite this channel most, "
        "each cropped to the receptive field of its strongest unit",
    )
