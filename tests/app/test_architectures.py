"""AppTest: the Architectures page's diagram, node card, links to Feature maps and URL state."""

from tests.app.conftest import open_app_page


def _open(**params: str):
    at = open_app_page("app_pages/architectures.py")
    for k, v in params.items():
        at.query_params[k] = v
    return at.run()


def _links(at) -> list[tuple[str, str, str]]:
    return [(p.proto.label, p.proto.page, p.proto.query_string) for p in at.get("page_link")]


def _order(node, out: list[str] | None = None) -> list[str]:
    """Element and block types of the main area in the order they are drawn."""
    out = [] if out is None else out
    out.append(getattr(node, "type", type(node).__name__))
    for child in getattr(node, "children", {}).values():
        _order(child, out)
    return out


def test_projector_mode_puts_the_diagram_right_after_the_folded_controls() -> None:
    at = _open(arch="nin", projector="1")
    assert not at.exception
    order = _order(at.main)
    chart, folds = order.index("plotly_chart"), [i for i, t in enumerate(order) if t == "expander"]
    assert folds[0] < chart < folds[1]  # controls folded above it; the idea card folded below it
    assert "metric" not in order  # the four numbers are one line under the diagram
    # Between the folded controls and the diagram: only what is inside the fold.
    inside = order[folds[0] : chart]
    assert set(inside) <= {
        "expander",
        "flex_container",
        "column",
        "selectbox",
        "number_input",
        "radio",
        "multiselect",
    }
    assert (
        "Network in Network" in at.expander[0].label and "(open to change)" in at.expander[0].label
    )
    fig = at.get("plotly_chart")[0]
    assert '"size":16' in fig.proto.spec.replace(" ", "")  # projector type on the labels


def test_normal_mode_draws_the_diagram_before_the_numbers_and_the_idea() -> None:
    at = _open(arch="vgg16")
    order = _order(at.main)
    assert order.index("plotly_chart") < order.index("metric")
    assert at.selectbox(key="arch_key").value == "vgg16"  # controls in sight, above the diagram


def test_picking_a_layer_shows_its_card_and_links_to_exactly_its_feature_maps() -> None:
    at = _open(arch="vgg16")
    assert not at.exception
    assert not at.get("page_link")  # nothing selected yet: no card
    at.selectbox(key="arch_layer").set_value("conv3_3").run()
    assert not at.exception
    texts = [t.value for t in at.text]
    assert "(56 - 3 + 2 x 1) / 1 + 1 = 56" in texts
    assert "3 x 3 x 256 x 256 + 256 = 590,080" in texts
    assert "3x3 / 1 / 1" in texts and "40" in texts  # k/s/p and the receptive field of conv3_3
    # conv3_3 is drawn with its ReLU folded in: Feature maps lists that output as relu3_3.
    # Offline tests have no ImageNet weights and VGG-16 has no bundled ones: random, and said so.
    assert _links(at) == [
        (
            "Feature maps of conv3_3 (shown as relu3_3)",
            "feature-maps",
            "arch=vgg16&weights=random&layer=relu3_3&view=layer",
        ),
        (
            "What it looks for: relu3_3",
            "feature-maps",
            "arch=vgg16&weights=random&view=looks&lf=channel&layer=relu3_3",
        ),
    ]
    assert any("No trained weights for VGG-16" in c.value for c in at.caption)
    assert at.query_params["layer"] == "conv3_3"
    assert at.multiselect(key="arch_open").value == ["block3"]  # its block opened in the diagram


def _follow(query: str):
    at = open_app_page("app_pages/feature_maps.py", timeout=300)
    for part in query.split("&"):
        k, v = part.split("=")
        at.query_params[k] = v
    return at.run()


def test_the_card_link_opens_that_layer_on_feature_maps_without_a_notice() -> None:
    at = _open(arch="resnet_small", layer="conv1")
    (label, page, query) = _links(at)[0]
    assert "weights=bundled" in query  # the compact ResNet ships trained weights
    fm = _follow(query)
    assert not fm.exception
    assert not fm.info  # no "settings that do not apply here"
    assert fm.query_params["layer"] == query.split("layer=")[1].split("&")[0]
    assert fm.radio(key="fm_kind").value == "bundled"


def test_a_conv_link_opens_its_maps_not_the_default_layer() -> None:
    # (conv3_1's maps are also Feature maps' default layer for VGG-16: conv4_2 tells them apart.)
    at = _open(arch="vgg16", layer="conv4_2")
    (label, _, query) = _links(at)[0]
    assert label == "Feature maps of conv4_2 (shown as relu4_2)"
    fm = _follow(query)
    assert not fm.exception and not fm.info  # every parameter applies
    assert fm.session_state["fm_layer"] == "features.20"  # conv4_2 (features.19) after its ReLU
    assert fm.radio(key="fm_kind").value == "random"  # what Architectures said it would be


def test_a_link_to_a_layer_opens_its_block_and_card() -> None:
    at = _open(arch="googlenet", layer="inception4c/3x3")
    assert not at.exception
    assert at.multiselect(key="arch_open").value == ["inception4c"]
    texts = [t.value for t in at.text]
    assert "(14 - 3 + 2 x 1) / 1 + 1 = 14" in texts
    assert (
        "3 x 3 x 128 x 256 = 294,912 (+ 512 of the folded batch norm)" in texts
    )  # no conv bias: BN follows
    # Feature maps lists GoogLeNet's Inception modules, not the layers inside them.
    labels = [label for label, _, _ in _links(at)]
    assert labels == [
        "Feature maps of inception4c/3x3 (shown as inception4c)",
        "What it looks for: inception4c",
    ]


def test_a_block_card_links_to_the_block() -> None:
    at = _open(arch="resnet18", layer="stage2.block2")
    assert not at.exception
    assert at.markdown and any("stage 2, block 2" in m.value for m in at.markdown)
    assert _links(at) == [
        (
            "Feature maps of stage 2, block 2",
            "feature-maps",
            "arch=resnet18&weights=random&layer=stage2.block2&view=layer",
        ),
        (
            "What it looks for: stage 2, block 2",
            "feature-maps",
            "arch=resnet18&weights=random&view=looks&lf=channel&layer=stage2.block2",
        ),
    ]


def test_bad_url_values_fall_back_with_one_notice() -> None:
    at = _open(arch="resnet1000", layer="<b>x</b>", side="vgg16,nope")
    assert not at.exception
    assert at.selectbox(key="arch_key").value == "resnet18"
    notice = at.info[0].value
    assert (
        len(at.info) == 1
        and "arch=resnet1000" in notice
        and "layer=" in notice
        and "side=" in notice
    )
    assert "<b>" not in notice  # shown escaped, never as HTML
    assert at.multiselect(key="arch_side").value == [
        "lenet5",
        "alexnet",
        "vgg16",
        "googlenet",
        "resnet50",
    ]


def test_alexnet_at_32_pixels_names_the_layer() -> None:
    at = _open(arch="alexnet")
    at.number_input(key="arch_size_alexnet").set_value(32).run()
    assert not at.exception
    assert len(at.error) == 1
    assert at.error[0].value.startswith("AlexNet cannot take a 3 x 32 x 32 input. Layer pool5")
    assert "(1 - 3 + 2 x 0) / 2 + 1 = 0 < 1" in at.error[0].value


def test_layer_table_has_paper_names_paths_and_windows() -> None:
    at = _open(arch="resnet18")
    table = at.dataframe[0].value.set_index("layer")
    assert table.loc["stage 2, block 1 / conv1", "module"] == "layer2.0.conv1"
    at = _open(arch="vgg16")
    table = at.dataframe[0].value.set_index("layer")
    assert table.loc["conv5_3", "module"] == "features.28"
    assert (
        table.loc["conv5_3", "kernel"],
        table.loc["conv5_3", "stride"],
        table.loc["conv5_3", "padding"],
    ) == (
        "3",
        "1",
        "1",
    )


def test_levels_and_colour_are_in_the_url() -> None:
    at = _open(arch="resnet50", level="layers", colour="MACs")
    assert not at.exception
    assert at.radio(key="arch_level").value == "Layers"
    assert at.selectbox(key="arch_colour").value == "MACs"


def test_the_side_by_side_set_round_trips_through_the_url() -> None:
    at = _open(arch="lenet5")
    assert "side" not in at.query_params  # the default five stay out of links
    at.multiselect(key="arch_side").set_value(["vgg16", "resnet18", "googlenet"]).run()
    assert not at.exception
    assert at.query_params["side"] == "vgg16,resnet18,googlenet"
    fresh = _open(arch="lenet5", side=at.query_params["side"])  # the link, opened in a new session
    assert not fresh.exception and not fresh.info
    assert fresh.multiselect(key="arch_side").value == ["vgg16", "resnet18", "googlenet"]
    titles = [a["text"] for a in _side_annotations(fresh)]
    assert titles == ["VGG-16<br>16 layers", "ResNet-18<br>18 layers", "GoogLeNet<br>22 layers"]


def _side_annotations(at) -> list[dict]:
    import json

    chart = next(c for c in at.get("plotly_chart") if c.proto.id and "arch_side_fig" in c.proto.id)
    return json.loads(chart.proto.spec)["layout"]["annotations"]


def test_a_compact_model_at_another_input_is_measured_once_from_the_cache(monkeypatch) -> None:
    """Issue 23: the compact entries at a non-default input were summarised outside the cache,
    again on every rerun (each click on the diagram). Now the page asks the cached table."""
    import streamlit as st

    import explorer.probe as probe

    calls: list[tuple] = []
    real = probe.summarize

    def counting(build, input_shape, *args, **kwargs):
        calls.append(tuple(input_shape))
        return real(build, input_shape, *args, **kwargs)

    monkeypatch.setattr(probe, "summarize", counting)
    st.cache_data.clear()
    at = _open(arch="vgg_small")
    at.radio(key="arch_input_vgg_small").set_value("28 x 28 grey").run()
    at.run()
    at.run()
    assert not at.exception
    assert calls.count((1, 28, 28)) == 1, calls
    first = at.dataframe[0].value.iloc[0]
    assert (first["layer"], first["output"], first["params"]) == (
        "conv1_1",
        "32 x 28 x 28",
        32 * 9 + 32,
    )  # one channel in
