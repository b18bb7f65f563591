"""Caps that protect a class: the per-job memory estimate (meta device) and its messages."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from explorer.training.limits import memory_problems, model_step_memory, step_memory
from explorer.training.settings import default_settings


def test_the_estimate_counts_weights_optimiser_state_and_every_layer_output():
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 8, 3)
    )
    est = step_memory(model, (1, 8, 8), optimizer="adam")
    params = 4 * 1 * 9 + 4 + 256 * 3 + 3
    assert est.parameters == params
    assert est.fixed_bytes == 4 * params * (1 + 1 + 2)  # weights, gradients, Adam's two moments
    outputs = 4 * 64 + 4 * 64 + 256 + 3  # conv, relu, flatten, linear (per image)
    assert est.per_image_bytes == 4 * 2 * (outputs + 64)  # + the input, x2 for backward
    assert step_memory(model, (1, 8, 8), optimizer="sgd").fixed_bytes == 4 * params * 3
    assert est.largest_batch(est.fixed_bytes + 10 * est.per_image_bytes + 1) == 10


def test_the_estimate_allocates_nothing_and_matches_the_real_model():
    est = model_step_memory("keras_cnn", "circles_squares")
    from explorer.models import get_spec

    real = get_spec("keras_cnn").build(in_channels=3, num_classes=1, image_size=64)
    assert est.parameters == sum(p.numel() for p in real.parameters())
    assert not any(p.is_meta for p in real.parameters())


def test_a_batch_too_big_for_the_memory_limit_is_refused_with_the_largest_allowed(monkeypatch):
    monkeypatch.delenv("EXPLORER_JOB_MEMORY_MB", raising=False)
    s = default_settings("keras_cnn", batch_size=4096, train_samples=8000)
    est = model_step_memory("keras_cnn", "circles_squares", "adam")
    largest = est.largest_batch(2048 * 2**20)
    assert 64 <= largest < 4096
    assert s.errors() == [
        f"A batch of 4096 needs about {est.total(4096) / 2**20:,.0f} MB per training step "
        f"({est.per_image_bytes / 2**20:.2f} MB per image), above the per-job memory limit of 2,048 MB "
        f"(EXPLORER_JOB_MEMORY_MB): the largest batch size allowed is {largest}."
    ]
    assert default_settings("keras_cnn", batch_size=largest, train_samples=8000).errors() == []
    assert default_settings("keras_cnn", batch_size=largest + 1, train_samples=8000).errors() != []


def test_the_limit_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("EXPLORER_JOB_MEMORY_MB", "16")
    problems = memory_problems("keras_cnn", "circles_squares", "adam", 32, 2000)
    assert len(problems) == 1 and "choose a smaller model" in problems[0]
    assert "per-job memory limit of 16 MB (EXPLORER_JOB_MEMORY_MB)" in problems[0]


@pytest.mark.parametrize(
    "model", ["keras_cnn", "lenet5", "googlenet_small", "resnet_small", "residual_deep"]
)
def test_every_default_setting_fits_the_default_limit(model, monkeypatch):
    monkeypatch.delenv("EXPLORER_JOB_MEMORY_MB", raising=False)
    assert default_settings(model).errors() == []


def test_a_real_step_stays_under_the_estimate():
    """The estimate is generous: one real step's activations take less than it says."""
    from explorer.models import get_spec

    torch.manual_seed(0)
    model = get_spec("lenet5").build(in_channels=1, num_classes=10, image_size=28)
    est = step_memory(model, (1, 28, 28), optimizer="adam")
    saved: list[int] = []

    def pack(t: torch.Tensor) -> torch.Tensor:
        saved.append(t.numel() * t.element_size())
        return t

    x = torch.rand(32, 1, 28, 28)  # 32 x 1 x 28 x 28
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = model(x).logsumexp(1).mean()
    loss.backward()
    assert sum(saved) < 32 * est.per_image_bytes + est.fixed_bytes


def test_a_limit_that_is_not_a_number_falls_back_with_a_log_message(monkeypatch, caplog):
    import logging

    from explorer.training.limits import DEFAULT_MEMORY_MB, memory_limit_mb

    monkeypatch.setenv("EXPLORER_JOB_MEMORY_MB", "lots")
    with caplog.at_level(logging.WARNING, logger="explorer.training.limits"):
        assert memory_limit_mb() == DEFAULT_MEMORY_MB
    assert "EXPLORER_JOB_MEMORY_MB='lots' is not a number: using 2048 MB" in caplog.text
