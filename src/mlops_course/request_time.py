"""Where the time of one inference request goes: encoding, decoding, inference, the rest.

Introduced in notebooks/08_measuring_a_server.ipynb. Each piece is timed in-process (median of
repeated calls, :func:`mlops_course.bench.latency_ms`); what the end-to-end latency measured over
HTTP leaves unexplained is HTTP itself (connection, headers, routing) and the client library's
own Python work.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np

from mlops_course.bench import latency_ms

PIECES = (
    "encode request",
    "decode request",
    "inference",
    "encode answer",
    "HTTP, client, the rest",
)


def median_ms(fn: Callable[[], object], repeats: int = 50) -> float:
    """Median milliseconds of ``fn()`` over ``repeats`` calls, after three warm-up calls."""
    return latency_ms(fn, warmup=3, repeats=repeats)["p50_ms"]


def codec_ms(x: np.ndarray, y: np.ndarray, binary: bool, repeats: int = 50) -> dict[str, float]:
    """Milliseconds to encode and decode request ``x`` and encode answer ``y``, JSON or binary."""
    if binary:
        wire = x.astype("<f4").tobytes()
        calls = (
            lambda: x.astype("<f4").tobytes(),
            lambda: np.frombuffer(wire, "<f4").reshape(x.shape),
            lambda: y.astype("<f4").tobytes(),
        )
    else:
        wire = json.dumps({"inputs": [{"data": x.ravel().tolist()}]})
        calls = (
            lambda: json.dumps({"inputs": [{"data": x.ravel().tolist()}]}),
            lambda: np.asarray(json.loads(wire)["inputs"][0]["data"], np.float32),
            lambda: json.dumps({"outputs": [{"data": y.ravel().tolist()}]}),
        )
    names = ("encode request", "decode request", "encode answer")
    return {name: median_ms(call, repeats) for name, call in zip(names, calls, strict=True)}


def breakdown(codec: dict[str, float], inference_ms: float, end_to_end_ms: float) -> dict:
    """The pieces of one request in :data:`PIECES` order; the rest is what HTTP adds (never < 0)."""
    if end_to_end_ms <= 0 or inference_ms < 0:
        raise ValueError(f"times must be positive, got {inference_ms=} {end_to_end_ms=}")
    parts = {**codec, "inference": inference_ms}
    parts["HTTP, client, the rest"] = max(0.0, end_to_end_ms - sum(parts.values()))
    return {name: parts[name] for name in PIECES}


def plot_breakdown(pieces: dict[str, dict[str, float]], ax) -> None:
    """Stacked horizontal bars, one per encoding, of the milliseconds in each piece."""
    left = np.zeros(len(pieces))
    for name in PIECES:
        widths = np.array([parts[name] for parts in pieces.values()])
        ax.barh(list(pieces), widths, left=left, label=name)
        left += widths
    ax.set(xlabel="milliseconds per request (p50)", ylabel="encoding")
    ax.legend(fontsize=8, bbox_to_anchor=(1.02, 1), loc="upper left")
