"""The course's Keras CNN as the course writes it, its PyTorch twin row for row (line n = line
n), and the same network in today's Keras 3 style: the texts of the code panel for ``keras_cnn``.

The twin's model lines run as printed (:func:`keras_twin_model` executes them), so a test can
hold them against the catalog's model weight for weight.
"""

from __future__ import annotations

from torch import nn

# (Keras line, PyTorch line): the course's code exactly as the course writes it (its imports,
# Sequential() and .add(...), epochs=10, batch_size=32, predict), and its twin, row for row.
KERAS_PAIRS: tuple[tuple[str, str], ...] = (
    ("from keras.models import Sequential", "import torch"),
    ("from keras.layers import Conv2D, MaxPooling2D, Flatten, Dense", "from torch import nn"),
    ("", ""),
    ("model = Sequential()", "model = nn.Sequential()  # input: N x 3 x 64 x 64 (channels first)"),
    (
        "model.add(Conv2D(32, (3,3), activation='relu', input_shape=(64,64,3)))",
        "model.append(nn.Conv2d(3, 32, 3)).append(nn.ReLU())  # -> 32 x 62 x 62",
    ),
    (
        "model.add(MaxPooling2D(pool_size=(2,2)))",
        "model.append(nn.MaxPool2d(2))  # -> 32 x 31 x 31",
    ),
    (
        "model.add(Conv2D(64, (3,3), activation='relu'))",
        "model.append(nn.Conv2d(32, 64, 3)).append(nn.ReLU())  # -> 64 x 29 x 29",
    ),
    (
        "model.add(MaxPooling2D(pool_size=(2,2)))",
        "model.append(nn.MaxPool2d(2))  # -> 64 x 14 x 14",
    ),
    ("model.add(Flatten())", "model.append(nn.Flatten())  # -> 12544"),
    (
        "model.add(Dense(128, activation='relu'))",
        "model.append(nn.Linear(64 * 14 * 14, 128)).append(nn.ReLU())",
    ),
    (
        "model.add(Dense(1, activation='sigmoid'))",
        "model.append(nn.Linear(128, 1))  # a logit: the sigmoid is in the loss",
    ),
    (
        "model.compile(optimizer='adam', loss='binary_crossentropy', metrics=['accuracy'])",
        "optimizer, loss_fn = torch.optim.Adam(model.parameters(), lr=1e-3), nn.BCEWithLogitsLoss()",
    ),
    (
        "model.fit(X_train, y_train, epochs=10, batch_size=32)",
        "for epoch in range(10):  # train_loader: (X_train, y_train) in batches of 32, shuffled",
    ),
    ("", "    for x, y in train_loader:"),
    ("", "        loss = loss_fn(model(x).squeeze(1), y.float())"),
    ("", "        optimizer.zero_grad()"),
    ("", "        loss.backward()"),
    ("", "        optimizer.step()"),
    (
        "pred = model.predict(X_test)",
        "pred = torch.sigmoid(model(X_test))  # probabilities, as Keras' predict",
    ),
)

# The same network in today's Keras 3 style (keras.Input instead of input_shape on the first
# layer, which Keras 3 warns about). Shown after the course's code, labelled as not the course's.
KERAS_MODERN = """import keras
from keras import layers

model = keras.Sequential([
    keras.Input(shape=(64, 64, 3)),
    layers.Conv2D(32, (3, 3), activation="relu"),
    layers.MaxPooling2D(pool_size=(2, 2)),
    layers.Conv2D(64, (3, 3), activation="relu"),
    layers.MaxPooling2D(pool_size=(2, 2)),
    layers.Flatten(),
    layers.Dense(128, activation="relu"),
    layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.fit(X_train, y_train, epochs=10, batch_size=32)
pred = model.predict(X_test)
"""


def keras_code() -> str:
    """The course's Keras CNN, line for line as the course writes it (no filler rows: the
    training loop's extra PyTorch lines have no Keras line)."""
    return "\n".join(k for k, p in KERAS_PAIRS if k or not p).strip("\n") + "\n"


def keras_modern_code() -> str:
    """The same model, compiled and trained the same way, in today's Keras 3 style (not the course's text)."""
    return KERAS_MODERN


def keras_twin_code() -> str:
    """Its PyTorch twin, line for line (the model part runs as printed; the loop needs a loader)."""
    return "\n".join(p for _, p in KERAS_PAIRS).strip("\n") + "\n"


def keras_twin_model() -> nn.Module:
    """The twin's ``model``, built by executing the printed lines (what a reader would run)."""
    lines = [p for _, p in KERAS_PAIRS]
    end = (
        next(i for i, (k, _) in enumerate(KERAS_PAIRS) if "sigmoid" in k) + 1
    )  # up to the last layer
    namespace: dict[str, object] = {}
    exec("\n".join(lines[:end]), namespace)
    model = namespace["model"]
    assert isinstance(model, nn.Module)
    return model
