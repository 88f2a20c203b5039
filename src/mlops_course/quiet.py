"""Silence what C++ libraries write straight to file descriptor 2 (stderr).

TensorFlow's runtime, absl and the TFLite converter print lines such as ``E0000 ... NodeDef
mentions attribute ...`` or ``fully_quantize: 0, inference_type: 6`` from C++, below Python's
``sys.stderr``, so ``contextlib.redirect_stderr`` cannot catch them and ``TF_CPP_MIN_LOG_LEVEL``
does not cover all of them. ``quiet_stderr`` points descriptor 2 at ``/dev/null`` for the
duration of a block and restores it afterwards, even when the block raises.

Introduced in notebooks/05_train_and_export.ipynb (training) and used in 06_optimize_models.ipynb
(conversion), so stored outputs hold results, not logs.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

STDERR_FD = 2


@contextmanager
def quiet_stderr() -> Iterator[None]:
    """Discard everything written to file descriptor 2 inside the ``with`` block.

    Python's own ``sys.stderr`` is flushed first, so nothing written before the block is lost;
    warnings and errors that Python raises still propagate as exceptions.
    """
    sys.stderr.flush()
    saved = os.dup(STDERR_FD)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), STDERR_FD)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, STDERR_FD)
        os.close(saved)


@contextmanager
def quiet_logger(logger: logging.Logger, level: int | str = logging.ERROR) -> Iterator[None]:
    """Drop ``logger``'s records below ``level`` inside the block; restore its level after it."""
    saved = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(saved)
