"""The course as a path: its steps in teaching order, each a deep link into a page's state.

The Course page lists them; any page opened from the path (its URL has `step=<n>`) shows a
"previous / next step" bar above its content (`course_bar`, drawn by app.py). Links carry only
view parameters (see explorer.ui.state), never anything personal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import streamlit as st

from explorer.ui.navigation import PAGES


@dataclass(frozen=True)
class Step:
    """One stop of the course: a title, the page and its state, a paragraph of why."""

    title: str
    page: str  # a PageDef.url_path
    params: dict[str, str] = field(default_factory=dict)
    text: str = ""
    part: str = ""


_FM = "feature-maps"
STEPS: tuple[Step, ...] = (
    Step(
        "The image as numbers",
        "basics",
        {"topic": "numbers", "sample": "cat"},
        "A picture is a grid of numbers: height x width x 3 colour channels, 0-255 each. PyTorch "
        "stores it channels first (3 x H x W) and a network sees nothing else. Shrink the image "
        "and read the values of single pixels.",
        "Building blocks",
    ),
    Step(
        "Convolution",
        "basics",
        {"topic": "conv", "sample": "cat", "stride": "1", "padding": "1"},
        "A convolution slides a small filter (3 x 3 weights) over the image and writes one "
        "number per position: the sum of the patch times the weights. An edge filter lights up "
        "where brightness changes; a network learns its filters from data.",
        "Building blocks",
    ),
    Step(
        "Stride and padding",
        "basics",
        {"topic": "stride", "sample": "cat", "stride": "2", "padding": "1"},
        "Padding P adds a border of zeros so the filter can sit on the edge pixels; stride S "
        "skips positions. Output side = floor((N - F + 2P) / S) + 1: try P and S and watch the "
        "map shrink.",
        "Building blocks",
    ),
    Step(
        "ReLU",
        "basics",
        {"topic": "relu", "sample": "cat"},
        "ReLU keeps positive responses and sets the rest to zero. Without a non-linearity "
        "between them, any stack of convolutions would collapse into one.",
        "Building blocks",
    ),
    Step(
        "Pooling",
        "basics",
        {"topic": "pool", "sample": "cat"},
        "Max pooling keeps the strongest response of each window: the map gets smaller and a "
        "small shift of the object changes little.",
        "Building blocks",
    ),
    Step(
        "Global average pooling",
        "basics",
        {"topic": "gap", "sample": "cat"},
        "Global average pooling reduces each channel to its mean, one number per channel. NiN, "
        "GoogLeNet and ResNet use it instead of a large dense layer, which removes most of the "
        "parameters and lets the network take any image size.",
        "Building blocks",
    ),
    Step(
        "Dense layer and loss",
        "basics",
        {"topic": "loss", "sample": "cat"},
        "The last dense layer gives one score per class; softmax turns scores into "
        "probabilities, and cross-entropy, -log p(true class), is the loss training lowers.",
        "Building blocks",
    ),
    Step(
        "Training",
        "training",
        {"model": "keras_cnn", "dataset": "circles_squares"},
        "Training repeats: a batch forward, the loss, its gradient for every weight by "
        "backpropagation, a small step against it. Start the run and watch the loss fall and the "
        "accuracy rise. The first layer's filters change step by step, but small 3 x 3 filters "
        "trained for a minute still look noisy: what they learnt shows in the feature maps "
        "(the clean edge detectors of textbooks come from long training on large image sets).",
        "Training",
    ),
    Step(
        "LeNet-5 (1998)",
        _FM,
        {"arch": "lenet5", "weights": "bundled", "sample": "digit", "view": "layer"},
        "LeNet-5 read handwritten digits for banks: two convolution + pooling stages, then dense "
        "layers. See what its first layers make of a printed 7.",
        "The CNN progression",
    ),
    Step(
        "AlexNet (2012)",
        "architectures",
        {"arch": "alexnet2012"},
        "AlexNet won ImageNet 2012 by a wide margin: the LeNet recipe made deeper and wider, "
        "ReLU instead of tanh, dropout, and GPUs (split across two, hence its grouped layers), "
        "local response normalisation. 61 million parameters, most of them in the dense layers: "
        "this is the network as published; torchvision's variant sits beside it.",
        "The CNN progression",
    ),
    Step(
        "VGG (2014)",
        "architectures",
        {"arch": "vgg16"},
        "VGG uses only 3 x 3 convolutions, in blocks separated by pooling: two 3 x 3 layers see "
        "as far as one 5 x 5 with fewer parameters and one more ReLU. Simple, deep and heavy.",
        "The CNN progression",
    ),
    Step(
        "NiN (2013)",
        "architectures",
        {"arch": "nin"},
        "Network in Network puts 1 x 1 convolutions (a small MLP at every pixel) after each "
        "convolution and ends with global average pooling instead of dense layers.",
        "The CNN progression",
    ),
    Step(
        "GoogLeNet (2014)",
        "architectures",
        {"arch": "googlenet_v1"},
        "GoogLeNet's Inception block runs 1 x 1, 3 x 3, 5 x 5 convolutions and pooling side by "
        "side and concatenates them; 1 x 1 reductions keep it cheap: 22 layers, 7 million "
        "parameters (the network as published, real 5 x 5 branches and no batch norm; "
        "torchvision's variant sits beside it).",
        "The CNN progression",
    ),
    Step(
        "ResNet (2015)",
        "architectures",
        {"arch": "resnet18"},
        "ResNet adds each block's input to its output (a shortcut), so a block only learns a "
        "correction to the identity. He et al.'s plain networks had batch norm and healthy "
        "gradients, yet one of 56 layers trained worse than one of 20: the degradation problem, "
        "an optimisation difficulty 'unlikely to be caused by vanishing gradients' (sec. 4.1). "
        "With shortcuts, 152 layers train. The Experiments page shows vanishing gradients and "
        "degradation apart.",
        "The CNN progression",
    ),
    Step(
        "Transfer learning",
        _FM,
        {
            "arch": "resnet_small",
            "weights": "bundled",
            "sample": "cat",
            "view": "compare",
            "cmp": "models",
            "model2": "resnet_small",
            "weights2": "random",
        },  # trained vs random, offline
        "One layer of the bundled compact ResNet (trained here on synthetic shapes) beside the "
        "same network with random weights: each trained map picks out a few edges and blobs, "
        "the random maps are mixed copies of the image. Features learned on a large set such "
        "as ImageNet fit most photos: reusing them and retraining only "
        "the last layer works with a few hundred images: early layers are general, later ones "
        "specific to their task (Yosinski et al., How transferable are features in deep neural "
        "networks?, NIPS 2014).",
        "The CNN progression",
    ),
    Step(
        "A hierarchy of features",
        _FM,
        {
            "arch": "resnet_small",
            "weights": "bundled",
            "sample": "shapes",
            "view": "looks",
            "lf": "hierarchy",
            "lfsteps": "64",
        },
        "The course says that 'a CNN starts by learning simple features such as edges and "
        "corners, then combines them into textures, shapes, object parts, and finally full "
        "semantic categories'. Press Draw: each picture is made, by gradient ascent, to excite "
        "one channel of an early, a middle and a late layer of the bundled compact ResNet "
        "(trained on synthetic shapes at 32 x 32 pixels). Its early channels want flat colours "
        "and their borders, the middle ones stripes and oriented textures, the late ones blobs "
        "and curves. Small images of six shapes hold no eyes or wheels: object parts appear in "
        "large networks trained on ImageNet (Olah et al., Feature Visualization, Distill 2017).",
        "The CNN progression",
    ),
    Step(
        "The recurrent network",
        "recurrent",
        {"cell": "rnn", "layers": "1", "direction": "uni", "view": "heatmaps"},
        "A recurrent network reads a sequence one step at a time and carries a hidden state "
        "h_t = tanh(W x_t + U h_(t-1) + b): the same weights at every step.",
        "Sequences",
    ),
    Step(
        "Vanishing gradients",
        "recurrent",
        {"cell": "rnn", "layers": "1", "direction": "uni", "view": "gradient"},
        "The gradient of a late output with respect to an early input is a product of one "
        "Jacobian per step: it shrinks (or explodes) exponentially, so a plain RNN forgets.",
        "Sequences",
    ),
    Step(
        "Stacked and bidirectional",
        "recurrent",
        {"cell": "rnn", "layers": "2", "direction": "bi", "view": "directions"},
        "Stacking feeds one layer's hidden states to the next; a bidirectional layer also reads "
        "the sequence backwards, so each step sees its past and its future.",
        "Sequences",
    ),
    Step(
        "GRU",
        "recurrent",
        {"cell": "gru", "layers": "1", "direction": "uni", "view": "units"},
        "The GRU's update gate z decides how much of the old state to keep: h_t = (1 - z) n + "
        "z h_(t-1), so when z is near 1 (the update shut) the state is copied, and its gradient "
        "passes through many steps unchanged. With random weights z hovers around 0.5 and the "
        "GRU fades like the RNN: train the cells at the bottom of the page to watch it learn to "
        "hold.",
        "Sequences",
    ),
    Step(
        "LSTM",
        "recurrent",
        {"cell": "lstm", "layers": "1", "direction": "uni", "view": "gradient", "fb": "1"},
        "The LSTM keeps a separate memory cell changed only by adding (input gate) and scaling "
        "(forget gate). With random weights every cell fades alike; start the forget gate open "
        "(bias 1, the curve added here) and the gradient along the memory fades far more slowly "
        "than the RNN's.",
        "Sequences",
    ),
)

_FILES = {p.url_path: p.file for p in PAGES}


def step_params(n: int) -> dict[str, str]:
    """The URL parameters of step n (1-based), including `step` and the projector switch."""
    params = {**STEPS[n - 1].params, "step": str(n)}
    if st.session_state.get("projector"):
        params["projector"] = "1"
    return params


def step_link(n: int, label: str | None = None, icon: str | None = None) -> None:
    """A link that opens step n (1-based) in its page and state."""
    s = STEPS[n - 1]
    st.page_link(
        _FILES[s.page],
        label=label or f"{n}. {s.title}",
        query_params=step_params(n),
        icon=icon,
        help=f"{n}. {s.title}" if label else None,
    )


def current_step() -> int | None:
    """The course step this page was opened from (`step=` in the URL), if valid: 1-3 ASCII
    digits in range (`str.isdigit` also takes '²' and '٣', and `int` refuses 5,000 digits).
    Anything else is not a step and leaves the address, so a hostile one is not carried on."""
    raw = st.query_params.get("step")
    if raw is None:
        return None
    if re.fullmatch(r"[0-9]{1,3}", raw) and 1 <= int(raw) <= len(STEPS):
        return int(raw)
    del st.query_params["step"]
    return None


def course_bar(url_path: str) -> None:
    """'Step n of N: title' with previous / next links, when this page came from the path
    (a `step=` that belongs to another page is ignored)."""
    n = current_step()
    if n is None or STEPS[n - 1].page != url_path:
        return
    with st.container(border=True):
        a, b, c = st.columns([2, 5, 2], vertical_alignment="center")
        with a:  # a short label that fits the column; the step's whole title on its own line
            if n > 1:
                step_link(n - 1, "Previous", icon=":material/arrow_back:")
                st.caption(f"{n - 1}. {STEPS[n - 2].title}")
            else:
                st.page_link("app_pages/course.py", label="Course overview")
        b.markdown(
            f"**Course step {n} of {len(STEPS)}: {STEPS[n - 1].title}**", help=STEPS[n - 1].text
        )
        with c:
            if n < len(STEPS):
                step_link(n + 1, "Next", icon=":material/arrow_forward:")
                st.caption(f"{n + 1}. {STEPS[n].title}")
            else:
                st.page_link("app_pages/course.py", label="Course overview")
