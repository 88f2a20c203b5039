"""The bad requests of lesson 07 are what their names say; the server refuses each with a 4xx."""

import io
import struct
import zlib

import numpy as np
import pytest
from paths import ROOT
from PIL import Image

from mlops_course.bad_requests import bad_requests, bomb_png, digit_png
from mlops_course.serving import create_app


def test_digit_png_is_dark_ink_on_white():
    image = Image.open(io.BytesIO(digit_png(np.r_[np.full(32, 16.0), np.zeros(32)])))
    pixels = np.asarray(image)
    assert image.size == (64, 64) and pixels[0, 0] == 0 and pixels[-1, -1] == 255


def test_digit_png_refuses_a_wrong_size():
    with pytest.raises(ValueError, match="64 pixels"):
        digit_png(np.zeros(10))


def test_bomb_declares_a_huge_image_in_a_few_bytes():
    data = bomb_png()
    assert len(data) < 200
    assert struct.unpack(">II", data[16:24]) == (100_000, 100_000)
    assert zlib.crc32(data[12:29]) == struct.unpack(">I", data[29:33])[0]  # a valid header


def test_every_bad_request_gets_a_4xx_from_the_server():
    app = create_app(ROOT / "models")
    client = app.test_client()
    instance = np.zeros((8, 8, 1)).tolist()
    for name, kwargs in bad_requests(instance, np.zeros(64)).items():
        if "json" in kwargs:
            answer = client.post("/predict", json=kwargs["json"])
        elif "files" in kwargs:
            field, (filename, data) = next(iter(kwargs["files"].items()))
            answer = client.post("/predict", data={field: (io.BytesIO(data), filename)})
        else:
            answer = client.post("/predict", data=kwargs["data"], headers=kwargs["headers"])
        assert 400 <= answer.status_code < 500 and answer.get_json()["error"], name
    good = client.post("/predict", json={"instances": [instance]})
    assert good.status_code == 200
