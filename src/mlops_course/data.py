"""The course's bundled data sets, split the same way everywhere (no downloads).

The digits images feed the CNN in ``notebooks/05_train_and_export.ipynb`` and every model built
from it; the diabetes table feeds the scikit-learn regressor exported in the same lesson. The
model cards, the tests and the benchmarks call these functions, so "the test split" means one
thing across the course.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.datasets import load_diabetes, load_digits
from sklearn.model_selection import train_test_split

#: load_digits pixels are integers 0..16; the model sees them divided by 16.
DIGITS_PIXEL_MAX = 16.0
DIGITS_SHAPE = (8, 8, 1)
DIGITS_LABELS = tuple(str(d) for d in range(10))
DEFAULT_TEST_SIZE = 0.25
DEFAULT_SEED = 0


@dataclass(frozen=True)
class Split:
    """A train/test split: features ``x_*`` and targets ``y_*``, plus what describes them."""

    x_train: np.ndarray
    x_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    feature_names: tuple[str, ...]
    test_size: float
    seed: int


def preprocess_digits(pixels: np.ndarray) -> np.ndarray:
    """Raw digits pixels (0..16, shape (n, 64) or (n, 8, 8)) → NHWC float32 in [0, 1].

    Introduced in notebooks/05_train_and_export.ipynb; the model card records this recipe.
    """
    pixels = np.asarray(pixels, dtype=np.float32)
    if pixels.size % 64:
        raise ValueError(f"digits images have 64 pixels each; got an array of shape {pixels.shape}")
    return (pixels / DIGITS_PIXEL_MAX).reshape(-1, *DIGITS_SHAPE)


def load_digits_split(test_size: float = DEFAULT_TEST_SIZE, seed: int = DEFAULT_SEED) -> Split:
    """scikit-learn's 8×8 digits as NHWC float32 in [0, 1], with a seeded stratified split.

    Introduced in notebooks/05_train_and_export.ipynb. Labels are int64 digits 0–9.
    """
    digits = load_digits()
    x = preprocess_digits(digits.data)
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_size, random_state=seed, stratify=y
    )
    names = tuple(f"pixel_{r}_{c}" for r in range(8) for c in range(8))
    return Split(x_train, x_test, y_train, y_test, names, test_size, seed)


def load_diabetes_split(test_size: float = DEFAULT_TEST_SIZE, seed: int = DEFAULT_SEED) -> Split:
    """scikit-learn's diabetes table in its original units (age in years, BMI, ...), float32.

    Introduced in notebooks/05_train_and_export.ipynb. ``scaled=False`` keeps real units, so
    a client sends what it measures and the exported pipeline does the scaling it learned.
    """
    table = load_diabetes(scaled=False)
    x = table.data.astype(np.float32)
    y = table.target.astype(np.float32)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_size, random_state=seed
    )
    return Split(x_train, x_test, y_train, y_test, tuple(table.feature_names), test_size, seed)
