"""Classify with a TFLite model as pycoral does: on the Edge TPU when there is one, else the CPU.

- :func:`make_interpreter` makes a LiteRT interpreter (``ai_edge_litert``). With the Edge TPU
  delegate from LiteRT's own ``load_delegate("libedgetpu.so.1")`` when the model is compiled
  for the Edge TPU (it holds an ``edgetpu-custom-op``) and the delegate starts; on the CPU
  otherwise. Which one ran, and why, is recorded: :func:`backend_of`. A model is labelled
  "Edge TPU" only when it holds the custom op: an uncompiled model would run entirely on the
  CPU even with the delegate loaded.
- :func:`get_classes` returns the ``top_k`` classes scoring at least ``score_threshold``, with
  the int8/uint8 output dequantized (``scale * (q - zero_point)``) exactly as pycoral does.

Note: Google's pycoral (``pycoral.utils.edgetpu.make_interpreter``) wraps the same delegate, but
it exists only for Python ≤ 3.9 (from Coral's own package index; PyPI's ``pycoral`` is an
unrelated project), so the course calls LiteRT directly. Introduced in notebooks/12_edge_tpu.ipynb.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from mlops_course.edgetpu.rules import EDGETPU_CUSTOM_OP
from mlops_course.edgetpu.tflite_file import op_name, read_model
from mlops_course.environment import EDGETPU_LIB, edgetpu_library_loads
from mlops_course.quantization import dequantize, quantize

CPU, EDGE_TPU = "CPU (LiteRT)", "Edge TPU"


class Class(NamedTuple):
    """One classification result, as in pycoral: class ``id`` and its dequantized ``score``."""

    id: int
    score: float


@dataclass(frozen=True)
class Backend:
    """Which interpreter runs the model ("Edge TPU" or "CPU (LiteRT)") and why."""

    name: str
    reason: str


def edgetpu_ops(model_path: str | Path) -> int:
    """How many ``edgetpu-custom-op`` operators the model holds (0: not compiled for the TPU).

    Introduced in notebooks/12_edge_tpu.ipynb. Raises ``PreflightError`` for an unreadable file.
    """
    model = read_model(model_path)
    return sum(
        op_name(model, op)[0] == EDGETPU_CUSTOM_OP
        for subgraph in model.subgraphs
        for op in subgraph.operators or []
    )


def load_edgetpu_delegate(
    device: str | None = None, library: str = EDGETPU_LIB
) -> tuple[Any | None, str]:
    """``(delegate, why)`` from LiteRT's ``load_delegate``; ``(None, why not)`` when it fails.

    ``device`` is libedgetpu's option (``":0"``, ``"usb"``, ``"usb:1"``, ``"pci"``); ``None``
    takes any Edge TPU. Introduced in notebooks/12_edge_tpu.ipynb.
    """
    ok, detail = edgetpu_library_loads(library)
    if not ok:  # checked first: a failed load_delegate also prints noise from LiteRT's __del__
        return None, detail
    from ai_edge_litert.interpreter import load_delegate

    try:
        delegate = load_delegate(library, {"device": device} if device else {})
    except (OSError, ValueError, RuntimeError) as error:
        first = str(error).strip().splitlines()
        return None, f"the Edge TPU delegate does not start ({first[0] if first else 'error'})"
    return delegate, f"LiteRT's load_delegate({library!r}) started the Edge TPU delegate"


def edgetpu_support() -> tuple[bool, str]:
    """``(True, why)`` when the Edge TPU delegate starts here (runtime and device), else why not.

    Introduced in notebooks/12_edge_tpu.ipynb.
    """
    delegate, detail = load_edgetpu_delegate()
    return delegate is not None, detail


def make_interpreter(
    model_path: str | Path, device: str | None = None, num_threads: int = 1
) -> Any:
    """A LiteRT interpreter for ``model_path``: on the Edge TPU when possible, else the CPU.

    Introduced in notebooks/12_edge_tpu.ipynb. ``device`` follows pycoral (``None`` = any Edge
    TPU, ``":0"``, ``"usb"``, ``"pci"``); ``"cpu"`` forces the CPU. A named Edge TPU that is not
    usable, or a compiled model without its delegate, raises ``ValueError`` (the CPU cannot run
    an ``edgetpu-custom-op``). Call ``allocate_tensors()`` next.
    """
    from ai_edge_litert.interpreter import Interpreter

    custom_ops = edgetpu_ops(model_path)
    name = Path(model_path).name
    if device == "cpu":
        if custom_ops:
            raise ValueError(f"{name} is compiled for the Edge TPU; the CPU cannot run it")
        backend = Backend(CPU, "the CPU was requested")
    else:
        delegate, detail = load_edgetpu_delegate(device)
        if delegate is None and device is not None:
            raise ValueError(f"Edge TPU {device!r} requested but not usable: {detail}")
        if delegate is None and custom_ops:
            raise ValueError(f"{name} is compiled for the Edge TPU, but {detail}")
        why = f"{name} is not compiled for the Edge TPU (no {EDGETPU_CUSTOM_OP})"
        if delegate is not None and custom_ops:
            interpreter = Interpreter(
                model_path=str(model_path),
                experimental_delegates=[delegate],
                num_threads=num_threads,
            )
            why = f"{detail}; the model holds {custom_ops} {EDGETPU_CUSTOM_OP}"
            interpreter.mlops_backend = Backend(EDGE_TPU, why)
            return interpreter
        if device is not None:
            raise ValueError(f"Edge TPU {device!r} requested, but {why}")
        backend = Backend(CPU, why if delegate is not None else f"{why}; {detail}")
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

    Introduced in notebooks/12_edge_tpu.ipynb. Ties keep the lower class id first.
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

    Introduced in notebooks/12_edge_tpu.ipynb.
    """
    set_input(interpreter, image)
    interpreter.invoke()
    return get_classes(interpreter, top_k, score_threshold)


def score_images(interpreter: Any, images: np.ndarray) -> np.ndarray:
    """Dequantized scores of every image, one row each, from one model call per image.

    Introduced in notebooks/12_edge_tpu.ipynb (the least confident digits).
    """
    rows = []
    for image in images:
        set_input(interpreter, image)
        interpreter.invoke()
        rows.append(get_scores(interpreter))
    return np.array(rows).reshape(len(rows), -1)


def top_margin(scores: np.ndarray) -> np.ndarray:
    """Per row, the best score minus the second best: small means the model hesitated.

    Introduced in notebooks/12_edge_tpu.ipynb. ``scores`` has one row per image.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[1] < 2:
        raise ValueError(f"need one row of at least 2 scores per image, got shape {scores.shape}")
    best_two = np.sort(scores, axis=1)[:, -2:]
    return best_two[:, 1] - best_two[:, 0]
