"""The filter editor of the Convolution basics page: a preset, a size F and an editable F x F grid.

The weights live in session state (``bs_kernel``) and in the URL (``?kernel=``), so a link
reproduces the filter; a preset or a link starts a fresh grid editor, a typed weight updates both.
"""

from __future__ import annotations

import math

import streamlit as st
import torch
from streamlit.delta_generator import DeltaGenerator

from explorer.basics import KERNELS, LayerSettingsError, parse_grid, resize_kernel
from explorer.ui.state import PageState, ascii_float

DEFAULT_KERNEL = tuple(v for row in KERNELS["vertical edges (Sobel x)"].weights for v in row)
KERNEL_SIZES = (1, 3, 5, 7)


def _kernel_ok(values: tuple[float, ...]) -> bool:
    return len(values) in {f * f for f in KERNEL_SIZES} and all(
        math.isfinite(v) and abs(v) <= 100 for v in values
    )


def _parse_kernel(raw: str) -> tuple[float, ...]:
    values = tuple(ascii_float(v) for v in raw.split(","))
    if not _kernel_ok(values):
        raise ValueError("a kernel is 1, 9, 25 or 49 finite numbers")
    return values


def _fmt_kernel(values: tuple[float, ...]) -> str:
    return ",".join(f"{v:g}" for v in values)


def _valid_kernel(values: object) -> bool:
    return isinstance(values, tuple) and _kernel_ok(values)


def _new_editor() -> None:
    st.session_state["bs_kernel_version"] = st.session_state.get("bs_kernel_version", 0) + 1


def _load_preset() -> None:
    chosen = KERNELS[st.session_state["bs_kernel_preset"]]
    size = int(st.session_state.get("bs_kernel_size", 3))
    st.session_state["bs_kernel"] = resize_kernel(
        tuple(float(v) for row in chosen.weights for v in row), size
    )
    _new_editor()


def _resize() -> None:
    st.session_state["bs_kernel"] = resize_kernel(
        st.session_state["bs_kernel"], int(st.session_state["bs_kernel_size"])
    )
    _new_editor()


def _bind(url: PageState) -> None:
    url.bind(
        "kernel",
        "bs_kernel",
        default=DEFAULT_KERNEL,
        valid=_valid_kernel,
        parse=_parse_kernel,
        fmt=_fmt_kernel,
    )


def current_kernel(url: PageState) -> torch.Tensor:
    """The filter of this view (from the URL or this session) as an F x F tensor (float64), for a
    topic that uses it without drawing the editor."""
    _bind(url)
    values = st.session_state["bs_kernel"]
    f_kernel = math.isqrt(len(values))
    return torch.tensor(values, dtype=torch.float64).reshape(f_kernel, f_kernel)


def kernel_editor(url: PageState, where: DeltaGenerator) -> torch.Tensor:
    """Draw the editor in ``where`` and return the F x F kernel (float64). A grid with a cell that
    is not a finite number shows one error below and stops the page."""
    _bind(url)
    values = st.session_state["bs_kernel"]
    f_kernel = math.isqrt(len(values))
    st.session_state["bs_kernel_size"] = f_kernel
    if (
        st.session_state.get("bs_kernel_base") != values
    ):  # a link or a preset: the editor starts afresh
        st.session_state["bs_kernel_base"] = values
        _new_editor()
    url.keep(
        "bs_kernel_preset", next(iter(KERNELS)), list(KERNELS)
    )  # kept while another topic is shown
    with where:
        p1, p2 = st.columns([3, 1])
        p1.selectbox(
            "Start from a preset filter",
            list(KERNELS),
            key="bs_kernel_preset",
            on_change=_load_preset,
        )
        p2.selectbox(
            "Filter size F",
            KERNEL_SIZES,
            key="bs_kernel_size",
            on_change=_resize,
            help="A preset keeps its centre: larger sizes add zeros around it.",
        )
        st.caption(
            KERNELS[st.session_state["bs_kernel_preset"]].description
            + " Edit any weight below: every "
            "figure on this page follows at once."
        )
        grid = [list(values[i * f_kernel : (i + 1) * f_kernel]) for i in range(f_kernel)]
        edited = st.data_editor(
            grid,
            key=f"bs_kernel_editor_{st.session_state.get('bs_kernel_version', 0)}",
            num_rows="fixed",
            width="stretch",
        )
    try:
        kernel = parse_grid(edited.values.tolist() if hasattr(edited, "values") else edited)
    except LayerSettingsError as err:
        st.error(str(err))
        st.stop()
    if tuple(kernel.flatten().tolist()) != st.session_state["bs_kernel"]:
        st.session_state["bs_kernel"] = st.session_state["bs_kernel_base"] = tuple(
            kernel.flatten().tolist()
        )
        _bind(url)
    return kernel
