"""The traced graph against published facts and against a real forward pass."""

import functools
import json

import pytest
import torch

from explorer.models import get_spec
from explorer.probe import capture
from explorer.probe.graph import InputSizeError, build_graph, catalog_graph
from explorer.probe.summary import summarize

# Szegedy et al. 2014, Table 1: output channels of each Inception module (1x1 + 3x3 + 5x5 + pool proj).
INCEPTION_CHANNELS = {
    "inception3a": 64 + 128 + 32 + 32,
    "inception3b": 128 + 192 + 96 + 64,
    "inception4a": 192 + 208 + 48 + 64,
    "inception4b": 160 + 224 + 64 + 64,
    "inception4c": 128 + 256 + 64 + 64,
    "inception4d": 112 + 288 + 64 + 64,
    "inception4e": 256 + 320 + 128 + 128,
    "inception5a": 256 + 320 + 128 + 128,
    "inception5b": 384 + 384 + 128 + 128,
}


def test_resnet_residual_additions() -> None:
    assert catalog_graph("resnet18").count("add") == 8
    assert catalog_graph("resnet34").count("add") == 16
    assert catalog_graph("resnet50").count("add") == 16


def test_resnet18_collapsed_is_stem_stages_head() -> None:
    view = catalog_graph("resnet18").view("blocks")
    assert [n.name for n in view.nodes] == [
        "input",
        "conv1",
        "pool1",
        *[f"stage{s}.block{b}" for s in (1, 2, 3, 4) for b in (1, 2)],
        "gap",
        "fc",
        "logits",
    ]
    block = view.find("stage2.block1")
    assert (
        block.kind == "residual"
        and block.in_shapes == ((64, 56, 56),)
        and block.out_shape == (128, 28, 28)
    )


def test_residual_block_opened_shows_shortcut_projection_and_add() -> None:
    view = catalog_graph("resnet18").view("blocks", open=["layer2.0"])
    add = view.find("stage2.block1/add")
    sources = sorted(view.node(e.src).name for e in view.inputs(add.id))
    assert sources == ["stage2.block1/conv2", "stage2.block1/shortcut/conv"]
    # Without a projection the shortcut comes straight from the previous block.
    view = catalog_graph("resnet18").view("blocks", open=["layer2.1"])
    add = view.find("stage2.block2/add")
    assert sorted(view.node(e.src).name for e in view.inputs(add.id)) == [
        "stage2.block1",
        "stage2.block2/conv2",
    ]


def test_googlenet_nine_inception_modules_with_four_branches() -> None:
    graph = catalog_graph("googlenet")
    assert [b.name for b in graph.blocks.values() if b.kind == "inception"] == list(
        INCEPTION_CHANNELS
    )
    concats = [n for n in graph.nodes if n.kind == "concat"]
    assert len(concats) == 9
    for node in concats:
        module = node.name.split("/")[0]
        assert len(graph.inputs(node.id)) == 4
        assert node.out_shape[0] == INCEPTION_CHANNELS[module], module
        assert sum(e.shape[0] for e in graph.inputs(node.id)) == node.out_shape[0]
    view = graph.view("blocks")
    assert sum(1 for n in view.nodes if n.kind == "inception") == 9
    opened = graph.view("blocks", open=["inception3a"])
    branch_heads = [opened.node(e.dst).name for e in opened.outputs("maxpool2")]
    assert branch_heads == [
        "inception3a/1x1",
        "inception3a/3x3_reduce",
        "inception3a/5x5_reduce",
        "inception3a/pool",
    ]


def test_vgg16_convolutions_and_pools() -> None:
    graph = catalog_graph("vgg16")
    assert graph.count("conv") == 13
    assert sum(1 for n in graph.nodes if n.type == "MaxPool2d") == 5
    assert [n.name for n in graph.view("blocks").nodes if n.kind == "vgg block"] == [
        f"block{i}" for i in range(1, 6)
    ]
    conv = graph.find("conv3_3")
    assert conv.kernel == (3, 3) and conv.stride == (1, 1) and conv.padding == (1, 1)
    assert conv.params == 3 * 3 * 256 * 256 + 256
    assert conv.param_formula() == "3 x 3 x 256 x 256 + 256 = 590,080"
    assert conv.formula() == "(56 - 3 + 2 x 1) / 1 + 1 = 56"


def test_nin_block_shows_its_1x1_convolutions_when_opened() -> None:
    graph = catalog_graph("nin")
    opened = graph.view("blocks", open=["0"])
    assert [n.name for n in opened.nodes][1:4] == ["conv1", "cccp1", "cccp2"]
    assert opened.find("cccp1").kernel == (1, 1)


@pytest.mark.parametrize(
    "key",
    [
        "lenet5",
        "alexnet",
        "vgg16",
        "googlenet",
        "resnet18",
        "resnet50",
        "nin",
        "googlenet_small",
        "resnet_small",
        "keras_cnn",
    ],
)
def test_totals_match_the_summary(key: str) -> None:
    spec = get_spec(key)
    graph = catalog_graph(key)
    summary = summarize(spec.build, spec.input_shape)
    assert graph.total_params == summary.total_params
    assert graph.total_macs == summary.total_macs
    for level in ("layers", "blocks"):
        view = graph.view(level)
        assert view.total_params == summary.total_params and view.total_macs == summary.total_macs


@functools.cache
def _real(key: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return get_spec(key).build().eval()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("key", "size"),
    [
        ("googlenet", 224),
        ("googlenet", 160),
        ("resnet50", 224),
        ("resnet18", 192),
        ("vgg16", 160),
        ("alexnet", 256),
    ],
)
def test_edge_shapes_equal_a_real_forward_pass(key: str, size: int) -> None:
    model = _real(key)
    graph = build_graph(model, (3, size, size), key)
    for e in graph.edges:
        assert e.shape == graph.node(e.src).out_shape
    calls: dict[str, int] = {}
    for n in graph.nodes:
        calls[n.module] = calls.get(n.module, 0) + 1
    single = [n for n in graph.nodes if n.module and n.id == n.module and calls[n.module] == 1]
    grouped = [n for n in graph.nodes if n.kind in ("concat", "add")]
    layers = list(dict.fromkeys(n.module for n in single + grouped))
    x = torch.rand(1, 3, size, size)
    captured = capture(model, x, layers)
    for n in single:
        assert tuple(captured[n.module].shape[1:]) == n.out_shape, n.name
    for n in grouped:  # the block's output has the shape of its concat / add
        assert tuple(captured[n.module].shape[1:]) == n.out_shape, n.name


def test_meta_graph_equals_real_graph_shapes() -> None:
    real = build_graph(get_spec("resnet_small").build(), (3, 32, 32), "resnet_small")
    meta = catalog_graph("resnet_small")
    assert [(e.src, e.dst, e.shape) for e in real.edges] == [
        (e.src, e.dst, e.shape) for e in meta.edges
    ]


def test_alexnet_at_32_pixels_names_the_layer_and_its_numbers() -> None:
    with pytest.raises(InputSizeError) as err:
        catalog_graph("alexnet", (3, 32, 32))
    # 32 -> conv1 (11, s4, p2) 7 -> pool1 (3, s2) 3 -> conv2 3 -> pool2 1 -> conv3..5 1 -> pool5: (1 - 3)/2 + 1 = 0
    assert str(err.value) == (
        "Layer pool5 (pooling 3x3, stride 2, padding 0) gets a 1 x 1 map and shrinks it to nothing: "
        "(N - F + 2P)/S + 1 = (1 - 3 + 2 x 0) / 2 + 1 = 0 < 1. Choose a larger input."
    )


def test_compact_dense_layer_mismatch_is_explained() -> None:
    spec = get_spec("keras_cnn")
    with pytest.raises(
        InputSizeError,
        match="Layer dense1 \\(dense\\) was built for 12,544 input features but gets",
    ):
        build_graph(spec.build, (3, 96, 96), "keras_cnn")


def test_json_export_has_nodes_edges_and_shapes() -> None:
    data = json.loads(catalog_graph("lenet5").to_json())
    assert data["input_shape"] == [1, 32, 32]
    names = [n["name"] for n in data["nodes"]]
    assert names[:4] == ["input", "C1", "relu_C1", "S2"]
    first = data["edges"][0]
    assert first == {"src": "input", "dst": "0", "shape": [1, 32, 32]}
    assert data["nodes"][1]["kernel"] == [5, 5]


def test_no_hook_survives_tracing_also_after_an_error() -> None:
    from explorer.probe.capture import hook_count

    with torch.device("meta"):
        model = get_spec("alexnet").build()
    with pytest.raises(InputSizeError):
        build_graph(model, (3, 32, 32), "alexnet")
    assert hook_count(model) == 0
    build_graph(model, (3, 224, 224), "alexnet")
    assert hook_count(model) == 0


def test_layer_table_has_readable_names_and_window_columns() -> None:
    records = summarize(get_spec("vgg16").build, (3, 224, 224), "vgg16").as_records()
    row = next(r for r in records if r["module"] == "features.28")
    assert (row["layer"], row["kernel"], row["stride"], row["padding"]) == (
        "conv5_3",
        "3",
        "1",
        "1",
    )
    assert "groups" not in row and "dilation" not in row  # all default: no column
    pool = next(r for r in records if r["layer"] == "pool5")
    assert (pool["kernel"], pool["stride"], pool["padding"], pool["output"]) == (
        "2",
        "2",
        "0",
        "512 x 7 x 7",
    )
    depthwise = torch.nn.Sequential(
        torch.nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=8), torch.nn.ReLU()
    )
    rows = summarize(depthwise, (8, 16, 16)).as_records()
    assert (rows[0]["groups"], rows[0]["dilation"], rows[1]["groups"]) == ("8", "2", "")


@pytest.mark.parametrize("key", ["vgg16", "googlenet", "resnet50", "alexnet", "nin"])
def test_receptive_fields_equal_the_tracked_ones(key: str) -> None:
    """Fields propagated along the graph equal those of the op-by-op tracker of the summary."""
    spec = get_spec(key)
    graph = catalog_graph(key)
    summary = summarize(spec.build, spec.input_shape)
    checked = 0
    calls: dict[str, int] = {}
    for n in graph.nodes:
        calls[n.module] = calls.get(n.module, 0) + 1
    for (
        n
    ) in graph.nodes:  # a module called twice (a shared ReLU) keeps its last call in the summary
        if n.module and n.id == n.module and n.module in summary.fields and calls[n.module] == 1:
            assert n.field == summary.fields[n.module], n.name
            checked += 1
    assert checked >= 10
    if key == "vgg16":
        assert graph.find("pool5").rf == "212"  # Simonyan & Zisserman: published 212
