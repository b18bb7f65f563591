"""The engine's weight sources: offline defaults (which weights, which model, which sample) and
the builders' messages; a failing check is logged rather than silently dropping an option."""

from __future__ import annotations

import logging

import pytest

from explorer.probe import sources as src


def test_a_failing_check_is_logged_not_silent(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(spec) -> bool:
        raise RuntimeError("unreadable hub folder")

    monkeypatch.setattr(src, "pretrained_available", broken)
    with caplog.at_level(logging.WARNING, logger=src.__name__):
        assert src.pretrained_cached("resnet18") is False
    assert "resnet18" in caplog.text and "unreadable hub folder" in caplog.text


@pytest.mark.parametrize(
    ("cached", "bundled", "mine", "expected"),
    [
        (True, True, True, "imagenet"),
        (False, True, True, "bundled"),
        (False, False, True, "user"),
        (False, False, False, "random"),
    ],
)
def test_best_kind_prefers_imagenet_then_bundled_then_mine(
    monkeypatch: pytest.MonkeyPatch, cached: bool, bundled: bool, mine: bool, expected: str
) -> None:
    monkeypatch.setattr(src, "pretrained_cached", lambda arch: cached)
    monkeypatch.setattr(src, "bundled_available", lambda: ["resnet18"] if bundled else [])
    assert src.best_kind("resnet18", mine) == expected


def test_default_arch_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(src, "pretrained_cached", lambda arch: False)
    monkeypatch.setattr(src, "bundled_available", lambda: ["lenet5", "vgg_small"])
    assert src.default_arch() == "vgg_small"  # the first of PREFERRED_BUNDLED that is there
    monkeypatch.setattr(src, "bundled_available", lambda: [])
    assert src.default_arch() == "resnet18"
    monkeypatch.setattr(src, "pretrained_cached", lambda arch: arch == "resnet18")
    assert src.default_arch() == "resnet18"


def test_suited_sample() -> None:
    assert src.suited_sample("lenet5", "random", None, "cat") == "digit"  # one input channel
    assert src.suited_sample("resnet18", "imagenet", None, "digit") == "cat"
    assert src.suited_sample("resnet18", "imagenet", None, "dog") is None  # a photo stays
    assert src.suited_sample("resnet_small", "random", None, "digit") is None


def test_missing_bundled_weights_is_a_message(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setattr(src, "bundled_path", lambda arch: tmp_path / f"{arch}.safetensors")
    with pytest.raises(
        src.ModelLoadError, match=r"No bundled weights for .* yet \(expected assets/weights/lenet5"
    ):
        src.bundled_version("lenet5")


def test_a_bad_upload_is_a_message() -> None:
    with pytest.raises(src.ModelLoadError, match="Upload a .safetensors file"):
        src.uploaded_model("lenet5", b"not a checkpoint")
