"""Measure a model variant the same way everywhere: size, accuracy, latency percentiles.

Latency is wall-clock time of one ``predict`` call after a warm-up, repeated, reported as the
median (p50) and the 99th percentile (p99) in milliseconds. On a shared machine the numbers
move from run to run; compare variants measured in the same run, as ratios.

Introduced in notebooks/06_optimize_models.ipynb; ``benchmarks/optimization.py`` uses it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np


def latency_ms(fn: Callable[[], Any], warmup: int = 10, repeats: int = 100) -> dict[str, float]:
    """p50, p99 and mean milliseconds of ``fn()`` over ``repeats`` calls after ``warmup`` calls.

    Introduced in notebooks/06_optimize_models.ipynb.
    """
    if repeats < 1 or warmup < 0:
        raise ValueError(f"need repeats >= 1 and warmup >= 0, got {repeats=} {warmup=}")
    for _ in range(warmup):
        fn()
    times = np.empty(repeats)
    for i in range(repeats):
        start = time.perf_counter()
        fn()
        times[i] = time.perf_counter() - start
    times *= 1e3
    return {
        "p50_ms": float(np.percentile(times, 50)),
        "p99_ms": float(np.percentile(times, 99)),
        "mean_ms": float(times.mean()),
    }


def measure_variant(
    runner: Any,
    x_test: np.ndarray,
    y_test: np.ndarray,
    batch_sizes: Iterable[int] = (1, 64),
    warmup: int = 10,
    repeats: int = 100,
) -> dict[str, Any]:
    """Size, test accuracy and latency per batch size of one loaded model (a ``runtime`` runner).

    Introduced in notebooks/06_optimize_models.ipynb. Batches larger than the test split are
    drawn from it with repetition.
    """
    predictions = np.concatenate(
        [runner.predict(x_test[i : i + 256]) for i in range(0, len(x_test), 256)]
    )
    row: dict[str, Any] = {
        "file": Path(runner.path).name,
        "size_bytes": Path(runner.path).stat().st_size,
        "accuracy": float(np.mean(predictions.argmax(axis=1) == y_test)),
    }
    for batch in batch_sizes:
        x = np.resize(x_test, (batch, *x_test.shape[1:]))
        runner.predict(x)  # first call at a new batch size may re-plan; keep it out of warm-up
        stats = latency_ms(lambda x=x: runner.predict(x), warmup=warmup, repeats=repeats)
        row[f"p50_ms_b{batch}"] = stats["p50_ms"]
        row[f"p99_ms_b{batch}"] = stats["p99_ms"]
    return row
