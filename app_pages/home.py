"""Home: the course's CNN pipeline, the progression of architectures, links to every page."""

import streamlit as st

from explorer.models.catalog import progression

st.title("Architecture Explorer")
st.markdown(
    "See inside deep-learning architectures: pick a network, feed it an image or a sentence, "
    "and watch what every layer computes. Everything runs on this machine, offline; a GPU is "
    "used when there is one."
)

st.subheader("How a CNN sees an image")
steps = [
    (
        "1. Image",
        "An H x W x C grid of numbers (C = 3 colour channels, 1 for grey). "
        "PyTorch stores it as C x H x W.",
    ),
    (
        "2. Features",
        "Convolutions slide small filters over the image: edges, colours, textures. "
        "Output size = floor((N - F + 2P) / S) + 1 for input N, filter F, padding P, stride S; ReLU keeps the positives.",
    ),
    (
        "3. Patterns",
        "Pooling shrinks the maps; deeper layers combine features into parts and objects, "
        "each unit seeing a larger receptive field.",
    ),
    (
        "4. Prediction",
        "Flatten (or global average pooling), dense layers, softmax: class probabilities. "
        "Cross-entropy measures the error; backprop and an optimiser update every weight.",
    ),
]
for col, (head, text) in zip(st.columns(len(steps)), steps, strict=True):
    with col.container(border=True):
        st.markdown(f"**{head}**")
        st.caption(text)

st.subheader("A progression of ideas")
st.caption(
    "The families in the course's order, each with the idea it is remembered for. Not every idea "
    "stayed: AlexNet's local response normalisation and its two-GPU grouping were dropped, and VGG "
    "kept AlexNet's large dense layers, which NiN and GoogLeNet replaced by global average pooling. "
    "The course's own Keras CNN has no date and is the starting point of the Training page, not part "
    "of this timeline."
)
story = progression()
for row_start in range(0, len(story), 4):
    cols = st.columns(4)
    for col, first in zip(cols, story[row_start : row_start + 4], strict=False):
        with col.container(border=True):
            st.page_link(
                "app_pages/architectures.py",
                label=f"**{first.family}** ({first.year})",
                query_params={"arch": first.key},
            )
            st.caption(first.idea)

st.subheader("Pages")
st.page_link(
    "app_pages/course.py",
    label="Course: the whole course as a path of prepared views, step by step",
)
st.page_link(
    "app_pages/basics.py",
    label="Convolution basics: pixels, filters, stride and padding, pooling, softmax",
)
st.page_link(
    "app_pages/architectures.py",
    label="Architectures: every network drawn and clickable, layer tables, parameters, MACs, receptive fields",
)
st.page_link(
    "app_pages/feature_maps.py",
    label="Feature maps: upload a photo and see what every layer responds to",
)
st.page_link(
    "app_pages/training.py", label="Training: train a small CNN live and watch its filters form"
)
st.page_link(
    "app_pages/recurrent.py",
    label="Recurrent networks: hidden states and gates of RNN, GRU and LSTM",
)
st.page_link(
    "app_pages/experiments.py",
    label="Experiments: the course's claims tested side by side (plain vs residual, transfer vs scratch, RNN vs GRU vs LSTM)",
)
