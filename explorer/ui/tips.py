"""The course outline's tips for a first CNN, each with a link to the view that proves it.

The Course page lists them after the steps. Numbers in the texts are measured by the engine
(explorer.training.tips.dense_share) or fixed by arithmetic that tests/explorer/test_fidelity.py
recomputes from the layer sizes.
"""

from __future__ import annotations

import streamlit as st

from explorer.ui.course import Step
from explorer.ui.navigation import PAGES

TIPS: tuple[Step, ...] = (
    Step(
        "Normalise the images",
        "experiments",
        {"exp": "normalisation"},
        "Divide the pixels by 255 (or standardise them) before training. The Experiments page trains the "
        "course's Keras CNN on the same images in [0, 1] and left at 0-255, with Adam and with plain SGD: "
        "Adam recovers from a bad start on raw pixels, SGD's loss on them turns to NaN.",
        "Tips",
    ),
    Step(
        "Use small filters",
        "architectures",
        {"arch": "vgg16", "level": "layers"},
        "Stack 3 x 3 filters rather than one large filter: two 3 x 3 layers see a 5 x 5 window with "
        "2 x 9 = 18 weights per channel pair instead of 25, three see 7 x 7 with 27 instead of 49, and "
        "add a ReLU each. VGG-16 uses nothing else: its layer table shows kernel 3 everywhere and the "
        "receptive field growing by 2 per convolution.",
        "Tips",
    ),
    Step(
        "Avoid too many dense layers",
        "architectures",
        {"arch": "vgg16"},
        "Dense layers hold most of the parameters: VGG-16's three dense layers have 123,642,856 of its "
        "138,357,544 parameters (89%), its thirteen convolutions the rest. NiN, GoogLeNet and ResNet "
        "replace them with global average pooling (its layer table and 'where the compute goes' show "
        "it).",
        "Tips",
    ),
)

_FILES = {p.url_path: p.file for p in PAGES}


def tips_section() -> None:
    """The tips, each a link to its proof and a paragraph."""
    st.subheader("Tips for your own CNN")
    for tip in TIPS:
        with st.container(border=True):
            st.page_link(_FILES[tip.page], label=tip.title, query_params=tip.params)
            st.markdown(tip.text)
