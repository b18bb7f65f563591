"""Small shared widgets: the sidebar, error boxes, cached catalog summaries.

Imported by the app shell on every page, Home included, so it imports no torch at start: the
engine is imported by the pages (and the functions below) that use it (tests/test_startup.py).
"""

from __future__ import annotations

import sys

import streamlit as st


@st.cache_resource(max_entries=1)
def _device_described() -> str:
    from explorer.device import DeviceUnavailableError, describe, pick_device

    try:
        return describe(pick_device())
    except DeviceUnavailableError as err:
        return f"Device setting ignored: {err}"


def _device_line() -> str | None:
    """The compute device, once a page has loaded the engine (torch); None before (Home needs
    no model, and asking torch would cost its import on the way to the first page)."""
    return _device_described() if "torch" in sys.modules else None


# Projector mode: type readable from the back of a room on a washed-out projector (the values in
# inputs and select boxes too), the page's top margin cut so the main figure fits a 1280 x 720
# screen, yet below the (shortened) header, which would otherwise cover the page's first line.
# Plotly draws its text with inline styles; an !important rule still wins, and plotly measures its
# margins after the CSS applies.
PROJECTOR_CSS = """<style>
[data-testid="stMain"] [data-testid="stVerticalBlock"] { gap: 0.7rem; }
[data-testid="stMain"] p, [data-testid="stMain"] li, [data-testid="stMain"] label,
[data-testid="stMain"] [data-testid="stWidgetLabel"] p,
[data-testid="stMain"] [data-testid="stCaptionContainer"],
[data-testid="stMain"] [data-testid="stCaptionContainer"] p { font-size: 18px !important; }
[data-testid="stMain"] [data-testid="stCaptionContainer"] { color: #222 !important; }
[data-testid="stMain"] input, [data-testid="stMain"] textarea,
[data-testid="stMain"] [data-baseweb="select"] div,
[data-testid="stMain"] [data-testid="stTable"] td, [data-testid="stMain"] [data-testid="stTable"] th {
  font-size: 18px !important; }
[data-testid="stHeader"] { height: 2.75rem !important; min-height: 0 !important; }
[data-testid="stMainBlockContainer"] { padding-top: 3.1rem !important; padding-bottom: 2rem; }
[data-testid="stMain"] h1 { font-size: 2rem; padding: 0.2rem 0 0.3rem 0; }
.js-plotly-plot g[class$="tick"] text, .js-plotly-plot [class^="g-x"][class$="title"] text,
.js-plotly-plot [class^="g-y"][class$="title"] text, .js-plotly-plot .cbaxis text,
.js-plotly-plot .cbtitle text, .js-plotly-plot .legendtext, .js-plotly-plot .gtitle {
  font-size: 16px !important; fill: #111 !important; }
.js-plotly-plot .gtitle { font-size: 18px !important; }
.js-plotly-plot .annotation-text { font-size: 16px !important; fill: #111 !important; }
</style>"""


def projector_on() -> bool:
    """Whether projector mode is on (sidebar toggle or `?projector=1`)."""
    return bool(st.session_state.get("projector", False))


class InputFold:
    """Projector mode: what a page draws between `fold_inputs()` and `close()` goes into one
    collapsed expander line, so the main figure below reaches the first screen. Outside
    projector mode it does nothing. (An explicit open/close rather than a `with` block lets a
    long page section fold without re-indenting it.)"""

    def __init__(self, label: str) -> None:
        self._box = st.expander(label) if projector_on() else None
        if self._box is not None:
            self._box.__enter__()

    def close(self) -> None:
        if self._box is not None:
            self._box.__exit__(None, None, None)
            self._box = None


def fold_inputs(label: str) -> InputFold:
    """Start folding a page's inputs (projector mode only); call `.close()` after them."""
    return InputFold(label)


def sidebar() -> None:
    """The sidebar shared by every page: projector mode, the compute device, the user's
    finished run; and, once per browser, the anonymous id cookie."""
    from explorer.ui.identity import ensure_cookie
    from explorer.ui.state import PageState, escape_text

    PageState("_app").bind("projector", "projector", default=False, omit_default=True)
    if projector_on():
        st.set_page_config(initial_sidebar_state="collapsed")
        st.html(PROJECTOR_CSS)
    trained = None
    if (
        "explorer.ui.browser_jobs" in sys.modules
    ):  # no job can have run before the job module is loaded
        from explorer.ui.registry import register_finished_training

        trained = register_finished_training()
    with st.sidebar:
        st.toggle(
            "Projector mode",
            key="projector",
            help="Large type and charts, inputs folded above the figure so it fits a "
            "1280 x 720 screen. Also in links: add ?projector=1.",
        )
        ensure_cookie()
        st.caption("Compute device")
        line = _device_line()
        st.markdown(f"**{line}**" if line else "Chosen when a page first runs a model.")
        st.caption("Set EXPLORER_DEVICE=cpu|cuda|mps to override the automatic choice.")
        if trained is not None:
            st.caption(
                'Your trained model "'
                + escape_text(trained.name, limit=120)  # a file's name may be in it
                + '" is ready on the Feature maps page.'
            )
            trained_link(trained.arch)


def trained_link(arch: str) -> None:
    """A link to Feature maps showing this browser's newest trained model of ``arch`` (a link's
    ``weights=user`` picks the newest one: see app_pages/feature_maps.py); only this browser has
    the model, so the address is a page link here, never a link to share."""
    from explorer.models import get_spec

    if get_spec(arch).kind == "cnn":
        st.page_link(
            "app_pages/feature_maps.py",
            label="Open it on Feature maps",
            icon=":material/arrow_forward:",
            query_params={"arch": arch, "weights": "user", "view": "overview"},
        )


@st.cache_data(max_entries=64, show_spinner=False)
def summary_records(key: str, input_shape: tuple[int, ...]) -> tuple[list[dict], dict]:
    """The layer table of a catalog entry, computed on the meta device (no real weights); a
    compact entry is rebuilt for another input (1 or 3 channels, its side), as catalog_graph does."""
    from explorer.models import get_spec
    from explorer.probe import summarize

    spec = get_spec(key)
    shape = tuple(input_shape)
    rebuilt = spec.compact and shape != tuple(spec.input_shape)
    summary = summarize(
        (lambda: spec.build(in_channels=shape[0], image_size=shape[1])) if rebuilt else spec.build,
        shape,
        key,
    )
    totals = {
        "params": summary.total_params,
        "macs": summary.total_macs,
        "input": summary.input_shape,
        "output": summary.output_shape,
    }
    return summary.as_records(), totals


@st.cache_data(max_entries=32, show_spinner=False)
def arch_graph(key: str, input_shape: tuple[int, ...]):
    """The traced graph of a catalog entry for one input shape (meta device; raises
    explorer.probe.graph.InputSizeError when the input is too small)."""
    from explorer.probe.graph import catalog_graph

    return catalog_graph(key, input_shape)


@st.cache_data(max_entries=4, show_spinner="Measuring every architecture on the meta device...")
def catalog_overview(input_shape: tuple[int, ...] = (3, 224, 224)) -> list[dict]:
    """One row per full-size CNN of the catalog: year, parameters, MACs, depth, receptive field."""
    from explorer.models import catalog
    from explorer.probe.summary import largest_field, summarize, weight_layers

    rows = []
    for spec in catalog(kind="cnn", compact=False):
        if spec.input_shape != tuple(input_shape):
            continue  # LeNet-5 as published reads 1 x 32 x 32 digits, not ImageNet photos
        s = summarize(spec.build, input_shape)
        rows.append(
            {
                "architecture": spec.title,
                "family": spec.family,
                "year": spec.year,
                "params": s.total_params,
                "MACs": s.total_macs,
                "weight layers": weight_layers(s),
                "largest RF": largest_field(s),
            }
        )
    return rows


def human(n: float) -> str:
    """12_345_678 -> '12.3 M'."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n:g}"
