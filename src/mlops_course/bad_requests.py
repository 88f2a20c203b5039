"""Requests a model server must refuse: malformed bodies, wrong tensors, hostile images.

Introduced in notebooks/07_serving_with_flask.ipynb, which sends each one to the course's server
and shows the JSON 4xx it answers. Each case is the keyword arguments of ``requests.post``.
"""

from __future__ import annotations

import io
import json
import struct
import zlib

import numpy as np
from PIL import Image

JSON = {"Content-Type": "application/json"}


def digit_png(pixels: np.ndarray, scale: int = 8) -> bytes:
    """A ``load_digits`` image (grey levels 0..16) as a PNG of dark ink on white paper."""
    pixels = np.asarray(pixels, dtype=float)
    if pixels.size != 64:
        raise ValueError(f"expected 64 pixels (an 8×8 digit), got {pixels.size}")
    ink = np.kron(pixels.reshape(8, 8), np.ones((scale, scale))) / 16
    buffer = io.BytesIO()
    Image.fromarray(np.round(255 * (1 - ink)).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header declares ``width`` × ``height`` pixels (a decompression bomb's)."""
    data = bytearray(digit_png(np.zeros(64), scale=1))
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29], data[29:33] = ihdr, struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


def bad_requests(instance: list, pixels: np.ndarray) -> dict[str, dict]:
    """Bad ``POST /predict`` requests by name; ``instance`` is a good input, ``pixels`` a digit."""
    nan = json.dumps({"instances": [[[[float("nan")]] * 8] * 8]})
    return {
        "malformed JSON": dict(data=b'{"instances": [1,', headers=JSON),
        "wrong content type": dict(data=b"1,2,3", headers={"Content-Type": "text/csv"}),
        "wrong shape": dict(json={"instances": [[1.0, 2.0]]}),
        "strings": dict(json={"instances": [[[["0.5"]] * 8] * 8]}),
        "NaN": dict(data=nan, headers=JSON),
        "missing field": dict(json={"images": [instance]}),
        "empty batch": dict(json={"instances": []}),
        "oversized batch": dict(json={"instances": [instance] * 300}),
        "not an image": dict(files={"image": ("x.png", b"%PDF-1.7 not a picture")}),
        "truncated image": dict(files={"image": ("x.png", digit_png(pixels)[:50])}),
        "decompression bomb": dict(files={"image": ("x.png", bomb_png())}),
        "too large body": dict(data=b"0" * 5_000_000, headers=JSON),
    }
