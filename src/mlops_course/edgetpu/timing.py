"""How long one inference takes: the first call of a fresh interpreter against the steady state.

Coral's classification example prints an "INFERENCE TIME" list in which the first call is the
slow one. A handful of calls cannot tell a one-time cost from a stray slow call, so
:func:`time_inference` measures both apart: the first ``invoke()`` of several fresh
interpreters, then many calls of one interpreter after a warm-up. Introduced in
notebooks/12_edge_tpu.ipynb.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlops_course.edgetpu.classify import make_interpreter, set_input


@dataclass(frozen=True)
class Timings:
    """Milliseconds: ``first`` calls of fresh interpreters, ``steady`` calls after a warm-up."""

    first: np.ndarray
    steady: np.ndarray

    @property
    def first_median(self) -> float:
        return float(np.median(self.first))

    @property
    def median(self) -> float:
        return float(np.median(self.steady))

    @property
    def p99(self) -> float:
        return float(np.percentile(self.steady, 99))

    def summary(self) -> str:
        """One line: first call against the steady median, p99 and maximum."""
        return (
            f"first call {self.first_median:.3f} ms (median of {len(self.first)} fresh "
            f"interpreters); then over {len(self.steady)} calls: median {self.median:.3f} ms, "
            f"p99 {self.p99:.3f} ms, max {self.steady.max():.3f} ms"
        )


def timed_invokes(interpreter: Any, runs: int) -> np.ndarray:
    """Wall-clock milliseconds of ``runs`` consecutive ``invoke()`` calls."""
    times = np.empty(runs)
    for i in range(runs):
        start = time.perf_counter()
        interpreter.invoke()
        times[i] = (time.perf_counter() - start) * 1000
    return times


def inference_times_ms(interpreter: Any, image: np.ndarray, runs: int = 5) -> list[float]:
    """Milliseconds of ``runs`` invocations on one image, the first one included (Coral's list).

    Introduced in notebooks/12_edge_tpu.ipynb; :func:`time_inference` separates the first call
    from the steady state.
    """
    if runs < 1:
        raise ValueError(f"runs must be at least 1, got {runs}")
    set_input(interpreter, image)
    return timed_invokes(interpreter, runs).tolist()


def time_inference(
    model_path: str | Path, image: np.ndarray, fresh: int = 5, warmup: int = 20, runs: int = 1000
) -> Timings:
    """First calls of ``fresh`` new interpreters, then ``runs`` calls after ``warmup`` ones.

    Introduced in notebooks/12_edge_tpu.ipynb. Each interpreter is made and allocated before its
    clock starts, so ``first`` holds only what the first ``invoke()`` pays.
    """
    if min(fresh, runs) < 1 or warmup < 0:
        raise ValueError(f"need fresh >= 1, runs >= 1, warmup >= 0; got {fresh}, {runs}, {warmup}")
    first = []
    for _ in range(fresh):
        interpreter = make_interpreter(model_path)
        interpreter.allocate_tensors()
        set_input(interpreter, image)
        first.append(timed_invokes(interpreter, 1)[0])
    timed_invokes(interpreter, warmup)
    return Timings(np.array(first), timed_invokes(interpreter, runs))
