"""The convolution settings of the Convolution basics page and its step view (the sliding window).

The step view's settings (stride, padding, dilation, bias, input side and source) and its
position are URL parameters, bound by `bind_conv` / the step view itself, so a course step or a
copied link opens the window where it was. Every topic that draws a map made with these settings
binds them (the link then reproduces the map); only the Convolution and Stride-and-padding topics
draw their widgets.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st
import torch

from explorer.basics import (
    LayerSettingsError,
    SlidingSteps,
    parse_grid,
    sliding_steps,
    to_grey,
    to_rgb,
)
from explorer.data.samples import load_sample
from explorer.ui.state import PageState
from explorer.viz.sliding_window import step_equation, step_figure

SOURCES = ["sample image", "typed numbers"]
_SOURCE_TOKENS = {"sample image": "image", "typed numbers": "typed"}
SIDES = [16, 24, 32, 48, 64, 96]


@st.cache_data(max_entries=64, show_spinner=False)
def sample_grey(name: str, side: int) -> torch.Tensor:
    """A sample image in grey, resized to side x side (values in [0, 1])."""
    return to_grey(load_sample(name).tensor, side)


@st.cache_data(max_entries=32, show_spinner=False)
def sample_rgb(name: str, side: int) -> torch.Tensor:
    """A sample image in colour, resized to side x side (values in [0, 1])."""
    return to_rgb(load_sample(name).tensor, side)


@dataclass(frozen=True)
class Basics:
    """What every topic reads: the page's URL state, the sample image, projector mode."""

    url: PageState
    name: str  # the sample image
    large: bool  # projector mode: figures with large text
    title: str  # the topic's section header

    def side(self) -> int:
        """The side N of the resized image (bound to `?size=`)."""
        return self.url.bind("size", "bs_side", 48, SIDES)


@dataclass(frozen=True)
class ConvSettings:
    """The step view's layer: stride, padding, dilation, bias, and its small input."""

    stride: int
    padding: int
    dilation: int
    bias: float
    side: int  # the step view's input is side x side
    source: str  # one of SOURCES


def bind_conv(url: PageState, *, step_input: bool = True) -> ConvSettings:
    """Seed the step view's settings from the URL / this session (no widgets drawn). A topic
    that uses the layer but not the step view's small input leaves that out (``step_input``)."""
    layer = (
        url.bind("stride", "bs_step_stride", 1, range(1, 4)),
        url.bind("padding", "bs_step_padding", 1, range(0, 3)),
        url.bind("dilation", "bs_step_dilation", 1, range(1, 3)),
        url.bind("bias", "bs_step_bias", 0.0, lambda v: -2.0 <= v <= 2.0),
    )
    if not step_input:
        return ConvSettings(*layer, side=8, source=SOURCES[0])
    return ConvSettings(
        *layer,
        side=url.bind("grid", "bs_step_side", 8, range(7, 13)),
        source=url.bind("input", "bs_step_source", SOURCES[0], SOURCES, url=_SOURCE_TOKENS),
    )


def stride_padding_inputs(where_s, where_p) -> tuple[int, int]:
    """The stride and padding inputs of the step view (after `bind_conv`)."""
    stride = where_s.number_input("Stride S", 1, 3, key="bs_step_stride")
    padding = where_p.number_input("Padding P (zeros)", 0, 2, key="bs_step_padding")
    return int(stride), int(padding)


def other_inputs(a, b) -> ConvSettings:
    """Dilation, bias, input side and source of the step view (after `bind_conv`)."""
    a.number_input(
        "Dilation d",
        1,
        2,
        key="bs_step_dilation",
        help="d > 1 spreads the filter's taps d pixels apart (atrous convolution).",
    )
    b.number_input("Bias b", -2.0, 2.0, step=0.1, key="bs_step_bias")
    a.number_input("Input side (step view)", 7, 12, key="bs_step_side")
    b.radio("Step-view input", SOURCES, key="bs_step_source")
    return current()


def current() -> ConvSettings:
    """The settings as the widgets hold them now."""
    s = st.session_state
    return ConvSettings(
        int(s["bs_step_stride"]),
        int(s["bs_step_padding"]),
        int(s["bs_step_dilation"]),
        float(s["bs_step_bias"]),
        int(s["bs_step_side"]),
        str(s["bs_step_source"]),
    )


def _typed_start(side: int) -> list[list[float]]:
    return [[1.0 if j >= side // 2 else 0.0 for j in range(side)] for _ in range(side)]


def step_input(name: str, conv: ConvSettings, *, editor: bool = False) -> torch.Tensor:
    """The step view's input: the sample in grey, or the grid of typed numbers (an editor is
    drawn where ``editor``; elsewhere the last typed grid of this session is used)."""
    if conv.source != "typed numbers":
        return sample_grey(name, conv.side).to(torch.float64)
    kept = st.session_state.setdefault("bs_typed_grids", {})
    rows = kept.get(conv.side, _typed_start(conv.side))
    if editor:
        st.caption("The step view's input: type any numbers.")
        typed = st.data_editor(rows, key=f"bs_typed_{conv.side}", num_rows="fixed", width="stretch")
        rows = typed.values.tolist() if hasattr(typed, "values") else typed
    try:
        tiny = parse_grid(rows, "input")
    except LayerSettingsError as err:
        st.error(f"{err} The sample image is used instead.")
        return sample_grey(name, conv.side).to(torch.float64)
    kept[conv.side] = tiny.tolist()
    return tiny


def make_steps(tiny: torch.Tensor, kernel: torch.Tensor, conv: ConvSettings) -> SlidingSteps | None:
    """Every window position, or None after one error message when the filter does not fit."""
    try:
        return sliding_steps(tiny, kernel, conv.stride, conv.padding, conv.dilation, conv.bias)
    except LayerSettingsError as err:
        st.error(f"Step view: {err}")
        return None


def _parse_pos(raw: str) -> int:
    return int(raw.strip()) - 1  # 1-based in the URL, as on screen


def _bind_pos(url: PageState, total: int) -> int:
    return url.bind("pos", "bs_step", 0, range(total), parse=_parse_pos, fmt=lambda v: str(v + 1))


def _go(to: int, total: int) -> None:
    st.session_state["bs_step"] = max(0, min(total - 1, to))
    st.session_state["bs_tick"] = False


def _toggle() -> None:
    st.session_state["bs_playing"] = not st.session_state.get("bs_playing", False)
    st.session_state["bs_tick"] = False


def _clicked(total: int) -> None:
    points = st.session_state["bs_step_chart"].selection.points
    hits = [p.get("customdata") for p in points if p.get("customdata") is not None]
    if hits:
        _go(int(hits[0][0] if isinstance(hits[0], list) else hits[0]), total)


def _settle(url: PageState, steps: SlidingSteps, signature: tuple, playing: bool) -> int:
    """The position to show: a link's, the user's, 0 after a change of the layer; one further
    while playing. Written to the URL."""
    total = len(steps)
    old = st.session_state.get("bs_step_sig")
    if old is not None and old != signature and not url.arriving("pos"):
        st.session_state["bs_step"] = 0  # another layer: start from the first position
    st.session_state["bs_step_sig"] = signature
    step = _bind_pos(url, total)
    if playing and st.session_state.pop("bs_tick", True):
        st.session_state["bs_step"] = step + 1 if step + 1 < total else 0
        step = _bind_pos(url, total)
    st.session_state["bs_tick"] = True
    return step


def step_view(url: PageState, steps: SlidingSteps, *, large: bool = False) -> None:
    """Step controls, the window figure and its arithmetic, in a fragment: a step reruns it
    alone, never the page (playing, it reruns itself every 0.9 s)."""
    signature = (
        tuple(steps.padded.flatten().tolist()),
        tuple(steps.kernel.flatten().tolist()),
        steps.stride,
        steps.padding,
        steps.dilation,
        steps.bias,
    )
    playing = bool(st.session_state.get("bs_playing", False))

    def body() -> None:
        if bool(st.session_state.get("bs_playing", False)) != playing:
            st.rerun()  # play/pause changes the fragment's timer: one page run, not one per frame
        _view(url, steps, signature, playing, large)

    st.fragment(run_every=0.9 if playing else None)(body)()


def _view(
    url: PageState, steps: SlidingSteps, signature: tuple, playing: bool, large: bool
) -> None:
    total = len(steps)
    step = _settle(url, steps, signature, playing)
    b = st.columns([1, 1, 1, 1.2, 1, 3.5], vertical_alignment="center")
    b[0].button("First", on_click=_go, args=(0, total), key="bs_first", width="stretch")
    b[1].button(
        "Back",
        on_click=_go,
        args=(step - 1, total),
        key="bs_back",
        width="stretch",
        disabled=step == 0,
    )
    b[2].button("Pause" if playing else "Play", on_click=_toggle, key="bs_play", width="stretch")
    b[3].button(
        "Forward",
        on_click=_go,
        args=(step + 1, total),
        key="bs_forward",
        width="stretch",
        disabled=step >= total - 1,
    )
    b[4].button("Last", on_click=_go, args=(total - 1, total), key="bs_last", width="stretch")
    r, col = steps.position(step)
    b[5].markdown(
        f"**Position {step + 1} of {total}**: output row {r}, column {col} "
        "(click any output cell to jump there)"
    )
    st.plotly_chart(
        step_figure(steps, step, large=large),
        key="bs_step_chart",
        on_select=lambda: _clicked(total),
        selection_mode="points",
        width="stretch",
        config={"displayModeBar": False},
    )
    st.code(step_equation(steps, step), language=None)
