"""Settings validation messages and the per-(model, dataset) defaults table."""

from __future__ import annotations

import pytest

from explorer.models import get_spec
from explorer.training.settings import (
    TRAINABLE_MODELS,
    SettingsError,
    TrainSettings,
    datasets_for,
    default_settings,
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
        ({"lr": float("nan")}, "The learning rate must be a number above 0 and at most 10 (got nan)."),
        ({"batch_size": 0}, "The batch size must be a whole number from 1 to 4096 (got 0)."),
        ({"epochs": 0}, "The number of epochs must be a whole number from 1 to 200 (got 0)."),
        ({"optimizer": "rmsprop"}, "Unknown optimiser 'rmsprop': choose one of sgd, adam, adamw."),
        ({"schedule": "step"}, "Unknown schedule 'step': choose one of constant, cosine, onecycle."),
        ({"weight_decay": -1.0}, "Weight decay must lie between 0 and 1 (got -1.0)."),
        ({"dataset": "shapes"}, "keras_cnn cannot train on shapes: it works with circles_squares."),
        ({"batch_size": 512, "train_samples": 100},
         "The batch size (512) is larger than the training set (100 images): lower it."),
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
