"""The Training page's settings in links: which widget keys travel in the URL, under which names,
and what each accepts. The bounds are the engine's own (``explorer.training.settings.allowed``),
so a link and a run agree on every field; tests/explorer/ui/test_training_url.py holds them equal."""

from __future__ import annotations

from typing import Any

from explorer.training.settings import allowed

# widget key -> TrainSettings field
FIELDS = {
    "tr_optimizer": "optimizer",
    "tr_lr": "lr",
    "tr_bs": "batch_size",
    "tr_epochs": "epochs",
    "tr_wd": "weight_decay",
    "tr_momentum": "momentum",
    "tr_schedule": "schedule",
    "tr_augment": "augment",
    "tr_seed": "seed",
    "tr_device": "device",
    "tr_bf16": "bf16",
    "tr_train": "train_samples",
    "tr_val": "val_samples",
    "tr_difficulty": "difficulty",
    "tr_download": "download",
}


def _valid(key: str) -> Any:
    return allowed(FIELDS[key])


# The run's recipe in the URL (explorer/ui/state.py): widget key -> (URL name, what it accepts).
# Device, bf16 and downloads are this machine's business and stay out of links.
URL_FIELDS = {
    "tr_optimizer": ("optimizer", _valid("tr_optimizer")),
    "tr_schedule": ("schedule", _valid("tr_schedule")),
    "tr_lr": ("lr", _valid("tr_lr")),
    "tr_bs": ("batch", _valid("tr_bs")),
    "tr_epochs": ("epochs", _valid("tr_epochs")),
    "tr_wd": ("wd", _valid("tr_wd")),
    "tr_momentum": ("momentum", _valid("tr_momentum")),
    "tr_train": ("train", _valid("tr_train")),
    "tr_val": ("val", _valid("tr_val")),
    "tr_seed": ("seed", _valid("tr_seed")),
    "tr_augment": ("augment", _valid("tr_augment")),
    "tr_difficulty": ("difficulty", _valid("tr_difficulty")),
}
