"""Diagram layout and drawings: positions, clickable ids, colours, SVG/PNG export."""

import io
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from explorer.models import catalog
from explorer.probe.graph import catalog_graph
from explorer.viz.diagram import figure, layout, measure, side_by_side, to_png, to_svg


def test_inception_branches_side_by_side_and_concat_centred() -> None:
    view = catalog_graph("googlenet").view("blocks", open=["inception3a"])
    lay = layout(view)
    heads = [e.dst for e in view.outputs("maxpool2")]
    rows = {lay.pos[h][1] for h in heads}
    assert len(rows) == 1  # the four branches start in one row
    xs = sorted(lay.pos[h][0] for h in heads)
    assert all(b - a >= 1.0 for a, b in zip(xs, xs[1:], strict=False))
    concat = view.find("inception3a/concat")
    assert abs(lay.pos[concat.id][0] - lay.pos["maxpool2"][0]) < 1e-9
    assert len(set(lay.pos.values())) == len(lay.pos)  # no two nodes on one spot


def test_identity_shortcut_bypasses_the_block_on_the_left() -> None:
    view = catalog_graph("resnet18").view("blocks", open=["layer1.1"])
    lay = layout(view)
    add = view.find("stage1.block2/add").id
    i = next(i for i, e in enumerate(view.edges) if e.dst == add and e.src == "layer1.0")
    route = lay.routes[i]
    assert len(route) == 4 and route[1][0] < lay.pos[add][0]


def test_figure_points_carry_node_ids_and_highlight_the_selection() -> None:
    view = catalog_graph("vgg16").view("layers")
    fig = figure(view, colour_by="parameters", selected="features.28")
    ids = [c for t in fig.data if t.customdata is not None for c in t.customdata]
    assert sorted(ids) == sorted(n.id for n in view.nodes)
    trace = next(t for t in fig.data if t.customdata is not None and "features.28" in t.customdata)
    i = list(trace.customdata).index("features.28")
    assert trace.marker.line.width[i] > trace.marker.line.width[0 if i else 1]
    assert any(t.marker.colorbar.title.text == "parameters" for t in fig.data if t.marker.showscale)


def test_resnet50_collapsed_fits_a_720_pixel_screen() -> None:
    # 720 minus the bars
    assert figure(catalog_graph("resnet50").view("blocks")).layout.height <= 620
    # On a projector the 16-pixel labels need more room: the blocks wrap into columns instead.
    fig = figure(catalog_graph("resnet50").view("blocks"), font=16, max_width=1100, max_height=300)
    assert (
        fig.layout.height - fig.layout.margin.t - fig.layout.margin.b <= 300
        and fig.layout.width <= 1100
    )


def test_measures() -> None:
    conv = catalog_graph("lenet5").find("C1")
    assert measure(conv, "output size") == 6 * 28 * 28
    assert measure(conv, "parameters") == 5 * 5 * 1 * 6 + 6
    assert measure(conv, "MACs") == 6 * 28 * 28 * 5 * 5


def test_side_by_side_titles() -> None:
    fig = side_by_side({"LeNet-5": catalog_graph("lenet5"), "ResNet-18": catalog_graph("resnet18")})
    assert [a.text for a in fig.layout.annotations] == [
        "LeNet-5<br>5 layers",
        "ResNet-18<br>18 layers",
    ]


def test_svg_is_standalone_xml_with_a_label_per_node() -> None:
    view = catalog_graph("googlenet").view("blocks")
    svg = to_svg(view)
    root = ET.fromstring(svg)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert len(texts) == len(view.nodes)
    assert any(t.startswith("inception3a") for t in texts)
    assert "http" not in svg.replace("http://www.w3.org/2000/svg", "")  # nothing fetched


def test_png_decodes() -> None:
    data = to_png(catalog_graph("lenet5").view("blocks"))
    img = Image.open(io.BytesIO(data))
    assert img.format == "PNG" and img.size[1] > 200


@pytest.mark.parametrize("key", [s.key for s in catalog(kind="cnn")])
def test_every_catalog_cnn_draws_at_every_level(key: str) -> None:
    graph = catalog_graph(key)
    for level in ("blocks", "layers", "ops"):
        view = graph.view(level)
        lay = layout(view)
        assert len(set(lay.pos.values())) == len(lay.pos), (key, level)
        fig = figure(view)
        assert sum(len(t.customdata) for t in fig.data if t.customdata is not None) == len(
            view.nodes
        )


def test_svg_draws_the_residual_shortcuts_too() -> None:
    svg = to_svg(catalog_graph("resnet18").view("blocks"))
    paths = ET.fromstring(svg).findall("{http://www.w3.org/2000/svg}path")
    assert len(paths) == 8  # one per residual block
    # the 1x1 projections of stages 2-4
    assert sum(1 for p in paths if p.get("stroke-dasharray")) == 3
