"""Train the course's models: the digits CNN (Keras) and the diabetes regressor (scikit-learn).

Training is seeded and TensorFlow's op determinism is on, so one machine repeats itself; another
CPU or core count trains different weights. So ``make model`` trains the network once and keeps
it (:func:`save_keras`), and later lessons load it
(:func:`mlops_course.model_repository.load_keras`). TensorFlow and scikit-learn are imported
only by the functions that need them.

Introduced in notebooks/05_train_and_export.ipynb.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlops_course.convert import INPUT_NAME, OUTPUT_NAME
from mlops_course.data import DIGITS_LABELS, DIGITS_SHAPE, Split
from mlops_course.runtime import import_tensorflow

DEFAULT_EPOCHS = 20
BATCH_SIZE = 32
VALIDATION_SPLIT = 0.15


def build_digits_cnn(conv: tuple[int, int] = (32, 64), dense: int = 128):
    """The course CNN: two 3×3 convolutions, 2×2 max-pool, a dense layer, softmax over 10 digits.

    Introduced in notebooks/05_train_and_export.ipynb. About 151k parameters with the defaults,
    so weights dominate the exported file and quantization's size saving is visible.
    """
    tf = import_tensorflow()
    layers = tf.keras.layers
    return tf.keras.Sequential(
        [
            tf.keras.Input(shape=DIGITS_SHAPE, name=INPUT_NAME),
            layers.Conv2D(conv[0], 3, padding="same", activation="relu", name="conv1"),
            layers.Conv2D(conv[1], 3, padding="same", activation="relu", name="conv2"),
            layers.MaxPooling2D(2, name="pool"),
            layers.Flatten(name="flatten"),
            layers.Dense(dense, activation="relu", name="dense"),
            layers.Dropout(0.2, name="dropout"),
            layers.Dense(len(DIGITS_LABELS), activation="softmax", name=OUTPUT_NAME),
        ],
        name="digits_cnn",
    )


def train_digits_cnn(
    split: Split, seed: int = 0, epochs: int = DEFAULT_EPOCHS, verbose: int = 0
) -> tuple[Any, dict[str, list[float]]]:
    """Train the CNN reproducibly; return ``(model, history)`` (per-epoch loss and accuracy).

    Introduced in notebooks/05_train_and_export.ipynb. Seeds Python, NumPy and TensorFlow with
    ``seed`` and turns on op determinism, so the same seed gives the same weights on one machine;
    another CPU or core count gives others (``make model`` keeps one result).
    The last 15% of the training split is held out for the validation curve.
    """
    tf = import_tensorflow()
    tf.keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    model = build_digits_cnn()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(
        split.x_train,
        split.y_train,
        epochs=epochs,
        batch_size=BATCH_SIZE,
        validation_split=VALIDATION_SPLIT,
        verbose=verbose,
    )
    return model, {k: [float(v) for v in vs] for k, vs in history.history.items()}


def save_keras(model: Any, path: str | Path) -> Path:
    """Save the trained network as a ``.keras`` file without its optimizer state (a third of
    the size; nothing later trains it further). Introduced in notebooks/05_train_and_export.ipynb.
    """
    uncompiled = type(model).from_config(model.get_config())  # same layers, no compile config
    uncompiled.set_weights(model.get_weights())
    uncompiled.save(path)
    return Path(path)


def train_diabetes_regressor(split: Split, alpha: float = 1.0):
    """A scikit-learn pipeline: StandardScaler (fitted once, on training data) → Ridge.

    Introduced in notebooks/05_train_and_export.ipynb. A typical tutorial's server refits a
    scaler on every request's payload (``StandardScaler().fit(payload)`` inside ``predict``);
    exporting the fitted scaler with the model is the fix.
    """
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), Ridge(alpha=alpha)).fit(split.x_train, split.y_train)
