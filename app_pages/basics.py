"""Convolution basics: the image as numbers, one filter, stride and padding, ReLU, pooling, softmax."""

import streamlit as st

from explorer.basics import (
    KERNELS,
    LayerSettingsError,
    convolve,
    formula,
    output_size,
    pool,
    softmax_cross_entropy,
    to_grey,
)
from explorer.data.samples import list_samples, load_sample
from explorer.viz.basics import map_heatmap, probabilities_bar

st.title("Convolution basics")
st.caption("The operations every CNN is made of, one at a time, computed by PyTorch's own operators.")

samples = {s.name: s.title for s in list_samples()}
left, right = st.columns([2, 1])
name = left.selectbox("Image", list(samples), format_func=samples.get)
side = right.select_slider("Resize to N x N", [16, 24, 32, 48, 64, 96], value=48)
image = load_sample(name)
grey = to_grey(image.tensor, side)

st.subheader("1. An image is a grid of numbers")
c, h, w = image.tensor.shape
st.markdown(
    f"The picture is **{h} x {w} x {c}** (height x width x channels, values 0-255 per channel). PyTorch "
    f"stores it channels-first as a **{c} x {h} x {w}** tensor. Here it is turned grey (1 channel) and "
    f"resized to **{side} x {side}**, so you can see single pixels."
)
cols = st.columns(2)
cols[0].plotly_chart(map_heatmap(grey, f"input: 1 x {side} x {side}"), width="stretch")
cols[1].caption("The top-left 6 x 6 corner, as numbers in [0, 1]:")
cols[1].dataframe([[round(float(v), 2) for v in row[:6]] for row in grey[:6]], width="stretch")

st.subheader("2. Convolution: a filter slides over the image")
k1, k2, k3 = st.columns(3)
kernel_name = k1.selectbox("Filter (3 x 3)", list(KERNELS))
padding = k2.slider("Padding P", 0, 3, 1)
stride = k3.slider("Stride S", 1, 4, 1)
kernel = KERNELS[kernel_name]
st.caption(kernel.description)
try:
    st.latex(formula(side, 3, padding, stride))
    conv = convolve(grey, kernel.tensor(), stride, padding)
except LayerSettingsError as err:
    st.error(str(err))
    st.stop()
cols = st.columns(3)
cols[0].dataframe([[round(v, 2) for v in row] for row in kernel.weights], width="stretch")
cols[0].caption("The filter's 9 weights. Each output pixel is the sum of the 3 x 3 patch times these weights.")
cols[1].plotly_chart(map_heatmap(conv, f"convolution: {conv.shape[0]} x {conv.shape[1]}", diverging=True),
                     width="stretch")  # fmt: skip
relu = conv.clamp(min=0)
cols[2].plotly_chart(map_heatmap(relu, "after ReLU: max(0, x)"), width="stretch")
zeros = float((relu == 0).float().mean())
st.caption(f"ReLU keeps positive responses and sets {zeros:.0%} of this map to zero.")

st.subheader("3. Pooling shrinks the map")
p1, p2, p3 = st.columns(3)
kind = p1.radio("Pooling", ["max", "average"], horizontal=True)
size = p2.slider("Window", 2, 4, 2)
pool_stride = p3.slider("Pooling stride", 1, 4, 2)
try:
    pooled = pool(relu, kind, size, pool_stride)
    n = relu.shape[0]
    st.markdown(f"Output side = ({n} - {size}) / {pool_stride} + 1 = **{output_size(n, size, 0, pool_stride)}**")
    cols = st.columns(2)
    cols[0].plotly_chart(map_heatmap(pooled, f"{kind} pooling: {pooled.shape[0]} x {pooled.shape[1]}"),
                         width="stretch")  # fmt: skip
    cols[1].markdown(
        f"Global average pooling would reduce the whole map to one number: **{float(relu.mean()):.3f}**. "
        "NiN, GoogLeNet and ResNet do that to every channel before the classifier, instead of flattening "
        f"all {relu.numel()} values into a dense layer."
    )
except LayerSettingsError as err:
    st.error(str(err))

st.subheader("4. Prediction: softmax and cross-entropy")
st.caption("Move the scores (logits) the last dense layer gives three classes, and pick the true class.")
classes = ["cat", "dog", "car"]
cols = st.columns(4)
logits = [cols[i].slider(f"score of {c}", -5.0, 5.0, v, 0.1) for i, (c, v) in enumerate(zip(classes, [2.0, 0.5, -1.0], strict=True))]
target = classes.index(cols[3].radio("True class", classes))
probs, loss = softmax_cross_entropy(logits, target)
st.plotly_chart(probabilities_bar(classes, probs, target), width="stretch")
st.markdown(
    f"Cross-entropy loss = -log p({classes[target]}) = -log {probs[target]:.3f} = **{loss:.3f}**. "
    "Training lowers it: backpropagation gives the gradient of this loss for every weight, and the "
    "optimiser moves each weight a small step against its gradient."
)
