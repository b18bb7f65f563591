"""Ready-made comparisons: the experiments the course argues from, each ONE job of several runs.

Each experiment lists its runs as :class:`~explorer.training.runs.RunSpec` (a job target and
plain arguments), and :func:`experiment_spec` wraps them into a single job that trains them one
after another (``run_comparison``), so "one job per user" holds and, on a one-slot CPU, the
chart fills run by run. The text says what to look for and why, in the course's words.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from explorer.training.depth import HE2016, HE2016_SEC41
from explorer.training.runs import RunSpec
from explorer.training.transfer import SCRATCH_LR

TARGET = "explorer.training.runs:run_comparison"

# The degradation comparison: He init + batch norm everywhere (explorer.training.depth).
DEGRADATION_RUNS: tuple[
    tuple[str, int, bool], ...
] = (  # (name, blocks, residual): 2 x blocks + 2 layers
    ("plain 20 (He init + BN)", 9, False),
    ("plain 56 (He init + BN)", 27, False),
    ("residual 56 (He init + BN)", 27, True),
)
# SGD with momentum as He et al.; digits at difficulty 0.6 so that 2 epochs leave room to differ.
# Measured on 2 loaded CPU cores (seed 0): plain 20 ends at training loss ~0.2 (validation 81%),
# plain 56 at ~1.6 (37%): the deeper plain net trains worse; residual 56 ends at ~0.09 (92%).
# Adam on undemanding digits (difficulty 0.3) hid the gap: there plain 20 beat plain 8.
DEGRADATION_SETTINGS: dict = dict(
    optimizer="sgd", lr=0.05, epochs=2, train_samples=3000, difficulty=0.6
)
DEGRADATION_MINUTES = (
    "about 15 to 30 minutes (the 56-layer nets take most of it; a GPU takes seconds)"
)
DEGRADATION_TEXT = (
    "All three nets use He initialisation and batch norm, as He et al.'s plain nets (ImageNet, sec. "
    "4.1; CIFAR-10 with 20 to 56 layers, sec. 4.2 and Figure 6): the table shows their gradients do not "
    "vanish at the start (the first layer's gradient norm is not 1e-8 of the last's; in the plain 56 "
    "it is even larger than the last's). Yet the deeper plain net ends with a higher training loss than the shallower one: the "
    "degradation problem, which is not overfitting (the training error itself is higher) and not "
    "vanishing gradients. He et al. call it an optimisation difficulty. The residual net of the same "
    "depth, with identity shortcuts, trains at least as well as the shallower plain one."
)
# Measured on 2 loaded CPU cores (seed 0, 2000 images, 3 epochs): Adam 1e-3 reached 87% test
# accuracy on [0, 1] pixels and 97% on raw 0-255 ones after a first loss near 17; SGD 0.01 stayed
# at chance on [0, 1] pixels in 3 epochs and its loss became NaN at step 9 on raw ones.
NORMALISATION_TEXT = (
    "The same Keras CNN, data and seed, on the images divided by 255 and on the raw 0-255 values. "
    "With Adam (the course's optimiser, learning rate 1e-3) the raw run starts with a loss near 17: "
    "the first layers' outputs are 255 times larger and the sigmoid saturates. Then it recovers, "
    "because Adam scales each weight's step by the size of its recent gradients, which absorbs most "
    "of the factor 255; on this easy task it may even end ahead (97% against 87% test accuracy after "
    "3 epochs in our run). Plain SGD has no such rescaling: at learning rate 0.01 its loss on raw "
    "pixels became NaN within ten steps, while on [0, 1] pixels it stays finite (and slow at this "
    "rate). That is the course's tip: normalise the images (divide by 255, or standardise each "
    "channel) so that a learning rate safe for one dataset does not depend on the units of its pixels."
)
INIT_TABLE_CAPTION = (
    "Measured here, at initialisation, on one batch of 64 printed digits: the norm of the loss gradient "
    "at the first weight layer over the norm at the last. Near 1e-8 the first layers cannot learn "
    "(vanishing); He initialisation, batch norm or the shortcuts keep it from vanishing, also at 56 "
    "layers (where plain He init + BN even makes the first layer's gradient the larger)."
)


def _init_table() -> Sequence[dict]:
    from explorer.training.depth import init_gradient_table

    return init_gradient_table()


@dataclass(frozen=True)
class Experiment:
    """A comparison: its question, what the result shows, and how to build its runs."""

    key: str
    title: str
    question: str
    explanation: str
    charts: tuple[
        str, ...
    ]  # which views the page draws: "loss", "accuracy", "grad_norms", "sequence"
    runs: Callable[[], list[RunSpec]]
    minutes: str  # rough wall time on 2 shared CPU cores
    quote: str = ""  # the cited paper's own words, where the experiment tests a claim of it
    measured: Callable[[], Sequence[dict]] | None = None  # a small table measured on request
    measured_caption: str = ""


def _plain_vs_residual() -> list[RunSpec]:
    """Default init, no batch norm: the plain net's gradient vanishes, the shortcuts carry it."""
    from explorer.training.settings import default_settings

    return [
        RunSpec(
            f"{key.replace('_deep', '')} 20 (default init, no BN)",
            "explorer.training.fit:run_training",
            {"settings": default_settings(key, "digits", device="cpu")},
        )
        for key in ("plain_deep", "residual_deep")
    ]


def _degradation() -> list[RunSpec]:
    """He init and batch norm: healthy gradients; the deeper plain net still trains worse."""
    from dataclasses import replace

    from explorer.training.settings import default_settings

    s = replace(default_settings("plain_deep", "digits", device="cpu"), **DEGRADATION_SETTINGS)
    return [
        RunSpec(
            name,
            "explorer.training.depth:run_depth",
            {
                "settings": s,
                "blocks": blocks,
                "residual": residual,
                "batch_norm": True,
                "init": "he",
            },
        )
        for name, blocks, residual in DEGRADATION_RUNS
    ]


def _transfer_vs_scratch() -> list[RunSpec]:
    from explorer.training.transfer import DEFAULT_PAIR, default_transfer_settings, scratch_twin
    from explorer.training.transfer_weights import bundled_source

    source = bundled_source(DEFAULT_PAIR["source_arch"])
    s = default_transfer_settings(device="cpu")
    twin = scratch_twin(s)
    return [
        RunSpec(
            f"transfer (head only, lr {s.lr:g})",
            "explorer.training.transfer:run_transfer",
            {"settings": s, "source": source},
        ),
        RunSpec(
            f"from scratch (lr {twin.lr:g})",
            "explorer.training.transfer:run_transfer",
            {"settings": twin, "source": None, "image_size": 32},
        ),
    ]


def _normalisation() -> list[RunSpec]:
    """The course's Keras CNN on pixels in [0, 1] and on the same pixels at 0-255."""
    from dataclasses import replace

    from explorer.training.settings import default_settings

    adam = replace(default_settings("keras_cnn", "circles_squares", device="cpu"), epochs=3)
    sgd = replace(adam, optimizer="sgd", lr=0.01)
    return [
        RunSpec(name, "explorer.training.tips:run_scaled", {"settings": s, "scale": scale})
        for name, s, scale in (
            ("Adam, pixels / 255", adam, 1.0),
            ("Adam, raw 0-255", adam, 255.0),
            ("SGD, pixels / 255", sgd, 1.0),
            ("SGD, raw 0-255", sgd, 255.0),
        )
    ]


def _cells_on_adding() -> list[RunSpec]:
    from explorer.training.sequence import SequenceSettings

    s = SequenceSettings(
        task="adding", cells=("rnn", "gru", "lstm"), hidden_size=64, steps=800, seq_len=30, lr=1e-2
    )
    return [
        RunSpec(
            "RNN vs GRU vs LSTM",
            "explorer.training.sequence:train_sequence_models",
            {"settings": s},
        )
    ]


EXPERIMENTS: dict[str, Experiment] = {
    e.key: e
    for e in (
        Experiment(
            "plain_vs_residual",
            "Vanishing gradients: plain 20 vs residual 20, no batch norm",
            "Without batch norm and with PyTorch's default initialisation, does a shortcut make a 20-layer "
            "network trainable?",
            "Both nets have the same 20 layers, data, seed and optimiser, PyTorch's default initialisation "
            "and no batch norm; only the identity shortcut differs. The residual net's loss falls within "
            "the first epochs while the plain net stays near chance. The gradient-norm panels show why: in "
            "the plain net the gradient reaching the first layers is orders of magnitude smaller than at "
            "the top (it vanishes through the stack; the table measures about 1e-8 at initialisation), "
            "while the shortcuts carry it down. This is the classic vanishing gradient of deep nets "
            "without a careful initialisation or normalisation (Glorot & Bengio, 2010): He initialisation, "
            "with or without batch norm, cures it too (table). It is NOT what He et al. (2016) found: their plain nets "
            "had batch norm and healthy gradients; see the degradation experiment.",
            ("loss", "accuracy", "grad_norms"),
            _plain_vs_residual,
            "about 4 to 8 minutes",
            measured=_init_table,
            measured_caption=INIT_TABLE_CAPTION,
        ),
        Experiment(
            "degradation",
            "Degradation: deeper plain nets train worse, even with batch norm",
            "With He initialisation and batch norm (gradients that do not vanish), does a deeper plain net train as "
            "well as a shallower one, and does a shortcut change that?",
            DEGRADATION_TEXT,
            ("loss", "accuracy", "grad_norms"),
            _degradation,
            DEGRADATION_MINUTES,
            quote=f"{HE2016_SEC41} ({HE2016})",
            measured=_init_table,
            measured_caption=INIT_TABLE_CAPTION,
        ),
        Experiment(
            "transfer_vs_scratch",
            "Transfer vs from scratch",
            "With 64 training images, does starting from trained features help?",
            "Both runs see the same 64 images of circles and squares for the same 16 steps. The "
            "transferred model reuses the compact ResNet trained on six synthetic shapes and trains only a "
            "new 129-parameter head at learning rate 1e-2; the twin starts from random weights and trains "
            f"all 695,425 at its own tuned rate ({SCRATCH_LR:g}, the best of a sweep for this arm). Mind "
            "what the source saw: circle and square were two of its six shapes, drawn by the same "
            "generator, so the target's classes are a subset of the source's: reuse on a sub-task, the "
            "easiest case of transfer. Transfer reaches near-perfect test accuracy; from scratch stays far "
            "behind: with little data and time, trained features are a far better start than random "
            "ones. How well features transfer falls as the tasks drift apart and as more, later layers "
            "are copied (Yosinski et al., How transferable are features in deep neural networks?, NIPS "
            "2014).",
            ("loss", "accuracy"),
            _transfer_vs_scratch,
            "about 1 to 3 minutes",
        ),
        Experiment(
            "normalisation",
            "Normalised vs raw pixels (the course's Keras CNN)",
            "Does it matter whether the network sees pixels in [0, 1] or at 0-255?",
            NORMALISATION_TEXT,
            ("loss", "accuracy"),
            _normalisation,
            "about 6 to 15 minutes",
        ),
        Experiment(
            "cells_on_adding",
            "RNN vs GRU vs LSTM on the adding problem",
            "Can a plain RNN carry a value across 30 steps?",
            "The target is the sum of two marked numbers far apart in the sequence. Answering the mean "
            "(1.0) scores an MSE of 1/6 ~ 0.167. The gated cells (GRU, LSTM) find the marked values and "
            "drive the error towards zero; the plain RNN stays near the baseline, because its gradient "
            "through 30 tanh steps fades. The task is the adding problem in the form of Le, Jaitly & "
            "Hinton, 2015 (A Simple Way to Initialize Recurrent Networks of Rectified Linear Units): "
            "values drawn from U(0, 1), two of them marked; Hochreiter & Schmidhuber's 1997 original "
            "differs in its values and marker coding.",
            ("sequence",),
            _cells_on_adding,
            "about 1 to 2 minutes",
        ),
    )
}


def experiment_spec(key: str) -> tuple[str, dict]:
    """(job target, kwargs) for experiment ``key``: one job that runs its runs in turn."""
    if key not in EXPERIMENTS:
        raise KeyError(f"Unknown experiment {key!r}: choose one of {', '.join(EXPERIMENTS)}.")
    return TARGET, {"runs": EXPERIMENTS[key].runs()}
