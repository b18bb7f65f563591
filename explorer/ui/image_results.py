"""Per-image results of the Feature maps page: heavy work once per (model, weights, image), then
slicing.

A result keeps what is shown: uint8 tiles, float16 values, and small bounded stores of orders,
PNGs, effective fields and attributions. Switching layer, channel, sort or colour scale only
slices these. Each session keeps its results in ``st.session_state`` (bounded). A result that
is not personal (a sample image through a process-wide model: random, bundled or ImageNet
weights) is computed once per process and shared by every session that shows it (a class
opening one lecture link): its maps, orders, strips and montage PNGs are one object, guarded by
one lock. An upload, a camera shot or a user's own model is never shared. Effective fields and
attributions (a user's clicks) stay per session; the price of an attribution pass describes the
machine and is process-wide.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import streamlit as st

from explorer.bounded import BoundedStore
from explorer.data.decode import DecodedImage
from explorer.data.images import ModelInput, preprocess
from explorer.data.samples import list_samples, load_sample
from explorer.models import get_spec
from explorer.probe import summarize
from explorer.probe.attribution import (
    DEFAULT_BATCH,
    DEFAULT_STEPS,
    METHODS,
    attribute,
    measure_pass,
    passes,
)
from explorer.probe.erf import effective_receptive_field
from explorer.probe.layers import grad_cam_layer
from explorer.probe.overview import compute_overview
from explorer.probe.stats import FeatureMaps, channel_order, compute_feature_maps
from explorer.ui.weight_sources import SHARED_KINDS, LoadedModel
from explorer.viz.maps import montage_png, overview_strip_png

log = logging.getLogger(__name__)

# Results per session: the image shown, the Compare view's second model on it, and one to go back to.
RESULTS_PER_SESSION = 3
# Shared results process-wide (sample images through shared models): a lecture's link or two
# and their Compare partners. A ResNet-18 result with its full maps is ~20 MB, a VGG-16 ~60 MB.
SHARED_RESULTS = 6
# Montage PNGs per result (~100 KB each): a few layers in a few sort orders and colour scales.
PNG_CACHE_ENTRIES = 24
# Effective-field heatmaps per result: each costs a backward pass; a user clicks a few units.
ERF_PER_RESULT = 16
# Attribution maps per result: methods x classes x step counts a user compares.
ATTRIBUTIONS_PER_RESULT = 8
# Layer summaries (receptive-field arithmetic) process-wide: one per model build and input size.
FIELD_SUMMARIES = 16
DEFAULT_SCALE = "viridis"
STRIP_CHANNELS = 8
MONTAGE_WIDTH = 640  # montages narrower than this are enlarged by an integer factor
PROBE_BATCH = 2  # inputs in the measured pass that prices a run before it starts
AUTO_SECONDS = 3.0  # multi-pass attributions expected to take longer wait for a click

_RESULTS_KEY = "_fm_results"


@dataclass(eq=False)
class FeatureResult:
    """Everything the page shows for one (model, weights, image), computed once."""

    token: str
    model_input: ModelInput
    maps: FeatureMaps
    orders: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)  # layers x 4 sort keys
    strips: dict[tuple[str, str], bytes] = field(default_factory=dict)  # layers x colour scales
    pngs: BoundedStore[tuple[str, str, str], bytes] = field(
        default_factory=lambda: BoundedStore(PNG_CACHE_ENTRIES, "montage PNGs"))
    erf: BoundedStore[tuple[str, int, int, int], np.ndarray] = field(
        default_factory=lambda: BoundedStore(ERF_PER_RESULT, "effective fields"))
    attributions: BoundedStore[tuple[str, int, int], np.ndarray] = field(
        default_factory=lambda: BoundedStore(ATTRIBUTIONS_PER_RESULT, "attributions"))
    # Guards orders, strips and PNGs, which sessions sharing this result fill lazily (a PNG is
    # made once, by whoever asks first, while the others wait). Taken before the model's lock.
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def order(self, layer: str, by: str) -> np.ndarray:
        key = (layer, by)
        with self.lock:
            if key not in self.orders:
                self.orders[key] = channel_order(self.maps.get(layer).stats, by)
            return self.orders[key]

    def strip_png(self, layer: str, scale: str = DEFAULT_SCALE) -> bytes:
        """The overview strip of ``layer``: its top channels by mean activation."""
        key = (layer, scale)
        with self.lock:
            if key not in self.strips:
                lm = self.maps.get(layer)
                summary = getattr(lm, "summary", None)
                if summary is not None:  # the one-pass overview kept exactly these tiles
                    tiles, order = summary.top_tiles, np.arange(len(summary.top))
                else:
                    tiles, order = lm.tiles, self.order(layer, "mean")
                self.strips[key] = overview_strip_png(tiles, order, k=STRIP_CHANNELS, scale=scale)
            return self.strips[key]

    def montage_png(self, layer: str, by: str, scale: str) -> bytes:
        def make() -> bytes:
            lm = self.maps.get(layer)
            # Small maps are enlarged here (nearest neighbour, crisp) rather than by the browser (blurry).
            return montage_png(lm.tiles, self.order(layer, by), scale=scale, min_width=MONTAGE_WIDTH)

        with self.lock:
            return self.pngs.get_or_make((layer, by, scale), make)

    def for_session(self) -> FeatureResult:
        """This result for one more session: the same maps, orders, strips, PNGs and lock, and
        its own (empty) effective fields and attributions."""
        return dataclasses.replace(self, erf=BoundedStore(ERF_PER_RESULT, "effective fields"),
                                   attributions=BoundedStore(ATTRIBUTIONS_PER_RESULT, "attributions"))


def compute_result(lm: LoadedModel, image: DecodedImage) -> FeatureResult:
    """Preprocess and one forward pass that keeps statistics and the strips' tiles only; the
    full maps (all tiles, float16 values) are captured when a view first needs them."""
    mi = preprocess(image, lm.prep)
    device = next(lm.model.parameters()).device

    def load_full() -> FeatureMaps:
        # Takes the model's lock (not re-entrant): nothing may touch a result's full maps
        # (values, tiles) while holding it.
        with lm.lock:
            return compute_feature_maps(lm.model, mi.x.to(device))

    with lm.lock:
        maps = compute_overview(lm.model, mi.x.to(device), load=load_full, k=STRIP_CHANNELS)
    res = FeatureResult(token=lm.token, model_input=mi, maps=maps)  # type: ignore[arg-type]
    for name in maps.names():
        res.strip_png(name)
    return res


@functools.cache
def _sample_digests() -> frozenset[str]:
    """Digests of the sample images (decoded once per process): pictures everyone may see."""
    return frozenset(load_sample(s.name).digest for s in list_samples())


def is_shared(lm: LoadedModel, image: DecodedImage) -> bool:
    """Whether (model, image) is nobody's own: a sample image through a process-wide model."""
    return lm.kind in SHARED_KINDS and bool(image.digest) and image.digest in _sample_digests()


@st.cache_resource(max_entries=SHARED_RESULTS, show_spinner=False)
def _shared_result(token: str, digest: str, _lm: LoadedModel, _image: DecodedImage) -> FeatureResult:
    """The one result per process for (model + weights, sample image); concurrent first asks
    wait for one computation (Streamlit's per-key lock)."""
    return compute_result(_lm, _image)


def feature_result(lm: LoadedModel, image: DecodedImage) -> FeatureResult:
    """The result for (model + weights, image), computed at most once per session while kept;
    for a sample image through a shared model, at most once per process (see the module doc)."""
    store = st.session_state.setdefault(_RESULTS_KEY, BoundedStore(RESULTS_PER_SESSION, "feature results"))

    def make() -> FeatureResult:
        if is_shared(lm, image):
            return _shared_result(lm.token, image.digest, lm, image).for_session()
        return compute_result(lm, image)

    return store.get_or_make((lm.token, image.digest), make)


def effective_field(lm: LoadedModel, res: FeatureResult, layer: str, row: int, col: int,
                    channel: int | None) -> np.ndarray:
    """Gradient heatmap of one unit, cached in the result (a backward pass costs a forward)."""

    def make() -> np.ndarray:
        device = next(lm.model.parameters()).device
        with lm.lock:
            return effective_receptive_field(lm.model, res.model_input.x.to(device), layer, row, col, channel)

    return res.erf.get_or_make((layer, row, col, -1 if channel is None else channel), make)


# --------------------------------------------------------------------------- attributions

# Seconds of one forward + backward pass per input, per (model + weights, input shape, device):
# process-wide (it describes the machine, not a user), first from a small measured batch, then
# from each finished run. Guarded by a lock: sessions run in threads. Bounded by the models and
# input sizes people use (a few entries of three numbers each).
_PASS_SECONDS: dict[tuple[str, tuple[int, ...], str], tuple[float, bool]] = {}
_PASS_LOCK = threading.Lock()


def attribution_key(method: str, target: int, steps: int,
                    precision: str = "float32") -> tuple[str, int, int, str]:  # fmt: skip
    """The cache key within a result (model, weights and image): method, class, steps, precision."""
    multi = METHODS[method].multi_pass
    return (method, int(target), int(steps) if multi else 0, precision if multi else "float32")


def cached_attribution(res: FeatureResult, method: str, target: int, steps: int,
                       precision: str = "float32") -> np.ndarray | None:  # fmt: skip
    """The attribution if this session already computed it for this image, else None."""
    return res.attributions.get(attribution_key(method, target, steps, precision))


def _cost_key(lm: LoadedModel, res: FeatureResult, precision: str = "float32") -> tuple[str, tuple[int, ...], str, str]:
    return (lm.token, tuple(res.model_input.x.shape), str(next(lm.model.parameters()).device), precision)


@dataclass(frozen=True)
class AttributionEstimate:
    """What a run will cost, said before it starts."""

    seconds: float
    passes: int  # inputs through a forward + backward pass
    batch_size: int
    from_run: bool  # priced from a finished run on this model (else from one measured batch)

    def text(self, device: str) -> str:
        s = self.seconds
        when = (f"{s / 60:.0f} min" if s >= 90 else f"{s:.0f} s" if s >= 10
                else f"{s:.1f} s" if s >= 0.1 else "a moment")  # fmt: skip
        steps = f"{self.passes} steps in batches of {self.batch_size}" if self.passes > 1 else "one pass"
        return f"about {when} on this {device}: {steps}"


def attribution_estimate(lm: LoadedModel, res: FeatureResult, method: str, steps: int,
                         target: int = 0, precision: str = "float32") -> AttributionEstimate:
    """Expected run time; the first call per model and input size measures a small batch."""
    n = passes(method, steps)
    batch = min(DEFAULT_BATCH, n)
    key = _cost_key(lm, res, precision)
    with _PASS_LOCK:
        known = _PASS_SECONDS.get(key)
    if known is None:
        device = next(lm.model.parameters()).device
        with lm.lock:
            probe = measure_pass(lm.model, res.model_input.x.to(device), target, PROBE_BATCH,
                                 precision=precision)  # fmt: skip
        known = (probe / PROBE_BATCH, False)
        with _PASS_LOCK:
            _PASS_SECONDS.setdefault(key, known)
    per_input, from_run = known
    return AttributionEstimate(seconds=per_input * n, passes=n, batch_size=batch, from_run=from_run)


def attribution_map(lm: LoadedModel, res: FeatureResult, method: str, target: int,
                    steps: int | None = None, progress: Any = None,
                    should_stop: Any = None, precision: str = "float32") -> np.ndarray:  # fmt: skip
    """A captum attribution for (method, class, steps), computed once per result and kept
    (bounded). Multi-pass methods run batched, report ``progress(done, total)`` and refine the
    process-wide price of a pass from their own measured time."""
    steps = DEFAULT_STEPS if steps is None else int(steps)
    key = attribution_key(method, target, steps, precision)
    if key in res.attributions:
        return res.attributions[key]
    device = next(lm.model.parameters()).device
    n = passes(method, steps)
    start = time.perf_counter()
    # The model's lock is held one pass (one batch of steps) at a time: others wait one batch.
    heat = attribute(lm.model, res.model_input.x.to(device), target, method,
                     layer=grad_cam_layer(res.maps), steps=steps, batch_size=min(DEFAULT_BATCH, n),
                     progress=progress, should_stop=should_stop, outputs=int(res.maps.output.shape[0]),
                     precision=key[3], hold=lambda: lm.lock)  # fmt: skip
    elapsed = time.perf_counter() - start
    if n > 1:
        with _PASS_LOCK:
            _PASS_SECONDS[_cost_key(lm, res, key[3])] = (elapsed / n, True)
    res.attributions[key] = heat
    return heat


@st.cache_resource(max_entries=FIELD_SUMMARIES, show_spinner=False)
def field_summary(arch: str, build_items: tuple[tuple[str, Any], ...], input_shape: tuple[int, ...]) -> Any:
    """The layer summary (receptive-field arithmetic) of a model build, on the meta device."""
    spec = get_spec(arch)
    build = dict(build_items)
    try:
        return summarize(lambda: spec.build(**build), input_shape)
    except Exception:  # noqa: BLE001 - a builder that cannot run on meta: use real (random) weights
        log.info("Summary of %s on real weights (the meta device failed)", arch, exc_info=True)
        return summarize(spec.build(**build), input_shape)
