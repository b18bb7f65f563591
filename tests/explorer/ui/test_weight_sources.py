"""Weight sources: one process-wide copy per (arch, weights), whoever asks and however (a
download click included), all shared models under one budget (the builders and the offline
defaults are tested in tests/explorer/probe/test_sources.py)."""

from __future__ import annotations

import pytest
from torch import nn

from explorer.probe import sources as src
from explorer.ui import weight_sources as ws


@pytest.fixture(autouse=True)
def _empty_cache():
    ws._shared_model.clear()
    yield
    ws._shared_model.clear()


def test_imagenet_weights_load_once_whatever_the_download_flag(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loads: list[tuple[str, bool]] = []

    def fake_pretrained(spec, *, download: bool = False) -> nn.Module:
        loads.append((spec.key, download))
        return nn.Conv2d(3, 2, 3)

    monkeypatch.setattr(src, "load_pretrained", fake_pretrained)
    first = ws.model_with_weights("resnet18", "imagenet", download=True)  # after the download click
    again = ws.model_with_weights(
        "resnet18", "imagenet"
    )  # every later rerun, and every other caller
    assert again is first and loads == [("resnet18", True)]
    assert first.token == "resnet18|imagenet|ResNet18_Weights.IMAGENET1K_V1"


def test_all_shared_models_fit_one_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []

    def fake_random(arch: str) -> str:
        built.append(arch)
        return f"model of {arch}"

    monkeypatch.setattr(src, "random_model", fake_random)
    archs = ["lenet5", "resnet_small", "vgg_small", "alexnet_small", "nin_small"]
    assert len(archs) == ws.SHARED_MODEL_BUDGET + 1
    for arch in archs:
        ws.model_with_weights(arch, "random")
    ws.model_with_weights(archs[-1], "random")  # still kept: not built again
    assert built == archs
    ws.model_with_weights(archs[0], "random")  # the oldest was dropped to stay within the budget
    assert built == [*archs, archs[0]]


def test_unknown_source_is_a_message() -> None:
    with pytest.raises(ws.ModelLoadError, match="Unknown weight source 'nope'"):
        ws.model_with_weights("lenet5", "nope")
