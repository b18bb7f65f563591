"""The topics of the Convolution basics page, one section function each, and the picker.

A topic is the page's address (`?topic=`): a course step opens its own topic, drawn first and
whole, its main figure on the first screen; the picker at the top leads to the others. The
course's topics are numbered as the course's steps (explorer.ui.course.STEPS, the one home of
that order); the page's extra topics (colour channels, weight sharing) carry no number.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st
import torch

from explorer.basics import LayerSettingsError, convolve, formula
from explorer.data.samples import list_samples, load_sample
from explorer.ui.basics_conv import (
    SIDES,
    Basics,
    bind_conv,
    make_steps,
    other_inputs,
    sample_grey,
    step_input,
    step_view,
    stride_padding_inputs,
)
from explorer.ui.basics_more import channels, free_numbers, gap, loss, pooling, sharing
from explorer.ui.common import projector_on
from explorer.ui.course import STEPS
from explorer.ui.kernel_editor import current_kernel, kernel_editor
from explorer.ui.state import PageState
from explorer.viz.convolution_figures import map_heatmap, relu_pair


@dataclass(frozen=True)
class Topic:
    """One topic: its picker label, its section title (without the course number), its section."""

    label: str
    title: str
    draw: Callable[[Basics], None]


def course_number(token: str) -> int | None:
    """The course step that opens this topic (1-based), if any."""
    return next(
        (
            i
            for i, s in enumerate(STEPS, 1)
            if s.page == "basics" and s.params.get("topic") == token
        ),
        None,
    )


def topic_title(token: str) -> str:
    """The section header: "n. <the course step's title>" for a course topic, else its own title."""
    n = course_number(token)
    return f"{n}. {STEPS[n - 1].title}" if n else TOPICS[token].title


def topic_label(token: str) -> str:
    n = course_number(token)
    return f"{n} {TOPICS[token].label}" if n else TOPICS[token].label


# ---------------------------------------------------------------------------------- the topics


def numbers(ctx: Basics) -> None:
    st.subheader(ctx.title)
    side = ctx.side()
    grey = sample_grey(ctx.name, side)
    c, h, w = load_sample(ctx.name).tensor.shape
    left, right = st.columns(2)
    left.plotly_chart(
        map_heatmap(grey, f"input: 1 x {side} x {side}"), width="stretch", key="bs_numbers_chart"
    )
    with right:
        st.select_slider("Resize to N x N", SIDES, key="bs_side")
        st.markdown(
            f"The picture is **{h} x {w} x {c}** (height x width x channels, values 0-255 per channel, shown "
            f"here divided by 255). PyTorch stores it channels-first as a **{c} x {h} x {w}** tensor. Here it is "
            f"turned grey (1 channel) and resized to **{side} x {side}**, so you can see single pixels."
        )
        st.caption("The top-left 6 x 6 corner, as numbers in [0, 1]:")
        st.table(
            [[f"{float(v):.2f}" for v in row[:6]] for row in grey[:6]]
        )  # text: large in projector mode


def convolution(ctx: Basics) -> None:
    st.subheader(ctx.title)
    bind_conv(ctx.url)
    view = st.container()  # the sliding window first on screen; its controls below
    k1, k2 = st.columns([1, 1])
    kernel = kernel_editor(ctx.url, k1)
    with k2:
        a, b = st.columns(2)
        stride_padding_inputs(a, b)
        conv = other_inputs(a, b)
    tiny = step_input(ctx.name, conv, editor=True)
    steps = make_steps(tiny, kernel, conv)
    if steps is not None:
        with view:
            step_view(ctx.url, steps, large=ctx.large)
    st.caption(
        "Each output number is the sum of the element-wise products of the window and the filter, plus the "
        "bias. This is cross-correlation (no kernel flip), as in every deep-learning framework. Shaded cells "
        "are the padding: zeros added around the image so the window can be centred on border pixels."
    )
    st.markdown("**The same filter over the whole image**")
    side = ctx.side()
    try:
        out = convolve(
            sample_grey(ctx.name, side).to(torch.float64),
            kernel,
            conv.stride,
            conv.padding,
            conv.dilation,
            conv.bias,
        )
    except LayerSettingsError as err:
        st.error(str(err))
        return
    st.latex(formula(side, kernel.shape[0], conv.padding, conv.stride, conv.dilation))
    st.plotly_chart(
        map_heatmap(out, f"convolution: {out.shape[0]} x {out.shape[1]}", diverging=True),
        width="stretch",
    )


def stride_padding(ctx: Basics) -> None:
    st.subheader(ctx.title)
    conv = bind_conv(ctx.url)
    kernel = current_kernel(ctx.url)
    c = st.columns([1, 1, 4], vertical_alignment="bottom")
    stride, padding = stride_padding_inputs(c[0], c[1])
    f_k = kernel.shape[0]
    tiny = step_input(ctx.name, conv)
    with contextlib.suppress(LayerSettingsError):  # make_steps below says why, once
        c[2].latex(formula(tiny.shape[0], f_k, padding, stride, conv.dilation))
    steps = make_steps(tiny, kernel, conv)
    if steps is not None:
        step_view(ctx.url, steps, large=ctx.large)
    st.caption(
        f"The step view's {tiny.shape[0]} x {tiny.shape[1]} input and its {f_k} x {f_k} filter (change them in "
        "the Convolution topic). Shaded cells are the padding P: zeros around the image. The window jumps S "
        "cells at a time, so S = 2 writes about a quarter of the outputs."
    )
    free_numbers(ctx.url)


def relu(ctx: Basics) -> None:
    st.subheader(ctx.title)
    conv = bind_conv(ctx.url, step_input=False)
    kernel = current_kernel(ctx.url)
    side = ctx.side()
    try:
        out = convolve(
            sample_grey(ctx.name, side).to(torch.float64),
            kernel,
            conv.stride,
            conv.padding,
            conv.dilation,
            conv.bias,
        )
    except LayerSettingsError as err:
        st.error(str(err))
        return
    st.plotly_chart(relu_pair(out), width="stretch", key="bs_relu_chart")
    zero = float((out <= 0).double().mean())
    st.markdown(
        f"ReLU(x) = max(0, x): positive responses pass unchanged, the rest become 0. Here it sets **{zero:.0%}** "
        f"of the {out.shape[0]} x {out.shape[1]} map to zero (the blue patch on the right)."
    )
    st.caption(
        "The map is the Convolution topic's filter over the whole image. Without a non-linearity between them, "
        "two convolutions in a row are one convolution (a linear map of a linear map): ReLU is what lets depth add "
        "something."
    )


TOPICS: dict[str, Topic] = {
    "numbers": Topic("Image as numbers", "An image is a grid of numbers", numbers),
    "conv": Topic("Convolution", "Convolution: a filter slides over the image", convolution),
    "stride": Topic("Stride, padding", "Stride and padding", stride_padding),
    "relu": Topic("ReLU", "ReLU", relu),
    "pool": Topic("Pooling", "Pooling", pooling),
    "gap": Topic("Global pooling", "Global average pooling", gap),
    "loss": Topic("Output and loss", "The output layer: probabilities and the loss", loss),
    "channels": Topic(
        "Colour channels", "Colour images: three channels, several filters", channels
    ),
    "sharing": Topic(
        "Weight sharing", "A dense layer that does the same: weight sharing in numbers", sharing
    ),
}
DEFAULT_TOPIC = "numbers"


def header(url: PageState) -> Basics:
    """The picker of topics and the sample image, in one row above the topic."""
    samples = {s.name: s.title for s in list_samples()}
    url.bind("topic", "bs_topic", DEFAULT_TOPIC, list(TOPICS))
    url.bind(
        "sample",
        "bs_image",
        default="cat" if "cat" in samples else next(iter(samples)),
        valid=list(samples),
    )
    left, right = st.columns([5, 1], vertical_alignment="bottom")
    left.radio(
        "Topic",
        list(TOPICS),
        format_func=topic_label,
        horizontal=True,
        key="bs_topic",
        label_visibility="collapsed",
    )
    name = right.selectbox("Image", list(samples), format_func=samples.get, key="bs_image")
    return Basics(url, name, projector_on(), topic_title(st.session_state["bs_topic"]))


def draw_topic(ctx: Basics) -> None:
    """The chosen topic's section."""
    TOPICS[st.session_state["bs_topic"]].draw(ctx)
