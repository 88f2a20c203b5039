"""Classify with a TFLite model the way pycoral does, on the Edge TPU when present, else the CPU.

pycoral (Google's Python API for Coral) has ``pycoral.utils.edgetpu.make_interpreter`` and
``pycoral.adapters.classify.get_classes``. This module offers the same two calls:

- :func:`make_interpreter` uses pycoral and the Edge TPU delegate (``libedgetpu.so.1``) when
  BOTH exist, and otherwise LiteRT's interpreter (``ai_edge_litert``) on the CPU. Which one ran,
  and why, is recorded: :func:`backend_of`.
- :func:`get_classes` returns the ``top_k`` classes scoring at least ``score_threshold``, with
  the int8/uint8 output dequantized (``scale * (q - zero_point)``) exactly as pycoral does.

Installation gotcha: the PyPI package called ``pycoral`` is an unrelated project. The real one
comes from Google's Coral package index (``--extra-index-url https://google-coral.github.io/
py-repo/``) and exists only for Python ≤ 3.9, so the course never installs it and detects it
at run time instead.

Introduced in notebooks/10_edge_tpu.ipynb.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from mlops_course.environment import EDGETPU_LIB, edgetpu_library_loads, pycoral_found
from mlops_course.quantization import dequantize, quantize


class Class(NamedTuple):
    """One classification result, as in pycoral: class ``id`` and its dequantized ``score``."""

    id: int
    score: float


@dataclass(frozen=True)
class Backend:
    """Which interpreter runs the model ("Edge TPU" or "CPU (LiteRT)") and why."""

    name: str
    reason: str


def _delegate_loads(library: str = EDGETPU_LIB) -> tuple[bool, str]:
    """Does the Edge TPU delegate start, i.e. is the runtime installed and a device attached?"""
    ok, detail = edgetpu_library_loads(library)
    if not ok:  # checked first: a failed load_delegate also prints noise from LiteRT's __del__
        return False, detail
    from ai_edge_litert.interpreter import load_delegate

    try:
        load_delegate(library)
    except (OSError, ValueError, RuntimeError) as error:
        first = str(error).strip().splitlines()
        return False, f"the Edge TPU delegate does not start ({first[0] if first else 'error'})"
    return True, f"the Edge TPU delegate ({library}) starts"


def edgetpu_support() -> tuple[bool, str]:
    """``(True, why)`` when pycoral AND the Edge TPU delegate are both usable, else why not.

    Introduced in notebooks/10_edge_tpu.ipynb.
    """
    pycoral = pycoral_found()
    delegate, detail = _delegate_loads() if pycoral else edgetpu_library_loads()
    if pycoral and delegate:
        return True, f"Google's pycoral is installed and {detail}"
    missing = []
    if not pycoral:
        missing.append("Google's pycoral is not installed (pycoral.utils.edgetpu not found)")
    if not delegate:
        missing.append(detail)
    return False, "; ".join(missing)


def make_interpreter(
    model_path: str | Path, device: str | None = None, num_threads: int = 1
) -> Any:
    """An interpreter for ``model_path``: Edge TPU via pycoral when possible, else LiteRT on CPU.

    Introduced in notebooks/10_edge_tpu.ipynb. ``device`` follows pycoral (``None`` = any Edge
    TPU, ``":0"``, ``"usb"``, ``"pci"``); ``"cpu"`` forces the CPU. Asking for a specific Edge TPU
    that is not there raises ``ValueError`` (as pycoral does). Call ``allocate_tensors()`` next.
    """
    if device == "cpu":
        backend = Backend("CPU (LiteRT)", "the CPU was requested")
    else:
        ok, reason = edgetpu_support()
        if ok:
            from pycoral.utils import edgetpu

            interpreter = edgetpu.make_interpreter(str(model_path), device=device)
            interpreter.mlops_backend = Backend("Edge TPU", reason)
            return interpreter
        if device is not None:
            raise ValueError(f"Edge TPU {device!r} requested but not usable: {reason}")
        backend = Backend("CPU (LiteRT)", f"no Edge TPU: {reason}")
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(model_path), num_threads=num_threads)
    interpreter.mlops_backend = backend
    return interpreter


def backend_of(interpreter: Any) -> Backend:
    """The backend :func:`make_interpreter` chose for ``interpreter``."""
    return getattr(interpreter, "mlops_backend", Backend("unknown", "not made by make_interpreter"))


def set_input(interpreter: Any, image: np.ndarray) -> None:
    """Put one float image (values as the model was trained on) into the input tensor.

    Unlike pycoral's ``common.set_input``, which copies bytes that are already uint8, this
    quantizes with the input's own scale and zero point when the model takes integers.
    """
    details = interpreter.get_input_details()[0]
    x = np.asarray(image, dtype=np.float32).reshape(details["shape"])
    dtype = np.dtype(details["dtype"])
    if dtype.kind in "iu":
        scale, zero_point = details["quantization"]
        x = quantize(x, scale, zero_point, dtype)
    interpreter.set_tensor(details["index"], np.ascontiguousarray(x))


def get_scores(interpreter: Any) -> np.ndarray:
    """The output scores as float32, dequantized when the output is int8/uint8 (as pycoral)."""
    details = interpreter.get_output_details()[0]
    scores = np.squeeze(interpreter.get_tensor(details["index"]))
    if np.dtype(details["dtype"]).kind in "iu":
        scale, zero_point = details["quantization"]
        return dequantize(scores, scale, zero_point, dtype=np.float32)
    return scores.astype(np.float32, copy=True)


def get_classes(
    interpreter: Any, top_k: int = 1, score_threshold: float = -float("inf")
) -> list[Class]:
    """The ``top_k`` classes with score ≥ ``score_threshold``, best first (pycoral's contract).

    Introduced in notebooks/10_edge_tpu.ipynb. Ties keep the lower class id first.
    """
    if top_k < 1:
        raise ValueError(f"top_k must be at least 1, got {top_k}")
    scores = get_scores(interpreter)
    best = np.argsort(-scores, kind="stable")[:top_k]
    return [Class(int(i), float(scores[i])) for i in best if scores[i] >= score_threshold]


def classify_image(
    interpreter: Any, image: np.ndarray, top_k: int = 1, score_threshold: float = -float("inf")
) -> list[Class]:
    """Set ``image``, run the model once and return :func:`get_classes`.

    Introduced in notebooks/10_edge_tpu.ipynb.
    """
    set_input(interpreter, image)
    interpreter.invoke()
    return get_classes(interpreter, top_k, score_threshold)


def inference_times_ms(interpreter: Any, image: np.ndarray, runs: int = 5) -> list[float]:
    """Wall-clock milliseconds of ``runs`` invocations on one image, the first one included.

    Introduced in notebooks/10_edge_tpu.ipynb, like the seed's "INFERENCE TIME" listing: the
    first run also pays one-time costs (on the Edge TPU, loading the model into its memory).
    """
    set_input(interpreter, image)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        interpreter.invoke()
        times.append((time.perf_counter() - start) * 1000)
    return times
