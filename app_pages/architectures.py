"""Architectures: the diagram of any catalog CNN (click a layer for its card), its layer table,
where the compute goes, several architectures side by side, and the progression at a glance.

The page reads as its table of contents; each section is a function of explorer/ui/arch_diagram.py
(controls, diagram, node card) or explorer/ui/arch_sections.py (everything below the diagram).
The diagram comes right after the controls, which projector mode folds into one line, so it
starts on a 1280 x 720 projector's first screen.
"""

import streamlit as st

from explorer.models import catalog
from explorer.ui.arch_diagram import controls, diagram, node_card
from explorer.ui.arch_sections import (
    exports,
    idea,
    layer_table,
    numbers,
    progression,
    side_by_side_section,
)
from explorer.ui.code_panel import code_panel
from explorer.ui.own_model import own_keys, own_model_section
from explorer.ui.state import PageState

url = PageState("architectures")  # ?arch=&level=&colour=&layer=&side= (explorer/ui/state.py)
title_col, link_col = st.columns([3, 1], vertical_alignment="bottom")
title_col.title("Architectures")
with link_col:
    url.copy_link()  # filled by url.done() at the end, with every setting bound
keys = [s.key for s in catalog(kind="cnn")] + own_keys()

arch = controls(url, keys)  # one folded line in projector mode
diagram(arch)  # the network, drawn: first on the screen
numbers(arch)
node_card(arch)
idea(arch)
own_model_section("arch")  # upload a .keras / .h5 / .onnx file, or try the course's Keras CNN
exports(arch)
layer_table(arch)
code_panel(arch.key)
side_by_side_section(url, keys, arch.colour_by)
progression()

url.done()
