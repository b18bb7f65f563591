"""Convolution basics: the sliding window step by step, free numbers, channels, weight sharing,
pooling, and the two heads (sigmoid + binary cross-entropy, softmax + cross-entropy)."""


import streamlit as st
import torch

from explorer.basics import (
    COLOUR_FILTERS,
    PRESETS,
    LayerSettingsError,
    SlidingSteps,
    channel_breakdown,
    colour_filters,
    conv_as_dense,
    conv_params,
    convolve,
    dense_forward,
    dense_params,
    effective_kernel,
    formula,
    global_average_pool,
    output_size,
    parse_grid,
    pool,
    pool_formula,
    resolve_padding,
    same_padding,
    sigmoid_binary_cross_entropy,
    sliding_steps,
    softmax_cross_entropy,
    to_grey,
    to_rgb,
    torch_conv_check,
)
from explorer.data.samples import list_samples, load_sample
from explorer.ui.kernel_editor import kernel_editor
from explorer.ui.state import PageState
from explorer.viz.basics import (
    binary_bar,
    dense_matrix,
    map_heatmap,
    maps_row,
    probabilities_bar,
    rgb_image,
    step_equation,
    step_figure,
)

st.title("Convolution basics")
st.caption("The operations every CNN is made of, one at a time, computed by PyTorch's own operators.")
url = PageState("basics")


@st.cache_data(max_entries=64, show_spinner=False)
def sample_grey(name: str, side: int) -> torch.Tensor:
    return to_grey(load_sample(name).tensor, side)


@st.cache_data(max_entries=32, show_spinner=False)
def sample_rgb(name: str, side: int) -> torch.Tensor:
    return to_rgb(load_sample(name).tensor, side)


samples = {s.name: s.title for s in list_samples()}
left, right = st.columns([2, 1])
url.bind("sample", "bs_image", default="cat" if "cat" in samples else next(iter(samples)), valid=list(samples))
name = left.selectbox("Image", list(samples), format_func=samples.get, key="bs_image")
side = right.select_slider("Resize to N x N", [16, 24, 32, 48, 64, 96], value=48, key="bs_side")
grey = sample_grey(name, side)

st.subheader("1. An image is a grid of numbers")
c, h, w = load_sample(name).tensor.shape
st.markdown(
    f"The picture is **{h} x {w} x {c}** (height x width x channels, values 0-255 per channel, shown here "
    f"divided by 255). PyTorch stores it channels-first as a **{c} x {h} x {w}** tensor. Here it is turned grey "
    f"(1 channel) and resized to **{side} x {side}**, so you can see single pixels."
)
cols = st.columns(2)
cols[0].plotly_chart(map_heatmap(grey, f"input: 1 x {side} x {side}"), width="stretch")
cols[1].caption("The top-left 6 x 6 corner, as numbers in [0, 1]:")
cols[1].dataframe([[round(float(v), 2) for v in row[:6]] for row in grey[:6]], width="stretch")

# ---------------------------------------------------------------- the filter: presets + editable grid
st.subheader("2. Convolution: a filter slides over the image")
k1, k2 = st.columns([1, 1])
kernel = kernel_editor(url, k1)
f_k = kernel.shape[0]
with k2:
    a, b = st.columns(2)
    stride = a.number_input("Stride S", 1, 3, 1, key="bs_step_stride")
    padding = b.number_input("Padding P (zeros)", 0, 2, 1, key="bs_step_padding")
    dilation = a.number_input("Dilation d", 1, 2, 1, key="bs_step_dilation",
                              help="d > 1 spreads the filter's taps d pixels apart (atrous convolution).")
    bias = b.number_input("Bias b", -2.0, 2.0, 0.0, 0.1, key="bs_step_bias")
    small = a.number_input("Input side (step view)", 7, 12, 8, key="bs_step_side")
    source = b.radio("Step-view input", ["sample image", "typed numbers"], key="bs_step_source")

if source == "typed numbers":
    start = [[1.0 if j >= small // 2 else 0.0 for j in range(small)] for _ in range(small)]
    typed = st.data_editor(start, key=f"bs_typed_{small}", num_rows="fixed", width="stretch")
    try:
        tiny = parse_grid(typed.values.tolist() if hasattr(typed, "values") else typed, "input")
    except LayerSettingsError as err:
        st.error(f"{err} The sample image is used instead.")
        tiny = sample_grey(name, small).to(torch.float64)
else:
    tiny = sample_grey(name, small).to(torch.float64)

steps: SlidingSteps | None = None
try:
    steps = sliding_steps(tiny, kernel, stride, padding, dilation, bias)
except LayerSettingsError as err:
    st.error(f"Step view: {err}")

signature = (tuple(tiny.flatten().tolist()), tuple(kernel.flatten().tolist()), stride, padding, dilation, bias)
playing = bool(st.session_state.get("bs_playing", False))


@st.fragment(run_every=0.9 if playing else None)
def step_view() -> None:
    """Step controls, the window figure and its arithmetic; reruns alone (never the page)."""
    total = len(steps)
    if st.session_state.get("bs_step_sig") != signature:
        st.session_state["bs_step_sig"] = signature
        st.session_state["bs_step"] = 0
    step = min(int(st.session_state.get("bs_step", 0)), total - 1)
    if bool(st.session_state.get("bs_playing", False)) != playing:
        st.rerun()  # play/pause changes the fragment's timer: one page run, not one per frame
    if playing and st.session_state.pop("bs_tick", True):
        step = step + 1 if step + 1 < total else 0
    st.session_state["bs_tick"] = True
    st.session_state["bs_step"] = step

    def go(to: int) -> None:
        st.session_state["bs_step"] = max(0, min(total - 1, to))
        st.session_state["bs_tick"] = False

    def toggle() -> None:
        st.session_state["bs_playing"] = not st.session_state.get("bs_playing", False)
        st.session_state["bs_tick"] = False

    def clicked() -> None:
        points = st.session_state["bs_step_chart"].selection.points
        hits = [p.get("customdata") for p in points if p.get("customdata") is not None]
        if hits:
            go(int(hits[0][0] if isinstance(hits[0], list) else hits[0]))

    b = st.columns([1, 1, 1, 1.2, 1, 3.5])
    b[0].button("First", on_click=go, args=(0,), key="bs_first", width="stretch")
    b[1].button("Back", on_click=go, args=(step - 1,), key="bs_back", width="stretch", disabled=step == 0)
    b[2].button("Pause" if playing else "Play", on_click=toggle, key="bs_play", width="stretch")
    b[3].button("Forward", on_click=go, args=(step + 1,), key="bs_forward", width="stretch",
                disabled=step >= total - 1)  # fmt: skip
    b[4].button("Last", on_click=go, args=(total - 1,), key="bs_last", width="stretch")
    r, col = steps.position(step)
    b[5].markdown(f"**Position {step + 1} of {total}**: output row {r}, column {col} "
                  "(click any output cell to jump there)")  # fmt: skip
    st.plotly_chart(step_figure(steps, step), key="bs_step_chart", on_select=clicked, selection_mode="points",
                    width="stretch", config={"displayModeBar": False})  # fmt: skip
    st.code(step_equation(steps, step), language=None)


if steps is not None:
    step_view()
st.caption(
    "Each output number is the sum of the element-wise products of the window and the filter, plus the "
    "bias. This is cross-correlation (no kernel flip), as in every deep-learning framework. Shaded cells "
    "are the padding: zeros added around the image so the window can be centred on border pixels."
)

# ---------------------------------------------------------------- the whole image
st.markdown("**The same filter over the whole image**")
try:
    conv = convolve(grey.to(torch.float64), kernel, stride, padding, dilation, bias)
except LayerSettingsError as err:
    st.error(str(err))
    st.stop()
st.latex(formula(side, f_k, padding, stride, dilation))
cols = st.columns(2)
cols[0].plotly_chart(map_heatmap(conv, f"convolution: {conv.shape[0]} x {conv.shape[1]}", diverging=True),
                     width="stretch")  # fmt: skip
relu = conv.clamp(min=0)
cols[1].plotly_chart(map_heatmap(relu, "after ReLU: max(0, x)"), width="stretch")
st.caption(f"ReLU keeps positive responses and sets {float((relu == 0).double().mean()):.0%} of this map to zero.")

# ---------------------------------------------------------------- free numbers
st.subheader("3. Output size: N, F, P, S")
st.markdown(
    "Choose any layer. **'valid'** means no padding (P = 0, Keras's default, the output shrinks by F - 1); "
    "**'same'** pads so that the output keeps the input's size when S = 1 (P = (F - 1) / 2 for an odd F)."
)


def _apply_preset() -> None:
    chosen = PRESETS[st.session_state["bs_preset"]]
    st.session_state.update(bs_n=chosen.n, bs_f=chosen.f, bs_p=chosen.p, bs_s=chosen.s, bs_d=1, bs_mode="custom P")


pc = st.columns([2, 1, 1, 1, 1, 1, 1])
pc[0].selectbox("Preset layer", list(PRESETS), key="bs_preset", on_change=_apply_preset, index=None,
                placeholder="LeNet C1, AlexNet conv1, VGG, Keras...")  # fmt: skip
url.bind("n", "bs_n", 32, range(1, 513))
n_free = pc[1].number_input("N (input side)", 1, 512, key="bs_n")
url.bind("f", "bs_f", 5, range(1, 12))
f_free = pc[2].number_input("F (filter)", 1, 11, key="bs_f")
MODES = ["valid", "same", "custom P"]
url.bind("pad", "bs_mode", "custom P", MODES, url={"custom P": "custom"})
mode = pc[3].selectbox("Padding", MODES, key="bs_mode")
url.bind("p", "bs_p", 0, range(0, 6))
p_free = pc[4].number_input("P", 0, 5, key="bs_p", disabled=mode != "custom P")
url.bind("s", "bs_s", 1, range(1, 6))
s_free = pc[5].number_input("S (stride)", 1, 5, key="bs_s")
url.bind("d", "bs_d", 1, range(1, 5))
d_free = pc[6].number_input("Dilation", 1, 4, key="bs_d")
if st.session_state.get("bs_preset"):
    st.caption(PRESETS[st.session_state["bs_preset"]].note)
try:
    p_used = resolve_padding({"custom P": "custom"}.get(mode, mode), f_free, p_free, s_free, d_free)
    out_free = output_size(n_free, f_free, p_used, s_free, d_free)
    st.latex(formula(n_free, f_free, p_used, s_free, d_free))
    notes = []
    if mode == "same":
        notes.append(f"'same' with F = {f_free} pads {same_padding(f_free, d_free)[0]} zero(s) on every side.")
    if d_free > 1:
        notes.append(f"Dilation {d_free} spreads the {f_free} taps over F_eff = d(F - 1) + 1 = "
                     f"{effective_kernel(f_free, d_free)} pixels.")  # fmt: skip
    notes.append(torch_conv_check(n_free, f_free, p_used, s_free, d_free))
    st.markdown(" ".join(notes))
except LayerSettingsError as err:
    st.error(str(err))

# ---------------------------------------------------------------- channels and filters
st.subheader("4. Colour images: three channels, several filters")
cc = st.columns([1, 1, 2])
n_filters = cc[0].slider("Filters (output channels)", 1, len(COLOUR_FILTERS), 2, key="bs_filters")
shown = cc[1].selectbox("Show the sum for filter", range(1, n_filters + 1), key="bs_shown_filter")
rgb = sample_rgb(name, 32)
weights, biases = colour_filters(kernel, n_filters)
try:
    parts = channel_breakdown(rgb, weights, biases, stride, padding, dilation)
except LayerSettingsError as err:
    st.error(str(err))
    st.stop()
cc[2].markdown(
    f"Each filter is **{f_k} x {f_k} x 3**: one {f_k} x {f_k} slice per input channel. Parameters = F x F x C_in x "
    f"C_out + C_out = {f_k} x {f_k} x 3 x {n_filters} + {n_filters} = **{conv_params(f_k, 3, n_filters)}**. "
    + torch_conv_check(32, f_k, padding, stride, dilation, 3, n_filters)
)
o = shown - 1
st.caption(f"Filter {shown}: {COLOUR_FILTERS[o]}. Output = R * w_R + G * w_G + B * w_B + bias ({float(biases[o]):g}).")
row = st.columns([1, 3])
row[0].plotly_chart(rgb_image(rgb, "input 3 x 32 x 32"), width="stretch")
row[1].plotly_chart(maps_row(
    [parts.per_channel[o, 0], parts.per_channel[o, 1], parts.per_channel[o, 2],
     parts.per_channel[o].sum(0) + parts.bias[o], parts.output[o]],
    ["R * w_R", "G * w_G", "B * w_B", f"sum + bias ({float(biases[o]):g})", "torch's output"], shared_scale=True,
), width="stretch")  # fmt: skip
st.plotly_chart(maps_row([parts.output[i] for i in range(n_filters)],
                         [f"output channel {i + 1}" for i in range(n_filters)], height=220), width="stretch")
gap = (parts.per_channel[o].sum(0) + parts.bias[o] - parts.output[o]).abs().max()
st.caption(f"Largest difference between 'sum + bias' and torch's conv2d output: {float(gap):.1e} (float rounding).")

# ---------------------------------------------------------------- dense vs convolution
st.subheader("5. A dense layer that does the same: weight sharing in numbers")
if steps is None:
    st.info("The step view's settings do not fit its input (see the message above): nothing to compare.")
else:
    weight, dense_bias = conv_as_dense(tuple(tiny.shape), kernel, bias, stride, padding, dilation)
    n_in, n_out = weight.shape[1], weight.shape[0]
    same = dense_forward(tiny, weight, dense_bias)
    err_max = float((same - steps.output.flatten()).abs().max())
    dc = st.columns([3, 2])
    dc[0].plotly_chart(dense_matrix(weight, f"W: {n_out} x {n_in} (blank = zero)"), width="stretch")
    dc[1].markdown(
        f"The step view's input ({tiny.shape[0]} x {tiny.shape[1]} = {n_in} pixels) through your filter gives "
        f"{n_out} outputs. A dense layer y = Wx + b gives exactly the same numbers (largest difference "
        f"{err_max:.1e}) when W is the matrix on the left: each row holds the same {f_k * f_k} weights, shifted, and zeros.\n\n"
        f"- dense layer {n_in} -> {n_out}: {n_in} x {n_out} + {n_out} = **{dense_params(n_in, n_out):,}** parameters\n"
        f"- the convolution: {f_k} x {f_k} + 1 = **{conv_params(f_k, 1, 1)}** parameters\n\n"
        f"On a 224 x 224 image with a {f_k} x {f_k} 'valid' filter the dense layer would need "
        f"**{dense_params(224 * 224, (225 - f_k) ** 2):,}** parameters against the same {conv_params(f_k, 1, 1)}: "
        "one detector reused "
        "everywhere."
    )

# ---------------------------------------------------------------- pooling and GAP
st.subheader("6. Pooling shrinks every channel; global average pooling keeps one number per channel")
maps = parts.output.clamp(min=0)  # C x H x W after ReLU
p1, p2, p3 = st.columns(3)
size = p1.slider("Window K", 2, 4, 2, key="bs_pool_size")
pool_stride = p2.slider("Pooling stride", 1, 4, 2, key="bs_pool_stride")
pool_pad = p3.slider("Pooling padding", 0, 2, 0, key="bs_pool_pad")
try:
    n_map = maps.shape[-1]
    st.latex(pool_formula(n_map, size, pool_stride, pool_pad))
    maxed = pool(maps, "max", size, pool_stride, pool_pad)
    averaged = pool(maps, "average", size, pool_stride, pool_pad)
    chans = range(maps.shape[0])
    st.plotly_chart(maps_row([maxed[i] for i in chans] + [averaged[i] for i in chans],
                             [f"max, ch {i + 1}: {maxed.shape[-1]}x{maxed.shape[-1]}" for i in chans]
                             + [f"average, ch {i + 1}" for i in chans], diverging=False, height=200),
                    width="stretch")  # fmt: skip
    st.caption("Max pooling keeps the strongest response in each window; average pooling keeps the mean. "
               "Both act on every channel separately: the channel count does not change.")  # fmt: skip
except LayerSettingsError as err:
    st.error(str(err))
pooled_gap = global_average_pool(maps)
hw = maps.shape[-1] * maps.shape[-2]
st.latex(r"\mathrm{GAP}_c = \frac{1}{H \cdot W} \sum_{i=1}^{H} \sum_{j=1}^{W} x_{c,i,j}")
st.markdown("; ".join(
    f"channel {i + 1}: {float(maps[i].sum()):.2f} / ({maps.shape[-2]} x {maps.shape[-1]} = {hw}) = **{float(v):.4f}**"
    for i, v in enumerate(pooled_gap)
) + ". NiN, GoogLeNet and ResNet do this to every channel before the classifier, instead of flattening "
    f"all {maps.numel()} values into a dense layer.")  # fmt: skip

# ---------------------------------------------------------------- the two heads
st.subheader("7. The output layer: probabilities and the loss")
h1, h2 = st.columns(2)
with h1:
    st.markdown("**Two classes: sigmoid + binary cross-entropy** (the course's Keras head, `Dense(1, sigmoid)`)")
    z = st.slider("Logit z of the last unit", -6.0, 6.0, 1.5, 0.1, key="bs_logit")
    label = st.radio("True label y", [0, 1], index=1, horizontal=True, key="bs_label")
    p, bce = sigmoid_binary_cross_entropy(z, label)
    st.plotly_chart(binary_bar(p, label), width="stretch")
    st.markdown(
        f"Probability of class 1: p = sigmoid(z) = 1 / (1 + e^(-{z:g})) = **{p:.3f}**; of class 0: 1 - p = "
        f"{1 - p:.3f}. Binary cross-entropy = -[y log p + (1 - y) log(1 - p)] = **{bce:.3f}**."
    )
with h2:
    st.markdown("**Several classes: softmax + cross-entropy**")
    classes = ["cat", "dog", "car"]
    sc = st.columns(3)
    logits = [sc[i].slider(f"logit of {c}", -5.0, 5.0, v, 0.1, key=f"bs_logit_{c}")
              for i, (c, v) in enumerate(zip(classes, [2.0, 0.5, -1.0], strict=True))]  # fmt: skip
    target = classes.index(st.radio("True class", classes, horizontal=True, key="bs_true_class"))
    probs, loss = softmax_cross_entropy(logits, target)
    st.plotly_chart(probabilities_bar(classes, probs, target), width="stretch")
    st.markdown(
        f"Class probabilities p = softmax(z) sum to 1. Cross-entropy = -log p({classes[target]}) = "
        f"-log {probs[target]:.3f} = **{loss:.3f}**."
    )
st.caption("Training lowers the loss: backpropagation gives its gradient for every weight, and the optimiser "
           "moves each weight a small step against its gradient. With two classes, sigmoid + binary "
           "cross-entropy equals softmax + cross-entropy over the logits (0, z).")  # fmt: skip
url.done()
url.copy_link()
