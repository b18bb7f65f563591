"""Settings validation messages, and the defaults from the catalog's training recipes."""

from __future__ import annotations

from dataclasses import fields

import pytest
import torch

from explorer.data.datasets import DATASETS
from explorer.models import get_spec
from explorer.models.catalog import catalog
from explorer.training.settings import (
    CHECKS,
    TRAINABLE_MODELS,
    SettingsError,
    TrainSettings,
    datasets_for,
    default_settings,
    recipe_for,
)


def test_page_default_is_the_course_keras_cnn_on_its_binary_task():
    s = TrainSettings()
    assert (s.model, s.dataset) == ("keras_cnn", "circles_squares")
    assert s.errors() == []
    assert default_settings() == s


@pytest.mark.parametrize("model", TRAINABLE_MODELS)
def test_every_model_and_dataset_has_valid_defaults(model):
    assert get_spec(model).compact
    for dataset in datasets_for(model):
        s = default_settings(model, dataset)
        assert s.errors() == [], (model, dataset)
        assert (s.model, s.dataset) == (model, dataset)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"lr": 0.0}, "The learning rate must be a number above 0 and at most 10 (got 0.0)."),
        (
            {"lr": float("nan")},
            "The learning rate must be a number above 0 and at most 10 (got nan).",
        ),
        ({"batch_size": 0}, "The batch size must be a whole number from 1 to 4096 (got 0)."),
        ({"epochs": 0}, "The number of epochs must be a whole number from 1 to 200 (got 0)."),
        ({"optimizer": "rmsprop"}, "Unknown optimiser 'rmsprop': choose one of sgd, adam, adamw."),
        (
            {"schedule": "step"},
            "Unknown schedule 'step': choose one of constant, cosine, onecycle.",
        ),
        ({"weight_decay": -1.0}, "Weight decay must lie between 0 and 1 (got -1.0)."),
        ({"dataset": "shapes"}, "keras_cnn cannot train on shapes: it works with circles_squares."),
        (
            {"batch_size": 512, "train_samples": 100},
            "The batch size (512) is larger than the training set (100 images): lower it.",
        ),
    ],
)
def test_invalid_settings_have_exact_messages(changes, message):
    s = TrainSettings(**changes)
    assert message in s.errors()
    with pytest.raises(SettingsError, match="lower it|must|Unknown|cannot"):
        s.check()


def test_round_trip_through_dict_ignores_unknown_keys():
    s = default_settings("lenet5", "digits", seed=3)
    assert TrainSettings.from_dict({**s.to_dict(), "future_option": 1}) == s


def test_every_compact_cnn_of_the_catalog_has_a_recipe_and_is_offered():
    assert set(TRAINABLE_MODELS) == {s.key for s in catalog(kind="cnn", compact=True)}
    assert all(s.recipe is None for s in catalog() if s.key not in TRAINABLE_MODELS)
    with pytest.raises(SettingsError, match="Unknown model 'resnet18'"):
        recipe_for("resnet18")


@pytest.mark.parametrize("model", TRAINABLE_MODELS)
def test_every_recipe_names_real_settings_and_datasets_the_model_builds_for(model):
    """The registry test: a recipe's datasets exist, suit the model's task, and the model built
    for each of them maps a batch of its images to the right number of outputs."""
    spec, recipe = get_spec(model), recipe_for(model)
    known = {f.name for f in fields(TrainSettings)}
    assert recipe.dataset == recipe.datasets[0] == default_settings(model).dataset
    assert set(recipe.per_dataset) <= set(recipe.datasets)
    assert all(set(changes) <= known for changes in recipe.per_dataset.values())
    for key in recipe.datasets:
        info = DATASETS[key]
        assert info.offline and info.task == spec.task, (model, key)
        c, h, _ = info.input_shape
        outputs = 1 if info.task == "binary" else len(info.classes)
        net = spec.build(in_channels=c, num_classes=outputs, image_size=h).eval()
        with torch.no_grad():
            assert net(torch.zeros(2, *info.input_shape)).shape == (2, outputs)


def test_checks_are_small_functions_that_pass_valid_settings():
    s = default_settings("lenet5", "digits")
    assert len(CHECKS) >= 15 and all(check(s) is None for check in CHECKS)
