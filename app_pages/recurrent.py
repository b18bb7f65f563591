"""Recurrent networks: every gate of an RNN, GRU or LSTM over a sequence the student types.

The page reads as a table of contents: its sections (``explorer.ui.recurrent_sections``, then
``explorer.ui.recurrent_view_section``) read widgets, ask the engine for a cached trace or
gradient flow, and draw the figures. Its six views are registered in
``explorer.ui.recurrent_views.VIEWS`` (one function each); the cell's text comes from its spec
(``explorer.models.recurrent_cells``); live training (``explorer.ui.recurrent_comparison``) runs
as a background job of the shared job machinery.
"""

from contextlib import nullcontext

import streamlit as st

from explorer.ui import recurrent_cache as rc
from explorer.ui import recurrent_sections as sections
from explorer.ui.common import fold_inputs, projector_on
from explorer.ui.recurrent_comparison import training_section
from explorer.ui.recurrent_view_section import views_section
from explorer.ui.state import PageState

page_url = PageState("recurrent")  # the view in the URL (explorer/ui/state.py)
projector = projector_on()  # projector mode: settings folded into one line each, the figure first
sections.page_header(page_url, projector)

# --- the network and its input (folded into one line in projector mode) ----------------------
trained = rc.trained_models()
sources = [sections.RANDOM] + [m.name for m in trained]
inputs_fold = fold_inputs(sections.fold_label(page_url, sources) if projector else "")
network = sections.network_section(page_url, trained)
given = sections.input_section(page_url, network.trained)
inputs_fold.close()  # expanders do not nest: the cell's own expander stays outside the fold
config = sections.network_config(network, given)

# --- the cell, then the views (projector mode: the views first, so the figure reaches the first screen)
views_slot = st.container() if projector else None
sections.cell_section(network, config, projector)
with views_slot if views_slot is not None else nullcontext():
    views_section(page_url, network, given, config, projector)

# --- live training ------------------------------------------------------------------------
st.subheader("Train and compare")
st.caption(
    "RNN, GRU and LSTM learn the same task from the same batches, side by side, in the "
    "background (you can keep exploring). Finished models appear under Weights at the top."
)
training_section()
page_url.done()
