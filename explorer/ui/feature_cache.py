"""Caching for the feature-map page: heavy work once per (model, weights, image), then slicing.

- Read-only catalog models (random init, ImageNet, bundled) are process-wide
  (``st.cache_resource``, bounded) and each carries a lock: hooks are registered on the
  module itself, so two sessions capturing at the same time on one shared model would fill
  each other's dictionaries. The lock serialises forward passes on a shared model.
- Models that belong to one user (trained on the Training page, uploaded checkpoints) and
  every per-image result live in ``st.session_state``, bounded, so nobody sees another
  user's model or image.
- A result keeps what is shown: uint8 tiles, float16 values, small lazily-filled dicts of
  orders / PNGs / strips. Switching layer, channel, sort or colour scale only slices these.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import streamlit as st
import torch
from torch import nn

from explorer.data.images import (
    DecodedImage,
    ModelInput,
    Preprocessing,
    imagenet_preprocessing,
    preprocess,
)
from explorer.models import get_spec
from explorer.probe.stats import FeatureMaps, channel_order, compute_feature_maps, compute_overview
from explorer.viz.maps import montage_rgb, overview_strip, png_bytes

MODEL_CACHE_ENTRIES = 4  # process-wide read-only models (a VGG-16 is 528 MB)
RESULTS_PER_SESSION = 3  # per-user (model, image) results kept
PRIVATE_MODELS_PER_SESSION = 2
PNG_CACHE_ENTRIES = 24
DEFAULT_SCALE = "viridis"
STRIP_CHANNELS = 8
MONTAGE_WIDTH = 640  # montages narrower than this are enlarged by an integer factor

_RESULTS_KEY = "_fm_results"
_PRIVATE_KEY = "_fm_private_models"

WEIGHT_KINDS = {
    "imagenet": "ImageNet weights (torchvision)",
    "bundled": "Bundled weights (trained by this project, offline)",
    "user": "My trained model (this session)",
    "random": "Random initialisation (untrained)",
    "upload": "Uploaded checkpoint (.safetensors)",
}


class ModelLoadError(ValueError):
    """A model could not be provided; ``str(err)`` is the message for the page."""


@dataclass(frozen=True, eq=False)
class LoadedModel:
    """A model ready for the page, with everything the page says about it."""

    model: nn.Module
    arch: str
    kind: str  # a key of WEIGHT_KINDS
    label: str  # e.g. "ResNet-18 - random initialisation (untrained)"
    token: str  # identifies model + weights in cache keys
    prep: Preprocessing
    classes: tuple[str, ...] | None
    head_meaningful: bool  # False for random weights: the "predictions" mean nothing
    task: str = "multiclass"
    build: dict[str, Any] = field(default_factory=dict)
    detail: str = ""  # accuracy, dataset...
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def in_channels(self) -> int:
        return self.prep.channels


# --------------------------------------------------------------------------- model sources


def _prep_for(arch: str, build: dict[str, Any]) -> Preprocessing:
    spec = get_spec(arch)
    if not spec.compact:
        return imagenet_preprocessing(spec.input_shape[-1])
    size = int(build.get("image_size", spec.input_shape[-1]))
    channels = int(build.get("in_channels", spec.input_shape[0]))
    # The project's offline datasets are float images in [0, 1]: no normalisation.
    return Preprocessing(size=size, channels=channels, resize=None, name="compact")


def _classes_for(arch: str) -> tuple[str, ...] | None:
    spec = get_spec(arch)
    if not spec.compact and spec.num_classes == 1000:
        from explorer.probe.erf import imagenet_classes

        return imagenet_classes()
    return None


def pretrained_cached(arch: str) -> bool:
    """ImageNet weights of ``arch`` are on disk (loading them needs no network)."""
    try:
        from explorer.models.weights import pretrained_available

        return pretrained_available(get_spec(arch))
    except Exception:  # noqa: BLE001 - no weights module / enum: simply not available
        return False


def bundled_available() -> list[str]:
    """Catalog keys with bundled weights in assets/weights."""
    try:
        from explorer.models.weights import bundled_keys

        return [k for k in bundled_keys() if k in _catalog_keys()]
    except Exception:  # noqa: BLE001
        return []


def _catalog_keys() -> set[str]:
    from explorer.models import CATALOG

    return set(CATALOG)


def _to_device(model: nn.Module) -> nn.Module:
    from explorer.device import DeviceUnavailableError, pick_device

    try:
        return model.to(pick_device())
    except (DeviceUnavailableError, RuntimeError):
        return model


@st.cache_resource(max_entries=MODEL_CACHE_ENTRIES, show_spinner=False)
def _random_model(arch: str) -> LoadedModel:
    spec = get_spec(arch)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)  # the same "random" model on every rerun and for every user
        model = spec.build()
    build = spec.build_kwargs
    return LoadedModel(
        model=_to_device(model.eval()), arch=arch, kind="random",
        label=f"{spec.title} - random initialisation (untrained, seed 0)", token=f"{arch}|random|0",
        prep=_prep_for(arch, build), classes=_classes_for(arch), head_meaningful=False,
        task=spec.task, build=build,
        detail="These weights were never trained: the maps show what random filters do to the image.",
    )  # fmt: skip


@st.cache_resource(max_entries=MODEL_CACHE_ENTRIES, show_spinner=False)
def _imagenet_model(arch: str, download: bool) -> LoadedModel:
    from explorer.models.weights import load_pretrained

    spec = get_spec(arch)
    model = load_pretrained(spec, download=download)  # raises WeightsUnavailableError (not cached)
    return LoadedModel(
        model=_to_device(model.eval()), arch=arch, kind="imagenet",
        label=f"{spec.title} - ImageNet weights (torchvision {spec.weights})", token=f"{arch}|imagenet|{spec.weights}",
        prep=_prep_for(arch, {}), classes=_classes_for(arch), head_meaningful=True, task=spec.task,
        detail="Trained on ImageNet (1.28 M photos, 1000 classes) by the torchvision team.",
    )  # fmt: skip


@st.cache_resource(max_entries=MODEL_CACHE_ENTRIES, show_spinner=False)
def _bundled_model(arch: str, mtime: float) -> LoadedModel:
    from explorer.models.weights import load_bundled

    model, meta = load_bundled(arch)
    spec = get_spec(arch)
    build = dict(getattr(meta, "build", {}) or {})
    metrics = dict(getattr(meta, "metrics", {}) or {})
    dataset = str(getattr(meta, "dataset", "") or "the project's offline data")
    acc = metrics.get("test_accuracy")
    acc_text = f", test accuracy {float(acc):.1%}" if isinstance(acc, (int, float)) else ""
    classes = tuple(getattr(meta, "classes", ()) or ()) or None
    return LoadedModel(
        model=_to_device(model.eval()), arch=arch, kind="bundled",
        label=f"{spec.title} - bundled weights (trained on {dataset}{acc_text})",
        token=f"{arch}|bundled|{mtime}", prep=_prep_for(arch, build), classes=classes,
        head_meaningful=True, task=spec.task, build=build,
        detail=f"Trained by scripts/ on {dataset}, offline{acc_text}.",
    )  # fmt: skip


def _private_store() -> OrderedDict[str, LoadedModel]:
    return st.session_state.setdefault(_PRIVATE_KEY, OrderedDict())


def _remember_private(lm: LoadedModel) -> LoadedModel:
    store = _private_store()
    store[lm.token] = lm
    store.move_to_end(lm.token)
    while len(store) > PRIVATE_MODELS_PER_SESSION:
        store.popitem(last=False)
    return lm


def _user_model(name: str) -> LoadedModel:
    from explorer.ui.registry import get_user_model

    um = get_user_model(name)
    if um is None:
        raise ModelLoadError(f"No trained model called {name!r} in this session.")
    token = f"{um.arch}|user|{name}|{um.created}"
    if token in _private_store():
        return _private_store()[token]
    try:
        model = um.instantiate()
    except Exception as err:  # CheckpointMismatchError and friends: keep the page alive
        raise ModelLoadError(str(err)) from err
    spec = get_spec(um.arch)
    acc = (um.metrics or {}).get("test_accuracy") or (um.metrics or {}).get("accuracy")
    acc_text = f", accuracy {float(acc):.1%}" if isinstance(acc, (int, float)) else ""
    return _remember_private(LoadedModel(
        model=_to_device(model), arch=um.arch, kind="user",
        label=f"{spec.title} - my model {name!r} ({um.source}{acc_text})", token=token,
        prep=_prep_for(um.arch, um.build), classes=tuple(um.classes) or None, head_meaningful=True,
        task=spec.task, build=dict(um.build), detail=f"Dataset: {um.dataset or 'unknown'}{acc_text}.",
    ))  # fmt: skip


_REFUSED_KEY = "_fm_refused_uploads"
REFUSED_PER_SESSION = 4  # refusal messages kept per session, so a rerun does not read the file again


def _uploaded_model(arch: str, data: bytes) -> LoadedModel:
    """An uploaded checkpoint through the one validated reader (explorer.models.checkpoint).

    A plain safetensors file without the app's metadata is read as weights for ``arch``. Every
    check (header, build arguments, size on the meta device, shapes) runs before any tensor is
    read; a refusal is remembered by the file's digest, so a rerun does not read it again.
    """
    from explorer.models.checkpoint import (
        CheckpointError,
        CheckpointFormatError,
        model_from_checkpoint,
    )

    digest = hashlib.sha256(data).hexdigest()[:16]
    token = f"{arch}|upload|{digest}"
    if token in _private_store():
        return _private_store()[token]
    refused: OrderedDict[str, str] = st.session_state.setdefault(_REFUSED_KEY, OrderedDict())
    if token in refused:
        raise ModelLoadError(refused[token])
    try:
        model, meta = model_from_checkpoint(data, arch=arch)
    except CheckpointError as err:
        message = str(err)
        if isinstance(err, CheckpointFormatError):
            message += " Upload a .safetensors file saved from this app or with safetensors.torch.save_file."
        refused[token] = message
        while len(refused) > REFUSED_PER_SESSION:
            refused.popitem(last=False)
        raise ModelLoadError(message) from None
    spec = get_spec(arch)
    build = dict(meta.build) or spec.build_kwargs
    classes = tuple(meta.classes) or _classes_for(arch)
    return _remember_private(LoadedModel(
        model=_to_device(model), arch=arch, kind="upload",
        label=f"{spec.title} - uploaded checkpoint ({digest[:8]})", token=token,
        prep=_prep_for(arch, build), classes=classes, head_meaningful=True, task=spec.task,
        build=build, detail="Weights from the uploaded file: checked before building (arguments, size, "
                            "every key and shape, finite values).",
    ))  # fmt: skip


def load_model(arch: str, kind: str, *, ref: str = "", data: bytes | None = None,
               download: bool = False) -> LoadedModel:
    """The model for one weight source; ModelLoadError with the message to show otherwise."""
    if kind == "random":
        return _random_model(arch)
    if kind == "imagenet":
        from explorer.models.weights import WeightsError

        try:
            return _imagenet_model(arch, download)
        except WeightsError as err:
            raise ModelLoadError(str(err)) from err
    if kind == "bundled":
        from explorer.models.weights import WeightsError, bundled_path

        path = bundled_path(arch)
        if not path.is_file():
            raise ModelLoadError(
                f"No bundled weights for {get_spec(arch).title} yet (expected assets/weights/{path.name}, "
                "written by the training script in scripts/).")
        try:
            return _bundled_model(arch, path.stat().st_mtime)
        except (WeightsError, ImportError, ValueError, KeyError) as err:
            raise ModelLoadError(str(err)) from err
    if kind == "user":
        return _user_model(ref)
    if kind == "upload":
        return _uploaded_model(arch, data or b"")
    raise ModelLoadError(f"Unknown weight source {kind!r}.")


# --------------------------------------------------------------------------- per-image results


@dataclass(eq=False)
class FeatureResult:
    """Everything the page shows for one (model, weights, image), computed once."""

    token: str
    model_input: ModelInput
    maps: FeatureMaps
    orders: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    strips: dict[tuple[str, str], bytes] = field(default_factory=dict)
    pngs: OrderedDict[tuple[str, str, str], bytes] = field(default_factory=OrderedDict)
    erf: OrderedDict[tuple[str, int, int, int], np.ndarray] = field(default_factory=OrderedDict)
    attributions: OrderedDict[tuple[str, int, int], np.ndarray] = field(default_factory=OrderedDict)

    def order(self, layer: str, by: str) -> np.ndarray:
        key = (layer, by)
        if key not in self.orders:
            self.orders[key] = channel_order(self.maps.get(layer).stats, by)
        return self.orders[key]

    def strip_png(self, layer: str, scale: str = DEFAULT_SCALE) -> bytes:
        """The overview strip of ``layer``: its top channels by mean activation."""
        key = (layer, scale)
        if key not in self.strips:
            lm = self.maps.get(layer)
            summary = getattr(lm, "summary", None)
            if summary is not None:  # the one-pass overview kept exactly these tiles
                tiles, order = summary.top_tiles, np.arange(len(summary.top))
            else:
                tiles, order = lm.tiles, self.order(layer, "mean")
            self.strips[key] = png_bytes(overview_strip(tiles, order, k=STRIP_CHANNELS, scale=scale))
        return self.strips[key]

    def montage_png(self, layer: str, by: str, scale: str) -> bytes:
        key = (layer, by, scale)
        if key in self.pngs:
            self.pngs.move_to_end(key)
            return self.pngs[key]
        lm = self.maps.get(layer)
        # Small maps are enlarged here (nearest neighbour, crisp) rather than by the browser (blurry).
        png = png_bytes(montage_rgb(lm.tiles, self.order(layer, by), scale=scale, min_width=MONTAGE_WIDTH))
        self.pngs[key] = png
        while len(self.pngs) > PNG_CACHE_ENTRIES:
            self.pngs.popitem(last=False)
        return png


def _results() -> OrderedDict[tuple[str, str], FeatureResult]:
    return st.session_state.setdefault(_RESULTS_KEY, OrderedDict())


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


def feature_result(lm: LoadedModel, image: DecodedImage) -> FeatureResult:
    """The result for (model + weights, image), computed at most once per session while kept."""
    store = _results()
    key = (lm.token, image.digest)
    if key in store:
        store.move_to_end(key)
        return store[key]
    res = compute_result(lm, image)
    store[key] = res
    while len(store) > RESULTS_PER_SESSION:
        store.popitem(last=False)
    return res


def effective_field(lm: LoadedModel, res: FeatureResult, layer: str, row: int, col: int,
                    channel: int | None) -> np.ndarray:
    """Gradient heatmap of one unit, cached in the result (a backward pass costs a forward)."""
    from explorer.probe.erf import effective_receptive_field

    key = (layer, row, col, -1 if channel is None else channel)
    if key not in res.erf:
        device = next(lm.model.parameters()).device
        with lm.lock:
            res.erf[key] = effective_receptive_field(lm.model, res.model_input.x.to(device),
                                                     layer, row, col, channel)
        while len(res.erf) > 16:
            res.erf.popitem(last=False)
    return res.erf[key]


def grad_cam_layer(res: FeatureResult) -> str | None:
    """The deepest captured layer that is still a spatial map (Grad-CAM's usual choice)."""
    spatial = [n for n in res.maps.names() if len(res.maps.get(n).shape) == 3 and res.maps.get(n).shape[1] > 1]
    return spatial[-1] if spatial else None


# Seconds of one forward + backward pass per input, per (model + weights, input shape, device):
# process-wide (it describes the machine, not a user), first from a small measured batch, then
# from each finished run. Guarded by a lock: sessions run in threads.
_PASS_SECONDS: dict[tuple[str, tuple[int, ...], str], tuple[float, bool]] = {}
_PASS_LOCK = threading.Lock()
PROBE_BATCH = 2  # inputs in the measured pass that prices a run before it starts
AUTO_SECONDS = 3.0  # multi-pass attributions expected to take longer wait for a click


def attribution_key(method: str, target: int, steps: int) -> tuple[str, int, int]:
    """The cache key within a result (model, weights and image): method, class and steps."""
    from explorer.probe.attribution import METHODS

    return (method, int(target), int(steps) if METHODS[method].multi_pass else 0)


def cached_attribution(res: FeatureResult, method: str, target: int, steps: int) -> np.ndarray | None:
    """The attribution if this session already computed it for this image, else None."""
    key = attribution_key(method, target, steps)
    if key in res.attributions:
        res.attributions.move_to_end(key)
    return res.attributions.get(key)


def _cost_key(lm: LoadedModel, res: FeatureResult) -> tuple[str, tuple[int, ...], str]:
    return (lm.token, tuple(res.model_input.x.shape), str(next(lm.model.parameters()).device))


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
                         target: int = 0) -> AttributionEstimate:
    """Expected run time; the first call per model and input size measures a small batch."""
    from explorer.probe.attribution import DEFAULT_BATCH, measure_pass, passes

    n = passes(method, steps)
    batch = min(DEFAULT_BATCH, n)
    key = _cost_key(lm, res)
    with _PASS_LOCK:
        known = _PASS_SECONDS.get(key)
    if known is None:
        device = next(lm.model.parameters()).device
        with lm.lock:
            probe = measure_pass(lm.model, res.model_input.x.to(device), target, PROBE_BATCH)
        known = (probe / PROBE_BATCH, False)
        with _PASS_LOCK:
            _PASS_SECONDS.setdefault(key, known)
    per_input, from_run = known
    return AttributionEstimate(seconds=per_input * n, passes=n, batch_size=batch, from_run=from_run)


def attribution_map(lm: LoadedModel, res: FeatureResult, method: str, target: int,
                    steps: int | None = None, progress: Any = None,
                    should_stop: Any = None) -> np.ndarray:  # fmt: skip
    """A captum attribution for (method, class, steps), computed once per result and kept
    (bounded). Multi-pass methods run batched, report ``progress(done, total)`` and refine the
    process-wide price of a pass from their own measured time."""
    import time

    from explorer.probe.attribution import DEFAULT_BATCH, DEFAULT_STEPS, attribute, passes

    steps = DEFAULT_STEPS if steps is None else int(steps)
    key = attribution_key(method, target, steps)
    if key not in res.attributions:
        device = next(lm.model.parameters()).device
        n = passes(method, steps)
        with lm.lock:
            start = time.perf_counter()
            heat = attribute(lm.model, res.model_input.x.to(device), target, method,
                             layer=grad_cam_layer(res), steps=steps, batch_size=min(DEFAULT_BATCH, n),
                             progress=progress, should_stop=should_stop,
                             outputs=int(res.maps.output.shape[0]))  # fmt: skip
            elapsed = time.perf_counter() - start
        if n > 1:
            with _PASS_LOCK:
                _PASS_SECONDS[_cost_key(lm, res)] = (elapsed / n, True)
        res.attributions[key] = heat
        while len(res.attributions) > 8:
            res.attributions.popitem(last=False)
    return res.attributions[key]


@st.cache_resource(max_entries=16, show_spinner=False)
def field_summary(arch: str, build_items: tuple[tuple[str, Any], ...], input_shape: tuple[int, ...]) -> Any:
    """The lead's layer summary (receptive-field arithmetic) built on the meta device."""
    from explorer.probe import summarize

    spec = get_spec(arch)
    build = dict(build_items)
    try:
        return summarize(lambda: spec.build(**build), input_shape)
    except Exception:  # noqa: BLE001 - a builder that cannot run on meta: use real (random) weights
        return summarize(spec.build(**build), input_shape)


def conv_layers(model: nn.Module) -> list[tuple[str, nn.Conv2d]]:
    """Every 2-D convolution of a model, in definition order."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]
