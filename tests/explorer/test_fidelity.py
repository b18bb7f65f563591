"""Fidelity: each fact the app teaches, held against its source (issue 22).

The reference numbers here are written from the papers and the course's text, never copied
from the code's output: a test fails when the code drifts from the source, not the other way.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from explorer.models import catalog, get_spec
from explorer.probe import summarize

# --- 1. LeNet-5 (LeCun, Bottou, Bengio, Haffner 1998, Section II.B and Table I) -------------

# Table I, columns 0-15 (C3 maps), the rows (S2 maps) marked X, as printed in the paper.
TABLE_I = {
    0: "012",
    1: "123",
    2: "234",
    3: "345",
    4: "450",
    5: "501",
    6: "0123",
    7: "1234",
    8: "2345",
    9: "3450",
    10: "4501",
    11: "5012",
    12: "0134",
    13: "1245",
    14: "0235",
    15: "012345",
}


def _paper_lenet5_parameters() -> dict[str, int]:
    """Each trainable layer's parameter count from the paper's layer sizes."""
    k = 5 * 5
    c3 = sum(len(inputs) * k + 1 for inputs in TABLE_I.values())
    return {
        "C1": 6 * (k + 1),  # 6 maps, a 5x5 kernel and a bias each: 156
        "S2": 6 * 2,  # a trainable coefficient and bias per map: 12
        "C3": c3,  # 1,516
        "S4": 16 * 2,  # 32
        "C5": 120 * (16 * k + 1),  # 48,120
        "F6": 84 * (120 + 1),  # 10,164
        "output": 0,  # Euclidean RBF units with fixed parameters
    }


def test_the_paper_lenet5_has_60000_trainable_parameters() -> None:
    paper = _paper_lenet5_parameters()
    assert paper["C3"] == 1516  # the paper's own figure for C3
    assert sum(paper.values()) == 60_000  # "about 60,000 trainable parameters"
    with torch.device("meta"):
        model = get_spec("lenet5_1998").build()
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == 60_000
    assert summarize(get_spec("lenet5_1998").build, (1, 32, 32)).total_params == 60_000
    layers = {
        "C1": model.c1,
        "S2": model.s2,
        "C3": model.c3,
        "S4": model.s4,
        "C5": model.c5,
        "F6": model.f6,
        "output": model.output,
    }
    assert {name: sum(p.numel() for p in m.parameters()) for name, m in layers.items()} == paper


def test_c3_is_wired_by_table_i() -> None:
    model = get_spec("lenet5_1998").build()
    for i, inputs in TABLE_I.items():
        conv = getattr(model.c3, f"map{i}")
        assert conv.in_channels == len(inputs) and conv.out_channels == 1
        x = torch.zeros(1, 6, 14, 14)
        untouched = [c for c in range(6) if str(c) not in inputs]
        x[:, untouched] = torch.randn(1, len(untouched), 14, 14)  # maps C3 map i must not see
        with torch.no_grad():
            out = model.c3(x)[:, i]
        assert torch.allclose(out, conv.bias.view(1, 1, 1).expand_as(out))


def test_lenet5_output_is_fixed_euclidean_rbf_and_shapes_follow_the_paper() -> None:
    model = get_spec("lenet5_1998").build().eval()
    x = torch.randn(2, 1, 32, 32)
    sizes = {}
    for name in ("c1", "s2", "c3", "s4", "c5"):
        x = getattr(model, name)(x)
        sizes[name] = tuple(x.shape[1:])
    assert sizes == {
        "c1": (6, 28, 28),
        "s2": (6, 14, 14),
        "c3": (16, 10, 10),
        "s4": (16, 5, 5),
        "c5": (120, 1, 1),
    }
    f6 = torch.randn(3, 84)
    codes = torch.tensor(
        [[1.0 if c == "#" else -1.0 for c in code] for code in model.output.codes.split()]
    )
    assert codes.shape == (10, 84)  # one 7x12 code per digit
    assert torch.allclose(model.output(f6), -(torch.cdist(f6, codes) ** 2), atol=1e-3)
    assert list(model.output.parameters()) == []  # fixed, not trained


def test_the_teaching_lenet5_says_it_is_not_the_paper() -> None:
    spec = get_spec("lenet5")
    with torch.device("meta"):
        n = sum(p.numel() for p in spec.build().parameters())
    # 6-16-120-84-10 fully connected: (25+1)6 + (6*25+1)16 + (400+1)120 + (120+1)84 + (84+1)10
    assert n == 156 + 2416 + 48120 + 10164 + 850 == 61_706
    assert (
        "61,706" in spec.variant
        and "60,000" in spec.variant
        and "as published" not in spec.variant.split("(")[0]
    )
    assert spec.twin == "lenet5_1998" and get_spec("lenet5_1998").twin == "lenet5"


# --- 4. The course's Keras code, as the course writes it ------------------------------------

COURSE_KERAS = """from keras.models import Sequential
from keras.layers import Conv2D, MaxPooling2D, Flatten, Dense

model = Sequential()
model.add(Conv2D(32, (3,3), activation='relu', input_shape=(64,64,3)))
model.add(MaxPooling2D(pool_size=(2,2)))
model.add(Conv2D(64, (3,3), activation='relu'))
model.add(MaxPooling2D(pool_size=(2,2)))
model.add(Flatten())
model.add(Dense(128, activation='relu'))
model.add(Dense(1, activation='sigmoid'))
model.compile(optimizer='adam', loss='binary_crossentropy', metrics=['accuracy'])
model.fit(X_train, y_train, epochs=10, batch_size=32)
pred = model.predict(X_test)
"""


def test_the_keras_panel_prints_the_course_code_line_for_line() -> None:
    from explorer.probe.keras_twin import keras_code, keras_modern_code, keras_twin_code

    assert keras_code() == COURSE_KERAS
    modern = keras_modern_code()
    assert "epochs=10, batch_size=32" in modern and "pred = model.predict(X_test)" in modern
    twin = keras_twin_code().splitlines()
    assert (
        "range(10)"
        in twin[
            COURSE_KERAS.splitlines().index("model.fit(X_train, y_train, epochs=10, batch_size=32)")
        ]
    )
    assert "batches of 32" in keras_twin_code() and twin[-1].startswith(
        "pred = torch.sigmoid(model(X_test))"
    )
    # line n of the course is line n of the twin up to model.fit
    for keras_line, torch_line in zip(COURSE_KERAS.splitlines()[:12], twin[:12], strict=True):
        assert bool(keras_line) == bool(torch_line)


# --- 3. Output sizes of ceil-mode pooling (PyTorch's rule, GoogLeNet's pools) ---------------


def test_googlenet_first_pool_is_ceil_56_not_floor_55() -> None:
    from explorer.basics.sizes import pool_output_size, window_formula_text

    # Szegedy et al. 2014, Table 1: max pool 3x3/2 takes 112x112 to 56x56.
    assert pool_output_size(112, 3, 2, 0, ceil_mode=True) == 56
    assert pool_output_size(112, 3, 2, 0) == 55  # floor would give 55
    assert window_formula_text(112, 3, 0, 2, ceil_mode=True).startswith(
        "ceil((112 - 3 + 2 x 0) / 2) + 1 = 56"
    )
    # PyTorch's rule: the last window must start inside the input or the left padding.
    assert (
        pool_output_size(5, 2, 2, 1, ceil_mode=True) == 3
    )  # ceil(4/2)+1 = 4 would start at 6 > 5 + 1


@pytest.mark.parametrize("key", [s.key for s in catalog(kind="cnn")])
def test_every_pooling_layer_size_is_its_formula(key: str) -> None:
    """Every pooling module of every catalog CNN (meta device): torch's captured output side is
    the engine's floor / ceil formula; the graph node's card formula ends in the same number."""
    from explorer.basics.sizes import window_output_size
    from explorer.probe.graph import catalog_graph

    spec = get_spec(key)
    with torch.device("meta"):
        model = spec.build().eval()
    seen: list[tuple[nn.Module, tuple[int, ...], tuple[int, ...]]] = []
    pools = [m for m in model.modules() if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d))]
    hooks = [
        m.register_forward_hook(lambda m, i, o: seen.append((m, tuple(i[0].shape), tuple(o.shape))))
        for m in pools
    ]
    try:
        with torch.no_grad():
            model(torch.empty(1, *spec.input_shape, device="meta"))
    finally:
        for h in hooks:
            h.remove()
    assert len(seen) == len(pools) > 0 or not pools
    for m, shape_in, shape_out in seen:
        k = m.kernel_size if isinstance(m.kernel_size, int) else m.kernel_size[0]
        s = m.stride if isinstance(m.stride, int) else (m.stride or (k,))[0]
        p = m.padding if isinstance(m.padding, int) else m.padding[0]
        d = getattr(m, "dilation", 1)
        d = d if isinstance(d, int) else d[0]
        assert window_output_size(shape_in[-1], k, p, s, d, m.ceil_mode) == shape_out[-1], (
            m,
            shape_in,
        )
    nodes = [n for n in catalog_graph(key).nodes if n.kind == "pool" and n.kernel is not None]
    assert len(nodes) == len(seen)
    for node in nodes:
        text = node.formula()
        assert text.split(" = ")[1].split(" ")[0] == str(node.out_shape[-1]), text
        assert text.startswith("ceil(") == node.ceil_mode
    assert any(n.ceil_mode for n in nodes) == any(m.ceil_mode for m in pools)


# --- 5 and a-k: the sentences a student reads --------------------------------------------------


def _step(title: str):
    from explorer.ui.course import STEPS

    return next(s for s in STEPS if s.title.startswith(title))


def test_readme_does_not_call_lenet5_and_nin_torchvision_definitions() -> None:
    from pathlib import Path

    text = " ".join((Path(__file__).parents[2] / "README.md").read_text().split())
    start = text.index("## The catalog")
    tv = text[start : text.index("ImageNet weights", start)]
    assert "LeNet-5" not in tv and "NiN" not in tv
    assert "LeNet-5 and NiN are this project's own builders, without ImageNet weights" in text


def test_resnet_step_teaches_degradation_not_vanishing() -> None:
    text = _step("ResNet").text
    assert "gradients reach the first layers" not in text  # (a)
    assert "unlikely to be caused by vanishing gradients" in text and "batch norm" in text


def test_training_step_promises_what_a_minute_of_training_shows() -> None:
    text = _step("Training").text
    assert "noise into edge detectors" not in text and "still look noisy" in text  # (b)


def test_gru_step_reads_the_update_gate_as_the_apps_equation_does() -> None:
    text = _step("GRU").text  # (c): h = (1 - z) n + z h_prev copies h_prev when z is near 1
    assert "stays open" not in text and "z is near 1 (the update shut)" in text


def test_lstm_step_opens_the_gradient_view_with_forget_bias_one() -> None:
    step = _step("LSTM")  # (d)
    assert step.params["view"] == "gradient" and step.params["fb"] == "1"


def test_alexnet_and_googlenet_steps_link_the_papers_networks() -> None:
    from explorer.models import get_spec

    for title, key in (("AlexNet", "alexnet2012"), ("GoogLeNet", "googlenet_v1")):  # (e)
        step = _step(title)
        assert step.params["arch"] == key and "as published" in get_spec(key).title


def test_transfer_step_cites_yosinski() -> None:
    assert (
        "Yosinski et al., How transferable are features in deep neural networks?, NIPS 2014"
        in _step("Transfer").text
    )


def test_valid_padding_shrinks_by_f_minus_1_only_with_stride_1() -> None:
    from pathlib import Path

    from explorer.basics.sizes import output_size

    assert output_size(32, 5, 0, 1) == 32 - (5 - 1) and output_size(32, 5, 0, 2) != 32 - (
        5 - 1
    )  # (g)
    text = " ".join((Path(__file__).parents[2] / "explorer/ui/basics_more.py").read_text().split())
    assert "shrinks by F - 1 with stride 1 and no dilation" in text


def test_home_timeline_follows_the_course_order() -> None:
    from pathlib import Path

    from explorer.models.catalog import progression

    assert [s.family for s in progression()] == [
        "LeNet",
        "AlexNet",
        "VGG",
        "NiN",
        "GoogLeNet",
        "ResNet",
    ]  # (h)
    text = (Path(__file__).parents[2] / "app_pages/home.py").read_text()
    assert "one idea that the next ones kept" not in text and "Not every idea" in text


def test_residual_deep_code_does_not_promise_batch_norm() -> None:
    from explorer.probe.codegen import pytorch_code

    code = pytorch_code("residual_deep").code  # (i): its BN slots are nn.Identity
    assert "conv-BN-ReLU-conv-BN" not in code and "nn.Identity" in code
    assert "conv-BN-ReLU-conv-BN" in pytorch_code("resnet_small").code  # the compact ResNet has BN


def test_adding_problem_is_credited_to_le_jaitly_hinton() -> None:
    from explorer.data.sequences import adding_problem
    from explorer.training.experiments import EXPERIMENTS

    text = EXPERIMENTS["cells_on_adding"].explanation  # (j)
    assert (
        "Le, Jaitly & Hinton, 2015" in text
        and "A Simple Way to Initialize Recurrent Networks" in text
    )
    assert "Le, Jaitly & Hinton" in (adding_problem.__doc__ or "")
    x, _ = adding_problem(4, 10, torch.Generator().manual_seed(0))
    assert (
        float(x[..., 0].min()) >= 0 and float(x[..., 0].max()) <= 1
    )  # U(0, 1) values, Le et al.'s form


def test_nips_2012_and_the_backward_title() -> None:
    from explorer.models import CATALOG
    from explorer.probe.recurrent import RecurrentTrace
    from explorer.viz import recurrent as viz_recurrent

    assert "NIPS 2012" in get_spec("alexnet").paper  # (k)
    assert not any(
        "NeurIPS" in s.citation for s in CATALOG.values()
    )  # NeurIPS is the name since 2018
    source = __import__("inspect").getsource(viz_recurrent.forward_backward)
    assert "x_t..x_(T-1)" in source and "x_t..x_T)" not in source  # steps 0..T-1
    assert "x_t..x_(T-1)" in (RecurrentTrace.__doc__ or "")


# --- 2. Plain vs residual: vanishing (no BN, default init) apart from degradation (He et al. 4.1)


def test_vanishing_needs_default_init_without_batch_norm() -> None:
    """At initialisation, on one batch: the plain 20's first-layer gradient is a vanishing fraction of
    its last layer's with torch's default init and no BN; He init, BN or shortcuts keep it healthy."""
    from explorer.training.depth import depth_model, first_last_gradient_ratio

    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(32, 3, 32, 32, generator=g), torch.randint(0, 10, (32,), generator=g)

    def ratio(**kw: object) -> float:
        return first_last_gradient_ratio(depth_model(seed=0, **kw), x, y)  # type: ignore[arg-type]

    assert ratio() < 1e-5  # plain 20, default init, no BN: vanishing
    assert ratio(init="he") > 1e-2 and ratio(init="he", batch_norm=True) > 1e-2  # healthy
    assert ratio(residual=True) > 1e-3 and ratio(residual=True, batch_norm=True, init="he") > 1e-2


def test_the_experiments_keep_the_two_effects_apart_and_quote_he_correctly() -> None:
    from explorer.training.depth import HE2016_SEC41
    from explorer.training.experiments import EXPERIMENTS

    vanishing, degradation = EXPERIMENTS["plain_vs_residual"], EXPERIMENTS["degradation"]
    assert (
        "(He et al., 2015)" not in vanishing.explanation
        and "NOT what He et al. (2016) found" in vanishing.explanation
    )
    assert "no batch norm" in vanishing.title.lower() and "batch norm" in degradation.title.lower()
    # He et al. 2016, sec. 4.1, in their words
    assert (
        "unlikely to be caused by vanishing gradients" in HE2016_SEC41
        and HE2016_SEC41 in degradation.quote
    )
    assert "trained with BN" in HE2016_SEC41 and "healthy norms" in HE2016_SEC41
    runs = degradation.runs()
    assert all(r.kwargs["batch_norm"] and r.kwargs["init"] == "he" for r in runs)
    plain = sorted(r.kwargs["blocks"] for r in runs if not r.kwargs["residual"])
    assert len(plain) == 2 and plain[0] < plain[1]  # a shallower and a deeper plain net
    assert any(
        r.kwargs["residual"] and r.kwargs["blocks"] == plain[1] for r in runs
    )  # the deeper one's twin
    card = get_spec("plain_deep").variant
    assert (
        "no batch norm" in card
        and "degradation problem" in card
        and "(He et al., 2015)" not in card
    )


def test_transfer_says_what_the_source_saw_and_tunes_the_scratch_arm() -> None:
    from explorer.training.experiments import EXPERIMENTS
    from explorer.training.transfer import default_transfer_settings, scratch_twin

    exp = EXPERIMENTS["transfer_vs_scratch"]
    assert (
        "related task" not in exp.explanation and "subset of the source's" in exp.explanation
    )  # (f)
    assert (
        "Yosinski et al., How transferable are features in deep neural networks?, NIPS 2014"
        in exp.explanation
    )
    head, scratch = (r.kwargs["settings"] for r in exp.runs())
    assert (
        head.lr == default_transfer_settings().lr and scratch.lr == scratch_twin(head).lr != head.lr
    )


# --- Also: the outline's tips, each with its proof --------------------------------------------


def test_vgg16_dense_layers_hold_89_percent_of_its_parameters() -> None:
    from explorer.training.tips import dense_share
    from explorer.ui.tips import TIPS

    # Simonyan & Zisserman 2014, Table 1 (D): fc 4096, fc 4096, fc 1000 after 512 x 7 x 7
    dense = (512 * 7 * 7 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 1000 + 1000)
    assert dense == 123_642_856
    with torch.device("meta"):
        got, total = dense_share(get_spec("vgg16").build())
    assert (got, total) == (dense, 138_357_544) and round(100 * dense / total) == 89
    text = next(t for t in TIPS if "dense" in t.title).text
    assert "123,642,856" in text and "138,357,544" in text and "(89%)" in text
    small = next(t for t in TIPS if "small filters" in t.title).text
    assert (
        "2 x 9 = 18" in small and 2 * 9 < 5 * 5 and 3 * 9 < 7 * 7
    )  # two 3x3 see 5x5, three see 7x7


def test_every_tip_links_a_routed_page_and_the_normalisation_experiment_exists() -> None:
    from explorer.training.experiments import EXPERIMENTS
    from explorer.ui.navigation import PAGES
    from explorer.ui.tips import TIPS

    assert len(TIPS) == 3
    assert {t.page for t in TIPS} <= {p.url_path for p in PAGES}
    norm = next(t for t in TIPS if "Normalise" in t.title)
    assert norm.params == {"exp": "normalisation"} and "normalisation" in EXPERIMENTS
    runs = EXPERIMENTS["normalisation"].runs()
    assert [(r.kwargs["settings"].optimizer, r.kwargs["scale"]) for r in runs] == [
        ("adam", 1.0),
        ("adam", 255.0),
        ("sgd", 1.0),
        ("sgd", 255.0),
    ]


def test_a_diverging_arm_is_a_result_not_an_error(monkeypatch) -> None:
    """SGD on raw 0-255 pixels diverges (NaN at step 9 in our run): the arm returns a result that
    says so and the comparison goes on."""
    from dataclasses import replace

    from explorer.training import fit
    from explorer.training.events import drain
    from explorer.training.settings import default_settings
    from explorer.training.tips import Diverged, run_scaled

    seen = {}

    def diverging(settings, should_stop=None, data=None):
        seen["max"] = float(data.x_train.max())
        yield type("Step", (), {"step": 9})()
        raise fit.DivergedError("The loss became NaN at step 9 (epoch 1): training diverged.")

    monkeypatch.setattr(fit, "run_training", diverging)
    s = replace(
        default_settings("keras_cnn", "circles_squares", device="cpu"),
        train_samples=64,
        val_samples=32,
    )
    _, result = drain(run_scaled(s, 255.0))
    assert isinstance(result, Diverged) and "diverged" in result.message
    assert result.metrics == {"diverged_after_step": 9.0} and 1.0 < seen["max"] <= 255.0


def test_lenet5_as_published_reads_grey_32_digits_on_the_feature_maps_page() -> None:
    from explorer.probe.inputs import preprocessing_for

    recipe = preprocessing_for("lenet5_1998")
    assert (recipe.channels, recipe.size, recipe.mean) == (
        1,
        32,
        None,
    )  # [0, 1] digits, no ImageNet recipe


def test_the_alexnet_and_googlenet_steps_numbers_are_the_published_networks() -> None:
    from explorer.training.tips import dense_share

    with torch.device("meta"):
        dense, total = dense_share(get_spec("alexnet2012").build())
        _, goog = dense_share(get_spec("googlenet_v1").build())
    # AlexNet: fc6 9216 x 4096, fc7 4096 x 4096, fc8 4096 x 1000 (Krizhevsky et al. 2012, Fig. 2)
    assert dense == (9216 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 1000 + 1000)
    assert (
        round(total / 1e6) == 61 and dense / total > 0.9
    )  # "61 million, most in the dense layers"
    assert round(goog / 1e6) == 7  # "7 million parameters"
    assert "61 million" in _step("AlexNet").text and "7 million" in _step("GoogLeNet").text
