"""How long one inference takes: the first call of a fresh interpreter against the steady state.

Coral's classification example prints an "INFERENCE TIME" list in which the first call is the
slow one. A handful of calls cannot tell a one-time cost from a stray slow call, so
:func:`time_inference` measures both apart: the first ``invoke()`` of several fresh
interpreters, each against the calls right after it, then many calls of one interpreter after a
warm-up. Comparing a first call with its own neighbours, not with a run taken later, keeps the
comparison fair when the machine gets busier in between. Introduced in
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
    """Milliseconds: ``first`` calls of fresh interpreters, ``after`` them the median of the next
    few calls of the same interpreter, and ``steady`` calls after a warm-up."""

    first: np.ndarray
    after: np.ndarray
    steady: np.ndarray

    @property
    def first_median(self) -> float:
        return float(np.median(self.first))

    @property
    def first_ratio(self) -> float:
        """How many times a first call takes the calls right after it (median over interpreters)."""
        return float(np.median(self.first / self.after))

    @property
    def median(self) -> float:
        return float(np.median(self.steady))

    @property
    def p99(self) -> float:
        return float(np.percentile(self.steady, 99))

    def summary(self) -> str:
        """One line: the first call against its neighbours, then the steady median, p99, max."""
        return (
            f"first call {self.first_median:.3f} ms, {self.first_ratio:.1f}× the calls right after "
            f"it (median of {len(self.first)} fresh interpreters); then over {len(self.steady)} "
            f"calls: median {self.median:.3f} ms, p99 {self.p99:.3f} ms, "
            f"max {self.steady.max():.3f} ms"
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
    model_path: str | Path,
    image: np.ndarray,
    fresh: int = 5,
    warmup: int = 20,
    runs: int = 1000,
    following: int = 3,
) -> Timings:
    """First calls of ``fresh`` new interpreters, each followed by ``following`` more, then
    ``runs`` calls after ``warmup`` ones.

    Introduced in notebooks/12_edge_tpu.ipynb. Each interpreter is made and allocated before its
    clock starts, so ``first`` holds only what the first ``invoke()`` pays.
    """
    if min(fresh, runs, following) < 1 or warmup < 0:
        raise ValueError(
            "need fresh >= 1, runs >= 1, following >= 1, warmup >= 0; "
            f"got {fresh}, {runs}, {following}, {warmup}"
        )
    first, after = [], []
    for _ in range(fresh):
        interpreter = make_interpreter(model_path)
        interpreter.allocate_tensors()
        set_input(interpreter, image)
        times = timed_invokes(interpreter, 1 + following)
        first.append(times[0])
        after.append(np.median(times[1:]))
    timed_invokes(interpreter, warmup)
    return Timings(np.array(first), np.array(after), timed_invokes(interpreter, runs))
