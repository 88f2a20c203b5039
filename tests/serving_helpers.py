"""What the serving tests share: the app they test, pictures to upload, request builders and the
check that an error answer is clean JSON (``{"error": ...}``, a 4xx/5xx, no traceback)."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from flask import Flask
from paths import MODELS
from PIL import Image

from mlops_course.serving import create_app

MAX_BATCH = 32
LIMIT = 256 * 1024  # bytes per request body in the test app
GOOD = {"instances": [[[[0.5]] * 8] * 8]}  # one valid digits instance


def make_app(**settings) -> Flask:
    """The server on the committed models, with the test limits unless ``settings`` say else."""
    return create_app(MODELS, **{"max_batch": MAX_BATCH, "max_content_length": LIMIT, **settings})


def png(array: np.ndarray) -> bytes:
    """A PNG of a uint8 greyscale array."""
    buffer = io.BytesIO()
    Image.fromarray(array.astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def digit_png(pixels_0_16: np.ndarray, scale: int = 8) -> bytes:
    """A load_digits image drawn as dark ink on white paper, ``scale`` × larger."""
    ink = np.kron(pixels_0_16.reshape(8, 8), np.ones((scale, scale))) / 16.0
    return png(np.round(255 * (1.0 - ink)))


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header declares a gigantic image (a decompression bomb's header)."""
    data = bytearray(png(np.zeros((1, 1))))
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


def v2(x, **extra) -> dict:
    """A JSON Open Inference Protocol request for the digits model's input ``x``."""
    tensor = {"name": "images", "shape": list(np.shape(x)), "datatype": "FP32"}
    return {"inputs": [{**tensor, "data": np.asarray(x).ravel().tolist(), **extra}]}


def assert_clean_error(response, status: int) -> str:
    """The answer is ``status`` with a JSON ``{"error": message}`` and no traceback; the message."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and 'File "' not in text
    message = response.get_json()["error"]
    assert isinstance(message, str) and message
    return message
