"""mlops_course.data: the digits and diabetes splits every model is trained on."""

from __future__ import annotations

import numpy as np
import pytest

from mlops_course.data import load_diabetes_split, load_digits_split, preprocess_digits


def test_digits_split_is_nhwc_float32_in_unit_range_and_stratified():
    split = load_digits_split()
    assert split.x_train.shape == (1347, 8, 8, 1) and split.x_test.shape == (450, 8, 8, 1)
    assert split.x_train.dtype == np.float32
    assert split.x_train.min() == 0.0 and split.x_train.max() == 1.0
    train_share = np.bincount(split.y_train) / len(split.y_train)
    test_share = np.bincount(split.y_test) / len(split.y_test)
    assert np.abs(train_share - test_share).max() < 0.01
    again = load_digits_split()
    np.testing.assert_array_equal(split.x_test, again.x_test)
    assert not np.array_equal(split.y_test, load_digits_split(seed=1).y_test)


def test_preprocess_digits_rejects_images_of_the_wrong_size():
    with pytest.raises(ValueError, match="64 pixels"):
        preprocess_digits(np.zeros((2, 63)))


def test_diabetes_split_keeps_original_units():
    split = load_diabetes_split()
    assert split.feature_names[:3] == ("age", "sex", "bmi")
    assert split.x_train[:, 0].max() > 50  # age in years, not the scaled version
