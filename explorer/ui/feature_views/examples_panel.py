"""Dataset examples beside the optimised input (Zeiler & Fergus 2014): the images of a chosen set
that excite one channel most, each cropped to the receptive field of its strongest unit.

The images come from an offline dataset of the model's input size (its own, for a bundled
model), the sample photos, or the user's own image set (the per-browser folder the Training page
fills; :func:`explorer.ui.image_set_panel.user_folder`). One pass over the set keeps every
channel's top images (:func:`explorer.probe.dataset_examples.top_examples`), so every other
channel of that layer is then instant. The pass runs as a background job of kind ``dataset_examples``
on the analysis manager (:mod:`explorer.probe.dataset_examples_job`), followed with a progress bar
and Stop (``vis_job.follow``); a stopped pass keeps nothing. Only a model the job workers cannot
rebuild (an imported one) runs it in the page. A pass of a process-wide model on an
offline dataset or the sample photos is nobody's own and is made once per server process
(:mod:`explorer.probe.shared_results`): a second session asking meanwhile follows the same job
(``shared_results.RUNNING``), without Stop; one on the user's own image set, or of the user's own
model, stays in this session.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import streamlit as st
import torch

from explorer.models.catalog import CATALOG
from explorer.probe import dataset_examples as de
from explorer.probe import dataset_examples_job as job_engine
from explorer.probe import shared_results
from explorer.probe.dataset_examples_job import OWN, SAMPLES
from explorer.probe.feature_vis import FeatureVisError
from explorer.training.job_manager import Job, JobBusyError, JobState
from explorer.ui import browser_jobs
from explorer.ui.feature_views import vis_job
from explorer.ui.feature_views.context import ViewContext
from explorer.ui.state import escape_text

N_EXAMPLES_IMAGES = 1000  # images searched per set (the test split of an offline dataset)
# The float images of one pass stay under this (an ImageNet-size set: about 200 images); only a
# uint8 copy is kept with the result, for the crops.
PASS_BYTES = 128 * 2**20
K = 8  # examples shown per channel
KEPT = 12  # results kept in a session's store (optimised inputs and private passes together)
JOB_KIND = "dataset_examples"  # its kind on the analysis manager


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


def _pass(ctx: ViewContext, layer: str, source: str, n: int) -> tuple:
    """Run the dataset pass over ``source`` here, with a progress bar (a model the job workers
    cannot rebuild): (TopExamples, the images as uint8, phrase)."""
    x, phrase = job_engine.source_images(
        source, ctx.lm.prep, tuple(int(v) for v in ctx.mi.x.shape[1:]), n, _folder(source)
    )
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


def _folder(source: str) -> str | None:
    """This browser's image-set folder when ``source`` is it (never another browser's)."""
    if source != OWN:
        return None
    folder = _own_folder()
    if folder is None:
        raise FeatureVisError(
            "Your image set has expired or was cleared: add it again on Training."
        )
    return folder


def _ended(job: Job) -> bool:
    """Say why an ended job left no result (stopped, failed); True when asked to search again."""
    if job.state is JobState.FINISHED:
        st.info("The search for dataset examples was stopped before its end: nothing was kept.")
    else:
        st.error(escape_text(job.error or browser_jobs.status_line(job)))
    return st.button("Search the images again", key="fm_lf_ex_go")


def _from_job(ctx: ViewContext, layer: str, source: str, n: int, key: tuple, shared: bool):
    """The pass's result once its job (this browser's, or for a shared result anyone's) has
    finished; else start or follow the job (progress and, for this browser's own, Stop): None."""
    running = key if shared else (browser_jobs.owner_id(), key)
    job = shared_results.RUNNING.get(running)
    me = browser_jobs.owner_id()
    # an ended job with a result serves anyone; another browser's stopped or failed one is
    # passed over (this browser starts its own below), this browser's says why it ended
    if job is not None and job.done and (job.result is not None or job.owner == me):
        if job.result is not None:
            shared_results.RUNNING.forget(running, job)
            return job.result
        if not _ended(job):
            return None
    kwargs = {
        "layer": layer,
        "source": source,
        "prep": ctx.lm.prep,
        "shape": tuple(int(v) for v in ctx.mi.x.shape[1:]),
        "n": n,
        "k": K,
        "folder": _folder(source),
    }
    title = f"Dataset examples of {ctx.name_of(layer)}"
    try:
        job = shared_results.RUNNING.get_or_start(
            running,
            lambda: vis_job.submit(ctx, JOB_KIND, job_engine.TARGET, kwargs, title),
        )
    except JobBusyError as err:
        st.error(escape_text(str(err)))
        return None
    vis_job.follow(
        job,
        de.ExamplesProgress,
        job_engine.progress,
        stop_key="fm_lf_ex_stop" if job.owner == me else None,
    )
    return None


def _examples(ctx: ViewContext, layer: str, source: str, session: OrderedDict) -> tuple | None:
    """(TopExamples, uint8 images, phrase) of ``layer`` over ``source``: kept, or from a job
    (None while it runs); a model the workers cannot rebuild runs the pass here."""
    n = de.images_within(PASS_BYTES, ctx.mi.x[0].numel(), N_EXAMPLES_IMAGES, K)
    key = shared_results.examples_key(ctx.lm.token, layer, source, n, K)
    shared = shared_results.shareable(ctx.lm.kind, source)
    found = shared_results.lookup(session, key, shared)
    if found is not None:
        return found
    if ctx.lm.arch not in CATALOG:
        found = shared_results.result_for(
            session, key, shared, lambda: _pass(ctx, layer, source, n)
        )
        shared_results.keep(session, key, found, shared, KEPT)  # bounds this session's store
        return found
    found = _from_job(ctx, layer, source, n, key, shared)
    if found is not None:
        shared_results.keep(session, key, found, shared, KEPT)
    return found


def examples_panel(ctx: ViewContext, layer: str, channel: int, session: OrderedDict) -> None:
    """The source picker and the channel's top examples, each cropped to its unit's field."""
    offered = sources(ctx)
    ctx.url.bind("lfsrc", "fm_lf_source", default=next(iter(offered)), valid=list(offered))
    source = st.selectbox(
        "Dataset examples from", list(offered), key="fm_lf_source", format_func=offered.get
    )
    try:
        found = _examples(ctx, layer, source, session)
        if found is None:  # the pass runs as a job (followed above), or ended without a result
            return
        top, x, phrase = found
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
