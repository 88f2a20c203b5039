"""Turn an uploaded picture of a digit into the model's input, refusing anything dangerous.

A decompression bomb is a small file that declares a huge image (a 40 kB PNG can unpack to
gigabytes); Pillow reads the declared size from the header without decoding pixels, so the size
is checked *before* ``load()``. Truncated files, non-images and unknown formats become a 400.

The recipe mirrors how ``load_digits`` was made: dark ink on a light background (or the
reverse, detected from the border), area-averaged down to 8×8, scaled to [0, 1] (1 = ink).

Introduced in notebooks/07_serving_with_flask.ipynb.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from mlops_course.serving.errors import ApiError, PayloadTooLarge

#: Formats a browser or a phone produces; everything else Pillow could parse is refused.
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")


def open_image(data: bytes, max_pixels: int) -> Image.Image:
    """Decode ``data`` into a Pillow image after checking format and declared size."""
    if not data:
        raise ApiError("the uploaded file is empty")
    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)  # reads the header only
        width, height = image.size
        if width < 1 or height < 1 or width * height > max_pixels:
            raise PayloadTooLarge(
                f"image of {width}×{height} pixels exceeds the limit of {max_pixels} pixels"
            )
        image.load()  # now decode: the size is known to be safe
    except ApiError:
        raise
    except Image.DecompressionBombError:  # Pillow's own last line of defence
        raise PayloadTooLarge("image is too large to decode (decompression bomb?)") from None
    except Exception as error:  # Pillow raises OSError, SyntaxError, ValueError, struct.error...
        raise ApiError(
            f"could not read the upload as a {'/'.join(FORMATS)} image "
            f"({type(error).__name__}: {str(error)[:120]})"
        ) from None
    return image


def to_grey(image: Image.Image) -> np.ndarray:
    """Greyscale float pixels in [0, 1]; transparent areas count as white paper."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        image = image.convert("RGBA")
        paper = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(paper, image)
    return np.asarray(image.convert("L"), dtype=np.float32) / 255.0


def digit_pixels(image: Image.Image, size: tuple[int, int] = (8, 8)) -> np.ndarray:
    """An (8, 8) float32 array in [0, 1] with 1 = ink, from any digit picture.

    Introduced in notebooks/07_serving_with_flask.ipynb.
    """
    grey = to_grey(image)
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    ink = 1.0 - grey if border.mean() > 0.5 else grey  # light paper → invert
    small = Image.fromarray(ink.astype(np.float32), mode="F").resize(size, Image.Resampling.BOX)
    return np.clip(np.asarray(small, dtype=np.float32), 0.0, 1.0)


def image_to_input(data: bytes, shape: tuple[int | None, ...], max_pixels: int) -> np.ndarray:
    """Uploaded bytes → a batch of one in the card's input shape (e.g. (1, 8, 8, 1))."""
    dims = [d for d in shape[1:] if d != 1]
    if len(dims) != 2 or None in dims:
        raise ApiError(
            f"uploads become one-channel images; this model's input {list(shape)} is not one: "
            "send JSON or an Open Inference Protocol request"
        )
    pixels = digit_pixels(open_image(data, max_pixels), size=(dims[1], dims[0]))
    return pixels.reshape(1, *shape[1:])
