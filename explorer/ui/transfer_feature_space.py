"""The feature space in the transfer panel: the test images of the target dataset placed by the
penultimate features of the chosen pretrained weights (ImageNet when cached, the bundled models,
or yours) against the same architecture at a seeded random initialisation, each with its
linear-probe accuracy: the transfer-learning argument, seen before any fine-tuning (pretrained
features often separate the new classes already). The images are converted as the transfer run
converts them (resized to the source's input size, or to ImageNet's input; what is compared:
explorer.training.feature_space_job.pretrained_vs_scratch). The widget is
explorer.ui.feature_space_panel; it computes on request (ImageNet models take a while on a CPU).
"""

from __future__ import annotations

import streamlit as st

from explorer.data.datasets import DATASETS
from explorer.training.feature_space_job import pretrained_vs_scratch
from explorer.training.transfer_weights import SourceWeights
from explorer.ui.feature_space_panel import feature_space_compare


def transfer_space_section(source: SourceWeights, target: str) -> None:
    """The pretrained and from-scratch feature spaces of the target's classes, on request."""
    st.markdown("**Do the pretrained features already separate the new classes?**")
    st.caption(
        f"The test images of {DATASETS[target].title}, placed by the features the new head will "
        "read: from the pretrained weights, and from the same network at random initialisation."
    )
    feature_space_compare("xf", pretrained_vs_scratch(source, target))
