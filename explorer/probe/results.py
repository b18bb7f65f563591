"""Per-image results of a model: heavy work once per (model, weights, image), then slicing.

A result keeps what is shown: uint8 tiles, float16 values, and small bounded stores of orders,
PNGs, effective fields and attributions. Switching layer, channel, sort or colour scale only
slices these. Pure (no Streamlit): which results a session keeps and which are shared
process-wide is the ui's business (:mod:`explorer.ui.image_results`); the PNGs are drawn by
:mod:`explorer.viz.result_pngs`. A result that is not personal (a sample image through a
process-wide model, :func:`is_shared`) may be shared by every session: its maps, orders, strips
and montage PNGs are one object, guarded by one lock, while effective fields and attributions (a
user's clicks) are per session (:meth:`FeatureResult.for_session`). The price of an attribution
pass describes the machine and is process-wide (``_PASS_SECONDS``).
"""

from __future__ import annotations

import dataclasses
import functools
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from explorer.bounded import BoundedStore
from explorer.data.decode import DecodedImage
from explorer.data.images import ModelInput, preprocess
from explorer.data.samples import list_samples, load_sample
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
from explorer.probe.overview import STRIP_CHANNELS, compute_overview
from explorer.probe.sources import SHARED_KINDS, LoadedModel
from explorer.probe.stats import FeatureMaps, channel_order, compute_feature_maps

# Montage PNGs per result (~100 KB each): a few layers in a few sort orders and colour scales.
PNG_CACHE_ENTRIES = 24
# Effective-field heatmaps per result: each costs a backward pass; a user clicks a few units.
ERF_PER_RESULT = 16
# Attribution maps per result: methods x classes x step counts a user compares.
ATTRIBUTIONS_PER_RESULT = 8
PROBE_BATCH = 2  # inputs in the measured pass that prices a run before it starts
AUTO_SECONDS = 3.0  # multi-pass attributions expected to take longer wait for a click


@dataclass(eq=False)
class FeatureResult:
    """Everything a page shows for one (model, weights, image), computed once; the PNG stores
    are filled by :mod:`explorer.viz.result_pngs` under ``lock``."""

    token: str
    model_input: ModelInput
    maps: FeatureMaps
    orders: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)  # layers x 4 sort keys
    strips: dict[tuple[str, str], bytes] = field(default_factory=dict)  # layers x colour scales
    pngs: BoundedStore[tuple[str, str, str], bytes] = field(
        default_factory=lambda: BoundedStore(PNG_CACHE_ENTRIES, "montage PNGs")
    )
    erf: BoundedStore[tuple[str, int, int, int], np.ndarray] = field(
        default_factory=lambda: BoundedStore(ERF_PER_RESULT, "effective fields")
    )
    attributions: BoundedStore[tuple[str, int, int], np.ndarray] = field(
        default_factory=lambda: BoundedStore(ATTRIBUTIONS_PER_RESULT, "attributions")
    )
    # Guards orders, strips and PNGs, which sessions sharing this result fill lazily (a PNG is
    # made once, by whoever asks first, while the others wait). Taken before the model's lock.
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def order(self, layer: str, by: str) -> np.ndarray:
        key = (layer, by)
        with self.lock:
            if key not in self.orders:
                self.orders[key] = channel_order(self.maps.get(layer).stats, by)
            return self.orders[key]

    def for_session(self) -> FeatureResult:
        """This result for one more session: the same maps, orders, strips, PNGs and lock, and
        its own (empty) effective fields and attributions."""
        return dataclasses.replace(
            self,
            erf=BoundedStore(ERF_PER_RESULT, "effective fields"),
            attributions=BoundedStore(ATTRIBUTIONS_PER_RESULT, "attributions"),
        )


def compute_result(lm: LoadedModel, image: DecodedImage) -> FeatureResult:
    """Preprocess and one forward pass that keeps statistics and the strips' tiles only (the
    strips are drawn by explorer.viz.result_pngs); the full maps (all tiles, float16 values)
    are captured when a view first needs them."""
    mi = preprocess(image, lm.prep)
    device = next(lm.model.parameters()).device

    def load_full() -> FeatureMaps:
        # Takes the model's lock (not re-entrant): nothing may touch a result's full maps
        # (values, tiles) while holding it.
        with lm.lock:
            return compute_feature_maps(lm.model, mi.x.to(device))

    with lm.lock:
        maps = compute_overview(lm.model, mi.x.to(device), load=load_full, k=STRIP_CHANNELS)
    return FeatureResult(token=lm.token, model_input=mi, maps=maps)  # type: ignore[arg-type]


@functools.cache
def _sample_digests() -> frozenset[str]:
    """Digests of the sample images (decoded once per process): pictures everyone may see."""
    return frozenset(load_sample(s.name).digest for s in list_samples())


def is_shared(lm: LoadedModel, image: DecodedImage) -> bool:
    """Whether (model, image) is nobody's own: a sample image through a process-wide model."""
    return lm.kind in SHARED_KINDS and bool(image.digest) and image.digest in _sample_digests()


def effective_field(
    lm: LoadedModel, res: FeatureResult, layer: str, row: int, col: int, channel: int | None
) -> np.ndarray:
    """Gradient heatmap of one unit, cached in the result (a backward pass costs a forward)."""

    def make() -> np.ndarray:
        device = next(lm.model.parameters()).device
        with lm.lock:
            return effective_receptive_field(
                lm.model, res.model_input.x.to(device), layer, row, col, channel
            )

    return res.erf.get_or_make((layer, row, col, -1 if channel is None else channel), make)


# --------------------------------------------------------------------------- attributions

# Seconds of one forward + backward pass per input, per (model + weights, input shape, device):
# process-wide (it describes the machine, not a user), first from a small measured batch, then
# from each finished run. Guarded by a lock: sessions run in threads. Bounded by the models and
# input sizes people use (a few entries of three numbers each).
_PASS_SECONDS: dict[tuple[str, tuple[int, ...], str], tuple[float, bool]] = {}
_PASS_LOCK = threading.Lock()


def attribution_key(
    method: str, target: int, steps: int, precision: str = "float32"
) -> tuple[str, int, int, str]:
    """The cache key within a result (model, weights and image): method, class, steps, precision."""
    multi = METHODS[method].multi_pass
    return (method, int(target), int(steps) if multi else 0, precision if multi else "float32")


def cached_attribution(
    res: FeatureResult, method: str, target: int, steps: int, precision: str = "float32"
) -> np.ndarray | None:
    """The attribution if this session already computed it for this image, else None."""
    return res.attributions.get(attribution_key(method, target, steps, precision))


def _cost_key(
    lm: LoadedModel, res: FeatureResult, precision: str = "float32"
) -> tuple[str, tuple[int, ...], str, str]:
    return (
        lm.token,
        tuple(res.model_input.x.shape),
        str(next(lm.model.parameters()).device),
        precision,
    )


@dataclass(frozen=True)
class AttributionEstimate:
    """What a run will cost, said before it starts."""

    seconds: float
    passes: int  # inputs through a forward + backward pass
    batch_size: int
    from_run: bool  # priced from a finished run on this model (else from one measured batch)

    def text(self, device: str) -> str:
        s = self.seconds
        when = (
            f"{s / 60:.0f} min"
            if s >= 90
            else f"{s:.0f} s"
            if s >= 10
            else f"{s:.1f} s"
            if s >= 0.1
            else "a moment"
        )
        steps = (
            f"{self.passes} steps in batches of {self.batch_size}"
            if self.passes > 1
            else "one pass"
        )
        return f"about {when} on this {device}: {steps}"


def attribution_estimate(
    lm: LoadedModel,
    res: FeatureResult,
    method: str,
    steps: int,
    target: int = 0,
    precision: str = "float32",
) -> AttributionEstimate:
    """Expected run time; the first call per model and input size measures a small batch."""
    n = passes(method, steps)
    batch = min(DEFAULT_BATCH, n)
    key = _cost_key(lm, res, precision)
    with _PASS_LOCK:
        known = _PASS_SECONDS.get(key)
    if known is None:
        device = next(lm.model.parameters()).device
        with lm.lock:
            probe = measure_pass(
                lm.model, res.model_input.x.to(device), target, PROBE_BATCH, precision=precision
            )
        known = (probe / PROBE_BATCH, False)
        with _PASS_LOCK:
            _PASS_SECONDS.setdefault(key, known)
    per_input, from_run = known
    return AttributionEstimate(seconds=per_input * n, passes=n, batch_size=batch, from_run=from_run)


def attribution_map(
    lm: LoadedModel,
    res: FeatureResult,
    method: str,
    target: int,
    steps: int | None = None,
    progress: Any = None,
    should_stop: Any = None,
    precision: str = "float32",
) -> np.ndarray:
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
    heat = attribute(
        lm.model,
        res.model_input.x.to(device),
        target,
        method,
        layer=grad_cam_layer(res.maps),
        steps=steps,
        batch_size=min(DEFAULT_BATCH, n),
        progress=progress,
        should_stop=should_stop,
        outputs=int(res.maps.output.shape[0]),
        precision=key[3],
        hold=lambda: lm.lock,
    )
    elapsed = time.perf_counter() - start
    if n > 1:
        with _PASS_LOCK:
            _PASS_SECONDS[_cost_key(lm, res, key[3])] = (elapsed / n, True)
    res.attributions[key] = heat
    return heat
