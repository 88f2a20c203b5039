"""Uploaded pictures become the model's input exactly (serving/images.py)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from serving_helpers import digit_png
from sklearn.datasets import load_digits

from mlops_course.serving.images import digit_pixels


def test_digit_pixels_invert_the_rendering_exactly():
    raw = load_digits().data[:10]
    for pixels in raw:
        picture = Image.open(io.BytesIO(digit_png(pixels)))
        np.testing.assert_allclose(digit_pixels(picture), pixels.reshape(8, 8) / 16, atol=1 / 255)
    white_ink = Image.fromarray(
        np.kron(np.round(raw[0] * 255 / 16).reshape(8, 8), np.ones((4, 4))).astype("u1")
    )
    np.testing.assert_allclose(digit_pixels(white_ink), raw[0].reshape(8, 8) / 16, atol=1 / 255)
