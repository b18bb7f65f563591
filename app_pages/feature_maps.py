"""Feature maps: what every layer of a CNN sees in an image, its filters, and receptive fields.

The model runs once per (model, weights, image); every widget below only slices the cached
result (explorer.ui.image_results; the models come from explorer.ui.weight_sources).
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from explorer.basics import first_layer_unit, is_first_layer_field
from explorer.data.decode import ImageInputError, decode_image
from explorer.data.samples import DEFAULT_SAMPLE, get_sample, list_samples, load_sample
from explorer.models import catalog, get_spec
from explorer.models.download import format_progress
from explorer.models.weights import WeightsError, download_pretrained
from explorer.probe.layers import conv_layers
from explorer.probe.names import layer_names
from explorer.probe.stats import SORT_KEYS, layer_overview
from explorer.ui import image_results as ir
from explorer.ui import weight_sources as ws
from explorer.ui.common import projector_on
from explorer.ui.registry import user_models
from explorer.ui.state import PageState, escape_text
from explorer.viz import maps as viz
from explorer.viz.basics import add_click_targets, clicked_cell

UPLOAD_TYPES = ["png", "jpg", "jpeg", "webp", "bmp", "gif"]
VIEWS = ["Overview", "Layer detail", "Compare", "Filters", "Receptive field", "Predictions", "Attribution"]
SORT_LABELS = {"index": "channel index", "mean": "mean activation", "max": "max activation",
               "variance": "variance"}  # fmt: skip
PREFERRED_BUNDLED = ("resnet_small", "vgg_small", "alexnet_small", "lenet5", "nin_small", "googlenet_small")

VIEW_TOKENS = {"Overview": "overview", "Layer detail": "layer", "Compare": "compare", "Filters": "filters",
               "Receptive field": "rf", "Predictions": "predictions", "Attribution": "attribution"}  # fmt: skip
SOURCES = ["Sample", "Upload", "Camera"]

url = PageState("feature-maps")
projector = projector_on()
title_col, link_col = st.columns([3, 1], vertical_alignment="bottom")
title_col.title("Feature maps")
with link_col:
    url.copy_link()
if not projector:
    st.caption("Upload an image (or take a sample) and see what every layer of a CNN makes of it: "
               "the channels it lights up, its filters, and which pixels each unit can see.")


# --------------------------------------------------------------------------- defaults


def _best_kind(arch: str) -> str:
    """The most telling weights available offline for ``arch``: ImageNet if cached, bundled,
    the user's own trained model, else random."""
    if ws.pretrained_cached(arch):
        return "imagenet"
    if arch in ws.bundled_available():
        return "bundled"
    if any(m.arch == arch for m in user_models(kind="cnn")):
        return "user"
    return "random"


def _default_arch() -> str:
    """A model that shows learned features offline: ImageNet if cached, bundled, else random."""
    if ws.pretrained_cached("resnet18"):
        return "resnet18"
    bundled = ws.bundled_available()
    return next((k for k in PREFERRED_BUNDLED if k in bundled), bundled[0] if bundled else "resnet18")


@st.cache_data(max_entries=32, show_spinner=False)
def _bundled_dataset(arch: str) -> str | None:
    """The dataset the bundled weights of ``arch`` were trained on (from their metadata)."""
    from explorer.models.checkpoint import read_meta
    from explorer.models.weights import bundled_path

    try:
        return str(read_meta(bundled_path(arch).read_bytes()).dataset or "") or None
    except Exception:  # noqa: BLE001 - no bundled file or an unreadable one: no opinion
        return None


def _suited_sample(arch: str, kind: str) -> str | None:
    """A sample that suits the model: a digit for digit models, shapes for shape models, a photo
    for ImageNet models; None keeps the current one."""
    dataset = _bundled_dataset(arch) if kind == "bundled" else None
    if dataset in ("digits", "mnist", "fashion_mnist") or get_spec(arch).input_shape[0] == 1:
        return "digit"
    if dataset in ("shapes", "circles_squares"):
        return "shapes"
    if kind == "imagenet" or not get_spec(arch).compact:
        return "cat" if st.session_state.get("fm_sample") in ("digit", "shapes") else None
    return None


def _arch_changed() -> None:
    """A new model: its best weights, and a sample it was made for (a link's choice stays)."""
    arch = st.session_state["fm_arch"]
    kind = _best_kind(arch)
    st.session_state["fm_kind"] = kind
    sample = _suited_sample(arch, kind)
    if sample and st.session_state.get("fm_source", "Sample") == "Sample":
        st.session_state["fm_sample"] = sample


def _decoded_upload(data: bytes, file_id: str, name: str) -> tuple[object, str | None]:
    """Decode an upload once per file (kept in the session until replaced, also across pages);
    (image or None, error message)."""
    cache = st.session_state.setdefault("_fm_decoded", {})
    if file_id not in cache:
        try:
            cache.clear()  # one upload kept per source
            cache[file_id] = (decode_image(data), None)
            st.session_state["_fm_kept_upload"] = (cache[file_id][0], name)
        except ImageInputError as err:
            cache[file_id] = (None, str(err))
    return cache[file_id]


def _layer_tokens(lm_: ws.LoadedModel, layer_names_: list[str]) -> dict[str, str]:
    """Module path -> paper-style name for the URL (kept per model for the session)."""
    cache = st.session_state.setdefault("_fm_layer_tokens", {})
    if lm_.token not in cache:
        try:
            pretty = layer_names(lm_.model, lm_.arch)
        except Exception:  # noqa: BLE001 - a model the namer does not know: raw paths
            pretty = {}
        cache.clear()
        cache[lm_.token] = pretty
    pretty = cache[lm_.token]
    tokens = {n: pretty[n] for n in layer_names_ if n in pretty}
    return tokens if len(set(tokens.values())) == len(tokens) else {}


# --------------------------------------------------------------------------- 1. image and model

specs = catalog(kind="cnn")
keys = [s.key for s in specs]
samples = list_samples()
sample_names = [s.name for s in samples]
if url.arriving("sample"):
    st.session_state["fm_source"] = "Sample"  # a link shows its sample, not an old upload
source = url.keep("fm_source", "Sample", SOURCES)
arch_now = url.bind("arch", "fm_arch", default=_default_arch(), valid=keys)
mine = [m for m in user_models(kind="cnn") if m.arch == arch_now]
spec_now = get_spec(arch_now)
kinds = (["imagenet"] if spec_now.weights else []) + (["bundled"] if arch_now in ws.bundled_available() else []) \
    + (["user"] if mine else []) + ["random", "upload"]
kind_now = url.bind("weights", "fm_kind", default=_best_kind(arch_now), valid=kinds)
# The cat on first open (the page's picture); a model switch picks a suited sample instead.
default_sample = DEFAULT_SAMPLE if DEFAULT_SAMPLE in sample_names else sample_names[0]
if source == "Sample":
    url.bind("sample", "fm_sample", default=default_sample, valid=sample_names)
else:
    url.keep("fm_sample", default_sample, sample_names)
url.keep("fm_user_model", mine[0].name if mine else "", [m.name for m in mine] or None)

if projector:  # inputs folded into one line above the figure
    what = get_sample(st.session_state["fm_sample"]).title if source == "Sample" else f"your {source.lower()}"
    inputs = st.expander(f"Image: {what}  |  Model: {spec_now.title}  |  Weights: "
                         f"{ws.WEIGHT_KINDS.get(kind_now, kind_now)}  (open to change)")
else:
    inputs = st.container()

with inputs:
    col_image, col_model = st.columns(2, gap="large")
with col_image:
    st.subheader("1. Image")
    source = st.radio("Image from", SOURCES, horizontal=True, key="fm_source")
    image, image_error = None, None
    kept = st.session_state.get("_fm_kept_upload")
    if source == "Upload":
        up = st.file_uploader("Image file: PNG, JPEG, WebP, BMP or GIF", type=UPLOAD_TYPES, key="fm_upload")
        if up is not None:
            image, image_error = _decoded_upload(up.getvalue(), f"up:{up.file_id}:{up.size}", up.name)
        elif kept is not None:
            image = kept[0]
            st.caption("Your last upload is kept until you upload another image.")
            st.text(f"Your upload: {kept[1]}")
    elif source == "Camera":
        shot = st.camera_input("Take a picture", key="fm_camera")
        if shot is not None:
            image, image_error = _decoded_upload(shot.getvalue(), f"cam:{shot.file_id}:{shot.size}", "camera")
    if source == "Sample":
        name = st.selectbox("Sample image", sample_names, key="fm_sample", format_func=lambda n: get_sample(n).title)
        image = load_sample(name)
        st.caption(f"{get_sample(name).description} {get_sample(name).credit}.")
    if image_error:
        st.error(image_error)
    if image is None:
        fallback = DEFAULT_SAMPLE if DEFAULT_SAMPLE in sample_names else sample_names[0]
        image = load_sample(fallback)
        st.info(f"Showing the sample '{get_sample(fallback).title}' until an image is "
                f"{'taken' if source == 'Camera' else 'uploaded'}.")
    st.image(image.display, width=min(360, max(64, image.size[0])))
    st.caption(f"{image.format} image, {image.size[0]} x {image.size[1]} pixels (width x height)")
    for note in image.notes:
        st.caption(f"Decoding: {note}.")

with col_model:
    st.subheader("2. Model and weights")
    arch = st.selectbox("Architecture", keys, key="fm_arch", on_change=_arch_changed,
                        format_func=lambda k: get_spec(k).dated_title)
    spec = get_spec(arch)
    kind = st.radio("Weights", kinds, key="fm_kind", format_func=ws.WEIGHT_KINDS.get)
    ref, data, download, download_error = "", None, False, ""
    if kind == "user":
        ref = st.selectbox("My model", [m.name for m in mine], key="fm_user_model")
    elif kind == "upload":
        ck = st.file_uploader(f"Checkpoint for {spec.title} (.safetensors)", type=["safetensors"],
                              key="fm_ckpt")
        data = ck.getvalue() if ck is not None else None
    elif kind == "imagenet" and not ws.pretrained_cached(arch):
        st.caption("The ImageNet weights are not on this machine yet.")
        if st.button("Download the ImageNet weights (needs a network)", key="fm_download"):
            bar = st.progress(0.0, text="Connecting...")
            try:  # streamed, hash-checked; the cache gets the file only when it is whole and right
                download_pretrained(spec, progress=lambda done, total: bar.progress(
                    min(1.0, done / total) if total else 0.0, text=f"Downloading {format_progress(done, total)}"))
                download = True
            except WeightsError as err:
                download_error = str(err)
            bar.empty()
    try:
        if download_error:
            raise ws.ModelLoadError(download_error)
        if kind == "upload" and data is None:
            raise ws.ModelLoadError("Upload a .safetensors checkpoint for this architecture.")
        if kind == "imagenet" and not download and not ws.pretrained_cached(arch):
            raise ws.ModelLoadError(
                f"The ImageNet weights of {spec.title} are not in the local cache, and nothing is "
                "downloaded without your click. Click the button above when a network is available.")
        lm = ws.load_model(arch, kind, ref=ref, data=data, download=download)
    except ws.ModelLoadError as err:  # may quote a file's metadata: shown as text, never Markdown
        st.warning(escape_text(str(err), limit=800))
        lm = ws.load_model(arch, "random")
    st.success("Weights in use: " + escape_text(lm.label, limit=300))
    st.caption(f"{spec.idea} " + escape_text(lm.detail, limit=300))
if projector and lm.kind != kind:  # the fallback must be visible with the inputs folded
    st.caption("Weights in use: " + escape_text(lm.label, limit=300))

# --------------------------------------------------------------------------- 3. preprocessing

res = None
with st.spinner("Running the model once and keeping every layer's maps..."):
    try:
        res = ir.feature_result(lm, image)
    except RuntimeError as err:  # e.g. an input too small for a deep model
        st.error(f"{spec.title} could not process this input: {str(err).splitlines()[0]}")
if res is None:
    st.stop()
mi = res.model_input

with st.expander(f"3. Preprocessing: {image.size[1]} x {image.size[0]} x 3 (H x W x C) -> "
                 f"{' x '.join(map(str, mi.x.shape))} (N x C x H x W)", expanded=False):
    left, right = st.columns([2, 1])
    left.markdown("\n".join(f"{i + 1}. {step}" for i, step in enumerate(mi.steps)))
    right.image(mi.view, caption=f"What the model sees ({mi.view.shape[0]} x {mi.view.shape[1]})",
                width=min(224, mi.view.shape[1] * max(1, 224 // mi.view.shape[1])))
if mi.grey_model and not image.was_grey:
    st.caption("This model takes grey images: the colour image was converted to 1 channel.")
elif image.was_grey and not mi.grey_model:
    st.caption("The image is grey: its channel was repeated 3 times for this colour model.")

# --------------------------------------------------------------------------- 4. views

names = res.maps.names()
if not names:
    st.warning("This model has no feature-map layers to show.")
    st.stop()
layer_tokens = _layer_tokens(lm, names)
labels = {m.name: f"{layer_tokens[m.name]}: {m.label}" if m.name in layer_tokens else m.label
          for m in res.maps.layers}


def _open_layer(name: str) -> None:
    st.session_state["fm_layer"] = name
    st.session_state["fm_view"] = "Layer detail"


url.bind("view", "fm_view", default="Overview", valid=VIEWS, url=VIEW_TOKENS)
view = st.radio("View", VIEWS, horizontal=True, key="fm_view", label_visibility="collapsed")


def _bounded(key: str, hi: int, default: int = 0) -> None:
    """Keep an index widget's stored value inside 0..hi before the widget is drawn."""
    v = st.session_state.get(key, default)
    st.session_state[key] = int(min(max(0, v if isinstance(v, int) else default), hi))


def _unit_clicked() -> None:
    """A click on a feature map selects that unit and opens its receptive field."""
    cell = clicked_cell(st.session_state.get("fm_zoom") if st.session_state.get("fm_view") == "Layer detail"
                        else st.session_state.get("fm_rf_pick"))  # fmt: skip
    if cell is None:
        return
    if st.session_state.get("fm_view") == "Layer detail":
        st.session_state["fm_rf_layer"] = st.session_state.get("fm_layer")
        st.session_state["fm_view"] = "Receptive field"
    st.session_state["fm_rf_row"], st.session_state["fm_rf_col"] = cell


def _layer_montage(layer: str, by: str, scale: str, key: str) -> None:
    lm_ = res.maps.get(layer)
    png = res.montage_png(layer, by, scale)
    st.image(png, caption=f"{lm_.label}: {lm_.channels} channels sorted by {SORT_LABELS[by]}, "
             "each rescaled to its own min..max" + (f", shown at 1/{lm_.tile_factor} size (the zoom below is full size)"
                                                     if lm_.tile_factor > 1 else ""), width="stretch")
    st.plotly_chart(viz.colour_bar(scale, 0.0, 1.0, "Montage colour (each channel rescaled on its own)",
                                   ("channel's lowest activation", "channel's highest")),
                    key=f"{key}_bar", config={"displayModeBar": False})
    c1, c2 = st.columns(2)
    c1.download_button("Montage as PNG", png, file_name=f"{lm.arch}_{layer}_montage.png", mime="image/png",
                       on_click="ignore", key=f"{key}_png")
    c2.download_button("Activations as .npy (float16)", lambda: viz.npy_bytes(lm_.values),
                       file_name=f"{lm.arch}_{layer}_activations.npy", mime="application/octet-stream",
                       on_click="ignore", key=f"{key}_npy")


if view == "Overview":
    st.markdown("Each row: one layer's 8 strongest channels (highest mean activation), "
                "each rescaled to its own min..max. Open a layer to see all of its channels.")
    for i, m in enumerate(res.maps.layers):
        a, b, c = st.columns([2, 6, 1], vertical_alignment="center")
        a.markdown(f"**{layer_tokens.get(m.name, m.name)}** ({m.type})  \n{' x '.join(map(str, m.shape))}")
        b.image(res.strip_png(m.name))
        c.button("Open", key=f"fm_open_{i}", on_click=_open_layer, args=(m.name,))

elif view == "Layer detail":
    c1, c2, c3 = st.columns([3, 2, 2])
    url.bind("layer", "fm_layer", default=names[len(names) // 3], valid=names, url=layer_tokens)
    layer = c1.selectbox("Layer", names, key="fm_layer", format_func=labels.get)
    url.bind("sort", "fm_sort", default="mean", valid=SORT_KEYS)
    by = c2.selectbox("Sort channels by", SORT_KEYS, key="fm_sort", format_func=SORT_LABELS.get)
    url.bind("scale", "fm_scale", default=ir.DEFAULT_SCALE, valid=list(viz.COLOUR_SCALES))
    scale = c3.selectbox("Colour scale", list(viz.COLOUR_SCALES), key="fm_scale")
    m = res.maps.get(layer)
    if m.note:
        st.caption(f"{m.name}: {m.note}.")
    _layer_montage(layer, by, scale, "fm_detail")

    ov = layer_overview(m.stats)
    s1, s2, s3 = st.columns(3)
    s1.metric("Mean activation", f"{ov.mean:.4g}")
    s2.metric("Share of zeros" + (" (after ReLU)" if ov.nonnegative else " (values <= 0)"),
              f"{ov.zero_share:.0%}")
    s3.metric("Dead channels", f"{ov.dead} of {ov.channels}",
              help="Channels that are never positive on this image (zero everywhere after a ReLU).")
    st.plotly_chart(viz.stats_figure(m.stats.mean, m.stats.zero_frac, res.order(layer, by), m.stats.dead),
                    key="fm_stats_fig")

    st.markdown("**One channel, full size**")
    order = res.order(layer, by)
    url.bind("channel", "fm_channel", default=int(order[0]), valid=range(m.channels))
    z1, z2 = st.columns([1, 1])
    ch = z1.number_input(f"Channel (0 to {m.channels - 1})", min_value=0, max_value=m.channels - 1,
                         step=1, key="fm_channel")
    url.keep("fm_alpha", 0.6, lambda v: isinstance(v, float) and 0.0 <= v <= 1.0)
    alpha = z2.slider("Overlay opacity", 0.0, 1.0, step=0.05, key="fm_alpha")
    values = m.values[int(ch)].astype(np.float32)
    rank = int(np.flatnonzero(order == int(ch))[0])
    left, right = st.columns(2)
    zoom = viz.channel_figure(values, f"{layer}, channel {ch} (rank {rank + 1} by {SORT_LABELS[by]})", scale)
    left.plotly_chart(add_click_targets(zoom, *values.shape), key="fm_zoom", on_select=_unit_clicked,
                      selection_mode="points")  # fmt: skip
    left.caption("Click a unit to see what it sees: its receptive field on the input.")
    factor = max(1, 384 // mi.view.shape[1])
    right.image(viz.enlarge(viz.overlay(mi.view, values, alpha=alpha, scale="inferno"), 384), width="stretch",
                caption=f"Channel {ch} stretched to the model's input ({values.shape[0]} x {values.shape[1]} -> "
                        f"{mi.view.shape[0]} x {mi.view.shape[1]}, bilinear) and laid over it"
                        + (f"; then drawn {factor} x larger with square pixels, so each input pixel shows "
                           "as a block" if factor > 1 else "")
                        + ". Colours (inferno): dark = the channel's lowest activation, bright yellow = "
                          "its highest.")
    right.plotly_chart(viz.colour_bar("inferno", float(values.min()), float(values.max()),
                                      f"Overlay colour: activation of channel {ch} (layer output units)"),
                       key="fm_overlay_bar", config={"displayModeBar": False})

elif view == "Compare":
    mode = st.radio("Compare", ["Two layers of this model", "This layer in two models"], horizontal=True,
                    key="fm_cmp_mode")
    by = st.session_state.get("fm_sort", "mean")
    scale = st.session_state.get("fm_scale", "viridis")
    if mode.startswith("Two layers"):
        if st.session_state.get("fm_cmp_b") not in names:
            st.session_state["fm_cmp_b"] = names[min(len(names) - 1, 2 * len(names) // 3)]
        if st.session_state.get("fm_cmp_a") not in names:
            st.session_state["fm_cmp_a"] = names[0]
        left, right = st.columns(2)
        with left:
            la = st.selectbox("Left layer", names, key="fm_cmp_a", format_func=labels.get)
            st.image(res.montage_png(la, by, scale), width="stretch", caption=labels[la])
        with right:
            lb = st.selectbox("Right layer", names, key="fm_cmp_b", format_func=labels.get)
            st.image(res.montage_png(lb, by, scale), width="stretch", caption=labels[lb])
    else:
        other_kinds = [k for k in ("random", "imagenet", "bundled") if k != lm.kind and (
            k == "random" or (k == "imagenet" and ws.pretrained_cached(arch))
            or (k == "bundled" and arch in ws.bundled_available()))]
        # The second model: any catalog entry or one of the user's trained models; by default a
        # different, trained one (the same model twice compares nothing).
        my_models = {f"user:{m.name}": m for m in user_models(kind="cnn")}
        other_archs = [s.key for s in specs] + list(my_models)
        trained_others = [k for k in PREFERRED_BUNDLED if k in ws.bundled_available() and k != arch]
        default_b = next(iter(k for k in my_models if my_models[k].arch != arch or lm.kind != "user"), None) \
            or (trained_others[0] if trained_others else next(k for k in keys if k != arch))
        if st.session_state.get("fm_cmp_arch") not in other_archs:
            st.session_state["fm_cmp_arch"] = default_b
        c1, c2 = st.columns(2)
        pick_b = c1.selectbox("Second model", other_archs, key="fm_cmp_arch",
                              format_func=lambda k: f"My model: {my_models[k].name}" if k in my_models
                              else get_spec(k).dated_title)
        if pick_b in my_models:
            arch_b, kind_b, ref_b = my_models[pick_b].arch, "user", my_models[pick_b].name
            c2.caption(f"Weights: your trained {get_spec(arch_b).title}")
        else:
            arch_b, ref_b = pick_b, ""
            kinds_b = (["imagenet"] if ws.pretrained_cached(arch_b) else []) + \
                (["bundled"] if arch_b in ws.bundled_available() else []) + ["random"]
            if st.session_state.get("fm_cmp_kind") not in kinds_b:
                st.session_state["fm_cmp_kind"] = next(
                    (k for k in kinds_b if arch_b != arch or k != lm.kind), kinds_b[0])
            kind_b = c2.radio("Its weights", kinds_b, key="fm_cmp_kind", format_func=ws.WEIGHT_KINDS.get,
                              horizontal=True)
        try:
            lm_b = ws.load_model(arch_b, kind_b, ref=ref_b)
        except ws.ModelLoadError as err:
            st.warning(str(err))
            lm_b = ws.load_model(arch_b, "random")
        with st.spinner("Running the second model..."):
            res_b = ir.feature_result(lm_b, image)
        names_b = res_b.maps.names()
        labels_b = {m.name: m.label for m in res_b.maps.layers}
        left, right = st.columns(2)
        with left:
            st.markdown(f"**{lm.label}**")
            url.bind("layer", "fm_layer", default=names[len(names) // 3], valid=names, url=layer_tokens)
            la = st.selectbox("Layer", names, key="fm_layer", format_func=labels.get)
            st.image(res.montage_png(la, by, scale), width="stretch")
        with right:
            st.markdown(f"**{lm_b.label}**")
            if st.session_state.get("fm_cmp_layer_b") not in names_b:
                st.session_state["fm_cmp_layer_b"] = la if la in names_b else names_b[len(names_b) // 3]
            lb = st.selectbox("Layer", names_b, key="fm_cmp_layer_b", format_func=labels_b.get)
            st.image(res_b.montage_png(lb, by, scale), width="stretch")
        st.caption("Same image, same preprocessing recipe for each model. Trained filters give smooth, "
                   "structured maps (edges, textures, parts); random ones give noisy copies of the image.")

elif view == "Filters":
    convs = conv_layers(lm.model)
    if not convs:
        st.info("This model has no convolution layers.")
    else:
        conv_names = [n for n, _ in convs]
        if st.session_state.get("fm_conv") not in conv_names:
            st.session_state["fm_conv"] = conv_names[0]
        cname = st.selectbox("Convolution layer", conv_names, key="fm_conv",
                             format_func=lambda n: f"{n}: {tuple(dict(convs)[n].weight.shape)} "
                                                   "(out x in x kh x kw)")
        w = dict(convs)[cname].weight.detach().cpu()
        out_c, in_c, kh, kw = w.shape
        left, right = st.columns([3, 2])
        with left:
            if cname == conv_names[0] and in_c in (1, 3):
                st.image(viz.first_layer_patches(w, zoom=max(2, 48 // max(kh, kw))), width="stretch",
                         caption=f"All {out_c} first-layer kernels ({kh} x {kw}) as "
                                 f"{'colour' if in_c == 3 else 'grey'} patches; mid-grey = 0, each kernel "
                                 "scaled by its own largest weight")
            elif kh == 1 and kw == 1:
                st.plotly_chart(viz.matrix_figure(w[:, :, 0, 0].numpy(), f"{cname}: 1 x 1 kernels as a "
                                                  f"{out_c} x {in_c} matrix"), key="fm_matrix")
                st.caption("A 1 x 1 convolution mixes channels at each pixel: its kernels form one matrix.")
            else:
                _bounded("fm_in_ch", in_c - 1)
                ic = st.number_input(f"Input channel (0 to {in_c - 1})", 0, in_c - 1, step=1, key="fm_in_ch")
                st.image(viz.kernel_grid(w, int(ic), zoom=max(2, 32 // max(kh, kw))), width="stretch",
                         caption=f"The {kh} x {kw} kernel of each of the {out_c} output channels for input "
                                 f"channel {ic}; blue < 0 < red, one scale for the grid")
        with right:
            st.plotly_chart(viz.weight_histogram(w, f"Weights of {cname} ({w.numel():,})"), key="fm_hist")
            st.caption(lm.label)

elif view == "Receptive field":
    summary = ir.field_summary(lm.arch, tuple(sorted(lm.build.items())), tuple(mi.x.shape[1:]))
    rf_names = [n for n in names if n in summary.fields and not summary.fields[n].is_global]
    if not rf_names:
        st.info("No layer of this model has a local receptive field to draw.")
    else:
        url.bind("layer", "fm_rf_layer", default=rf_names[min(len(rf_names) - 1, len(rf_names) // 2)],
                 valid=rf_names, url=layer_tokens)
        layer = st.selectbox("Layer", rf_names, key="fm_rf_layer", format_func=labels.get)
        m = res.maps.get(layer)
        _, h, w = m.shape
        f = summary.fields[layer]
        c1, c2, c3 = st.columns(3)
        url.bind("unit", ("fm_rf_row", "fm_rf_col"), default=(h // 2, w // 2),
                 valid=lambda u: len(u) == 2 and 0 <= u[0] < h and 0 <= u[1] < w)
        row = c1.number_input(f"Row (0 to {h - 1})", 0, h - 1, step=1, key="fm_rf_row")
        col = c2.number_input(f"Column (0 to {w - 1})", 0, w - 1, step=1, key="fm_rf_col")
        url.keep("fm_rf_erf", True, (True, False))
        show_erf = c3.checkbox("Effective field (one backward pass)", key="fm_rf_erf")
        box = f.box(int(row), int(col))
        centre = (f.start[0] + int(row) * f.jump[0], f.start[1] + int(col) * f.jump[1])
        st.markdown(
            f"Unit ({row}, {col}) of **{layer}** sees **{f.size[0]:g} x {f.size[1]:g}** input pixels "
            f"(rows {box[0]:g} to {box[2]:g}, columns {box[1]:g} to {box[3]:g}); neighbouring units are "
            f"**{f.jump[0]:g}** pixels apart. "
            + ("The field runs past the border (dashed): there the unit reads zero padding, so it "
               "sees less of the image than the box suggests." if
               box[0] < 0 or box[1] < 0 or box[2] > mi.view.shape[0] - 1 or box[3] > mi.view.shape[1] - 1
               else ""))
        left, right = st.columns(2)
        left.plotly_chart(viz.field_figure(mi.view, box, centre, title="Theoretical receptive field"),
                          key="fm_rf_fig")
        if show_erf:
            heat = ir.effective_field(lm, res, layer, int(row), int(col), None)
            alpha = c3.slider("Overlay opacity", 0.0, 1.0, 0.6, 0.05, key="fm_heat_alpha")
            right.plotly_chart(viz.field_figure(mi.view, box, centre, heat=heat, alpha=alpha,
                                                title="Effective field: |gradient| of the unit"),
                               key="fm_erf_fig")
            right.caption("Brightness = how much each input pixel changes this unit (all its channels "
                          "summed), square-root scaled. It fills the centre of the theoretical field.")
        ch_rf = int(st.session_state.get("fm_channel", 0) or 0)
        ch_rf = ch_rf if 0 <= ch_rf < m.channels else int(res.order(layer, "mean")[0])
        pick, sums = st.columns(2)
        pick_fig = viz.channel_figure(m.values[ch_rf].astype(np.float32),
                                      f"{labels.get(layer, layer)}, channel {ch_rf}: click a unit")
        pick.plotly_chart(add_click_targets(pick_fig, h, w, (int(row), int(col))), key="fm_rf_pick",
                          on_select=_unit_clicked, selection_mode="points")  # fmt: skip
        if is_first_layer_field(lm.model, f.size, f.jump):
            unit = first_layer_unit(lm.model, mi.x, ch_rf, int(row), int(col))
            if unit is not None:
                sums.markdown("**A first-layer unit is one sum**: the filter's weights times the input patch it "
                              "sees (the model's normalised input), summed over every input channel, plus the "
                              "bias, as on the Convolution basics page.")  # fmt: skip
                sums.code(unit.text(("red", "green", "blue") if unit.per_channel.numel() == 3 else None),
                          language=None)  # fmt: skip

elif view == "Predictions":
    from explorer.probe.erf import top_k

    preds = top_k(res.maps.output, lm.classes, k=5, task=lm.task)
    if not lm.head_meaningful:
        st.info("These weights are random: the output layer has learned nothing, so these 'predictions' "
                "are meaningless. Choose trained weights to see real ones.")
    fig = viz.predictions_figure([p.label for p in preds], [p.probability for p in preds],
                                 title=f"Top {len(preds)}: {lm.label}")
    st.plotly_chart(fig, key="fm_pred_fig")
    if lm.classes is None:
        st.caption("This model has no class names: outputs are numbered.")
    elif lm.head_meaningful and lm.kind in ("bundled", "user", "upload") and len(lm.classes) < 1000:
        st.caption(f"This model knows only these classes: {', '.join(lm.classes)}. On an image of "
                   "something else it still picks the class the image resembles most.")

elif view == "Attribution":
    import time

    from explorer.probe.attribution import (
        DEFAULT_STEPS,
        MAX_STEPS,
        METHODS,
        MIN_STEPS,
        AttributionError,
    )
    from explorer.probe.erf import top_k

    if not lm.head_meaningful:
        st.info("These weights are random: no class has evidence to point at, so the maps below show "
                "only the network's wiring. Choose trained weights to see what a prediction rests on.")
    preds = top_k(res.maps.output, lm.classes, k=5, task=lm.task)
    a1, a2 = st.columns(2)
    method = a1.radio("Method", list(METHODS), format_func=lambda k: METHODS[k].title, key="fm_attr_method")
    pick = a2.selectbox("Explain the class", range(len(preds)), key="fm_attr_target",
                        format_func=lambda i: f"{preds[i].label} ({preds[i].probability:.1%})")
    st.caption(METHODS[method].explanation)
    if lm.task == "binary":
        st.caption("A binary model has one output: the map explains the evidence for the positive class.")
    target = 0 if lm.task == "binary" else preds[pick].index
    multi = METHODS[method].multi_pass
    steps = st.slider("Steps along the path (more steps: closer to the exact integral, and slower)",
                      MIN_STEPS, MAX_STEPS, DEFAULT_STEPS, key="fm_attr_steps") if multi else DEFAULT_STEPS
    heat = ir.cached_attribution(res, method, target, steps)
    if heat is None:
        run_now = not multi
        if multi:
            try:
                with st.spinner("Timing one forward and backward pass to price the run..."):
                    estimate = ir.attribution_estimate(lm, res, method, steps, target)
            except RuntimeError as err:  # e.g. out of memory on a small GPU
                st.error(f"{spec.title} could not run a backward pass here: {str(err).splitlines()[0]}")
                st.stop()
            device_name = {"cpu": "CPU", "cuda": "GPU", "mps": "Apple GPU"}.get(
                next(lm.model.parameters()).device.type, "device")
            price = estimate.text(device_name)
            run_now = estimate.seconds <= ir.AUTO_SECONDS
            if not run_now:
                ask = st.empty()  # the price and the button go away once the run starts
                with ask.container():
                    if st.session_state.get("fm_attr_stop"):
                        st.caption("Stopped before it finished; nothing was kept. Fewer steps cost less.")
                    st.markdown(f"{METHODS[method].title} for this image: {price}.")
                    run_now = st.button(f"Compute ({price.split(':')[0]})", key="fm_attr_go", type="primary")
                if run_now:
                    ask.empty()
        if run_now:
            stop_slot = st.empty()
            if multi:  # a click reruns the page; the running pass ends at its next batch
                stop_slot.button("Stop", key="fm_attr_stop")
            bar = st.progress(0.0, text=f"{METHODS[method].title}: starting...")
            started = time.perf_counter()

            def _progress(done: int, total: int) -> None:
                left_s = (time.perf_counter() - started) / done * (total - done) if done else None
                tail = f", about {left_s:.0f} s left" if left_s is not None and done < total else ""
                unit = "steps" if multi else "pass"
                bar.progress(done / max(1, total), text=f"{METHODS[method].title}: {done} of {total} {unit}{tail}")

            try:
                heat = ir.attribution_map(lm, res, method, target, steps, progress=_progress)
            except AttributionError as err:
                st.error(str(err))
            finally:
                bar.empty()
                stop_slot.empty()
    if heat is not None:
        alpha = st.slider("Overlay opacity", 0.0, 1.0, 0.6, 0.05, key="fm_heat_alpha")
        # one figure, two panels: the same size and the same square-pixel enlargement
        st.plotly_chart(viz.field_pair(mi.view, heat, ("What the model sees", f"{METHODS[method].title}: "
                                       f"{preds[pick].label}"), alpha=alpha), key="fm_attr_fig")  # fmt: skip
        st.caption("Colours: each pixel's attribution magnitude divided by the largest one, square-root "
                   "scaled (the colour bar), blended over the input with the opacity above.")

url.done()
