"""More topics of the Convolution basics page: any layer's output size, colour channels, weight
sharing, pooling, global average pooling and the output layer with its loss (one function each;
the page's picker and the first topics are in explorer.ui.basics_sections)."""

from __future__ import annotations

import streamlit as st
import torch

from explorer.basics import (
    COLOUR_FILTERS,
    PRESETS,
    ChannelBreakdown,
    LayerSettingsError,
    channel_breakdown,
    colour_filters,
    conv_as_dense,
    conv_params,
    dense_forward,
    dense_params,
    effective_kernel,
    formula,
    global_average_pool,
    output_size,
    pool,
    pool_formula,
    resolve_padding,
    same_padding,
    sigmoid_binary_cross_entropy,
    softmax_cross_entropy,
    torch_conv_check,
)
from explorer.ui.basics_conv import (
    Basics,
    ConvSettings,
    bind_conv,
    make_steps,
    sample_rgb,
    step_input,
)
from explorer.ui.kernel_editor import current_kernel
from explorer.ui.state import PageState
from explorer.viz.convolution_figures import (
    binary_bar,
    dense_matrix,
    maps_row,
    probabilities_bar,
    rgb_image,
)

MODES = ["valid", "same", "custom P"]
CLASSES = ["cat", "dog", "car"]


def _apply_preset() -> None:
    chosen = PRESETS[st.session_state["bs_preset"]]
    st.session_state.update(
        bs_n=chosen.n, bs_f=chosen.f, bs_p=chosen.p, bs_s=chosen.s, bs_d=1, bs_mode="custom P"
    )


def free_numbers(url: PageState) -> None:
    """Any layer's output size: N, F, P (or 'valid' / 'same'), S and dilation, with torch's check."""
    st.markdown(
        "**Any layer: N, F, P, S.** **'valid'** means no padding (P = 0, Keras's default, the output "
        "shrinks by F - 1 with stride 1 and no dilation, in general to floor((N - F) / S) + 1); "
        "**'same'** pads so that the output keeps the input's size when S = 1 "
        "(P = (F - 1) / 2 for an odd F)."
    )
    pc = st.columns([2, 1, 1, 1, 1, 1, 1])
    pc[0].selectbox(
        "Preset layer",
        list(PRESETS),
        key="bs_preset",
        on_change=_apply_preset,
        index=None,
        placeholder="LeNet C1, AlexNet conv1, VGG, Keras...",
    )
    url.bind("n", "bs_n", 32, range(1, 513))
    n_free = pc[1].number_input("N (input side)", 1, 512, key="bs_n")
    url.bind("f", "bs_f", 5, range(1, 12))
    f_free = pc[2].number_input("F (filter)", 1, 11, key="bs_f")
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
        p_used = resolve_padding(
            {"custom P": "custom"}.get(mode, mode), f_free, p_free, s_free, d_free
        )
        output_size(n_free, f_free, p_used, s_free, d_free)
        st.latex(formula(n_free, f_free, p_used, s_free, d_free))
        notes = []
        if mode == "same":
            notes.append(
                f"'same' with F = {f_free} pads {same_padding(f_free, d_free)[0]} zero(s) on every side."
            )
        if d_free > 1:
            notes.append(
                f"Dilation {d_free} spreads the {f_free} taps over F_eff = d(F - 1) + 1 = "
                f"{effective_kernel(f_free, d_free)} pixels."
            )
        notes.append(torch_conv_check(n_free, f_free, p_used, s_free, d_free))
        st.markdown(" ".join(notes))
    except LayerSettingsError as err:
        st.error(str(err))


def _colour_parts(
    ctx: Basics,
) -> tuple[torch.Tensor, ChannelBreakdown, torch.Tensor, ConvSettings] | None:
    """The sample in colour (32 x 32) through the colour filters (their count is `?filters=`)."""
    conv = bind_conv(ctx.url, step_input=False)
    kernel = current_kernel(ctx.url)
    n_filters = ctx.url.bind("filters", "bs_filters", 2, range(1, len(COLOUR_FILTERS) + 1))
    rgb = sample_rgb(ctx.name, 32)
    weights, biases = colour_filters(kernel, n_filters)
    try:
        return (
            rgb,
            channel_breakdown(rgb, weights, biases, conv.stride, conv.padding, conv.dilation),
            kernel,
            conv,
        )
    except LayerSettingsError as err:
        st.error(str(err))
        return None


def channels(ctx: Basics) -> None:
    st.subheader(ctx.title)
    cc = st.columns([1, 1, 2])
    made = _colour_parts(ctx)
    cc[0].slider("Filters (output channels)", 1, len(COLOUR_FILTERS), key="bs_filters")
    if made is None:
        return
    rgb, parts, kernel, conv = made
    n_filters, f_k = parts.output.shape[0], kernel.shape[0]
    ctx.url.bind("shown", "bs_shown_filter", 1, range(1, n_filters + 1))
    shown = cc[1].selectbox(
        "Show the sum for filter", range(1, n_filters + 1), key="bs_shown_filter"
    )
    cc[2].markdown(
        f"Each filter is **{f_k} x {f_k} x 3**: one {f_k} x {f_k} slice per input channel. Parameters = F x F x "
        f"C_in x C_out + C_out = {f_k} x {f_k} x 3 x {n_filters} + {n_filters} = **{conv_params(f_k, 3, n_filters)}**. "
        + torch_conv_check(32, f_k, conv.padding, conv.stride, conv.dilation, 3, n_filters)
    )
    o, bias = shown - 1, float(parts.bias[shown - 1])
    st.caption(
        f"Filter {shown}: {COLOUR_FILTERS[o]}. Output = R * w_R + G * w_G + B * w_B + bias ({bias:g})."
    )
    row = st.columns([1, 3])
    row[0].plotly_chart(rgb_image(rgb, "input 3 x 32 x 32"), width="stretch")
    row[1].plotly_chart(
        maps_row(
            [
                parts.per_channel[o, 0],
                parts.per_channel[o, 1],
                parts.per_channel[o, 2],
                parts.per_channel[o].sum(0) + parts.bias[o],
                parts.output[o],
            ],
            ["R * w_R", "G * w_G", "B * w_B", f"sum + bias ({bias:g})", "torch's output"],
            shared_scale=True,
        ),
        width="stretch",
    )
    st.plotly_chart(
        maps_row(
            [parts.output[i] for i in range(n_filters)],
            [f"output channel {i + 1}" for i in range(n_filters)],
            height=220,
        ),
        width="stretch",
    )
    gap_ = (parts.per_channel[o].sum(0) + parts.bias[o] - parts.output[o]).abs().max()
    st.caption(
        f"Largest difference between 'sum + bias' and torch's conv2d output: {float(gap_):.1e} "
        "(float rounding)."
    )


def sharing(ctx: Basics) -> None:
    st.subheader(ctx.title)
    conv = bind_conv(ctx.url)
    kernel = current_kernel(ctx.url)
    tiny = step_input(ctx.name, conv)
    steps = make_steps(tiny, kernel, conv)
    if steps is None:
        return
    f_k = kernel.shape[0]
    weight, dense_bias = conv_as_dense(
        tuple(tiny.shape), kernel, conv.bias, conv.stride, conv.padding, conv.dilation
    )
    n_in, n_out = weight.shape[1], weight.shape[0]
    same = dense_forward(tiny, weight, dense_bias)
    err_max = float((same - steps.output.flatten()).abs().max())
    dc = st.columns([3, 2])
    dc[0].plotly_chart(dense_matrix(weight, f"W: {n_out} x {n_in} (blank = zero)"), width="stretch")
    dc[1].markdown(
        f"The step view's input ({tiny.shape[0]} x {tiny.shape[1]} = {n_in} pixels) through your filter gives "
        f"{n_out} outputs. A dense layer y = Wx + b gives exactly the same numbers (largest difference "
        f"{err_max:.1e}) when W is the matrix on the left: each row holds the same {f_k * f_k} weights, shifted, "
        f"and zeros.\n\n"
        f"- dense layer {n_in} -> {n_out}: {n_in} x {n_out} + {n_out} = **{dense_params(n_in, n_out):,}** parameters\n"
        f"- the convolution: {f_k} x {f_k} + 1 = **{conv_params(f_k, 1, 1)}** parameters\n\n"
        f"On a 224 x 224 image with a {f_k} x {f_k} 'valid' filter the dense layer would need "
        f"**{dense_params(224 * 224, (225 - f_k) ** 2):,}** parameters against the same {conv_params(f_k, 1, 1)}: "
        "one detector reused everywhere."
    )


def pooling(ctx: Basics) -> None:
    st.subheader(ctx.title)
    p1, p2, p3 = st.columns(3)
    size = ctx.url.bind("window", "bs_pool_size", 2, range(2, 5))
    p1.slider("Window K", 2, 4, key="bs_pool_size")
    pool_stride = ctx.url.bind("pstride", "bs_pool_stride", 2, range(1, 5))
    p2.slider("Pooling stride", 1, 4, key="bs_pool_stride")
    pool_pad = ctx.url.bind("ppad", "bs_pool_pad", 0, range(0, 3))
    p3.slider("Pooling padding", 0, 2, key="bs_pool_pad")
    made = _colour_parts(ctx)
    if made is None:
        return
    maps = made[1].output.clamp(min=0)  # C x H x W after ReLU
    try:
        latex = pool_formula(maps.shape[-1], size, pool_stride, pool_pad)
        maxed = pool(maps, "max", size, pool_stride, pool_pad)
        averaged = pool(maps, "average", size, pool_stride, pool_pad)
    except LayerSettingsError as err:
        st.error(str(err))
        return
    chans = range(maps.shape[0])
    st.plotly_chart(
        maps_row(
            [maps[i] for i in chans] + [maxed[i] for i in chans] + [averaged[i] for i in chans],
            [f"ch {i + 1}: {maps.shape[-1]}x{maps.shape[-1]}" for i in chans]
            + [f"max, ch {i + 1}: {maxed.shape[-1]}x{maxed.shape[-1]}" for i in chans]
            + [f"average, ch {i + 1}" for i in chans],
            diverging=False,
            height=220,
        ),
        width="stretch",
        key="bs_pool_chart",
    )
    st.latex(latex)
    st.caption(
        "Left: each filter's map after ReLU; then max pooling, which keeps the strongest response in each "
        "window, and average pooling, which keeps the mean. Both act on every channel separately: the "
        "channel count does not change."
    )


def gap(ctx: Basics) -> None:
    st.subheader(ctx.title)
    made = _colour_parts(ctx)
    if made is None:
        return
    maps = made[1].output.clamp(min=0)
    pooled = global_average_pool(maps)
    chans = range(maps.shape[0])
    st.plotly_chart(
        maps_row(
            [maps[i] for i in chans],
            [f"channel {i + 1} -> {float(pooled[i]):.3f}" for i in chans],
            diverging=False,
            height=260,
        ),
        width="stretch",
        key="bs_gap_chart",
    )
    hw = maps.shape[-1] * maps.shape[-2]
    st.latex(r"\mathrm{GAP}_c = \frac{1}{H \cdot W} \sum_{i=1}^{H} \sum_{j=1}^{W} x_{c,i,j}")
    st.markdown(
        "; ".join(
            f"channel {i + 1}: {float(maps[i].sum()):.2f} / ({maps.shape[-2]} x {maps.shape[-1]} = {hw}) = "
            f"**{float(v):.4f}**"
            for i, v in enumerate(pooled)
        )
        + ". NiN, GoogLeNet and ResNet do this to every channel before the classifier, instead of flattening "
        f"all {maps.numel()} values into a dense layer."
    )


def _binary_head(url: PageState) -> None:
    st.markdown(
        "**Two classes: sigmoid + binary cross-entropy** (the course's Keras head, `Dense(1, sigmoid)`)"
    )
    url.bind("z", "bs_logit", 1.5, lambda v: -6.0 <= v <= 6.0)
    z = st.slider("Logit z of the last unit", -6.0, 6.0, step=0.1, key="bs_logit")
    url.bind("y", "bs_label", 1, (0, 1))
    label = st.radio("True label y", [0, 1], horizontal=True, key="bs_label")
    p, bce = sigmoid_binary_cross_entropy(z, label)
    st.plotly_chart(binary_bar(p, label), width="stretch", key="bs_loss_chart")
    st.markdown(
        f"Probability of class 1: p = sigmoid(z) = 1 / (1 + e^(-{z:g})) = **{p:.3f}**; of class 0: 1 - p = "
        f"{1 - p:.3f}. Binary cross-entropy = -[y log p + (1 - y) log(1 - p)] = **{bce:.3f}**."
    )


def _softmax_head(url: PageState) -> None:
    st.markdown("**Several classes: softmax + cross-entropy**")
    sc = st.columns(3)
    logits = []
    for i, (c, v) in enumerate(zip(CLASSES, [2.0, 0.5, -1.0], strict=True)):
        url.bind(f"z_{c}", f"bs_logit_{c}", v, lambda x: -5.0 <= x <= 5.0)
        logits.append(sc[i].slider(f"logit of {c}", -5.0, 5.0, step=0.1, key=f"bs_logit_{c}"))
    url.bind("true", "bs_true_class", CLASSES[0], CLASSES)
    target = CLASSES.index(st.radio("True class", CLASSES, horizontal=True, key="bs_true_class"))
    probs, loss_ = softmax_cross_entropy(logits, target)
    st.plotly_chart(probabilities_bar(CLASSES, probs, target), width="stretch")
    st.markdown(
        f"Class probabilities p = softmax(z) sum to 1. Cross-entropy = -log p({CLASSES[target]}) = "
        f"-log {probs[target]:.3f} = **{loss_:.3f}**."
    )


def loss(ctx: Basics) -> None:
    st.subheader(ctx.title)
    h1, h2 = st.columns(2)
    with h1:
        _binary_head(ctx.url)
    with h2:
        _softmax_head(ctx.url)
    st.caption(
        "Training lowers the loss: backpropagation gives its gradient for every weight, and the optimiser "
        "moves each weight a small step against its gradient. With two classes, sigmoid + binary "
        "cross-entropy equals softmax + cross-entropy over the logits (0, z)."
    )
