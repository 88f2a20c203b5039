"""time_inference: the first call of fresh interpreters apart from many warm calls (lesson 12).

The clock is replaced by a fake one so that the checks do not depend on this machine's speed:
each ``invoke()`` advances it by a known amount, the first call of an interpreter by more.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mlops_course.data import load_digits_split
from mlops_course.edgetpu import Timings, time_inference
from mlops_course.edgetpu import timing as timing_module

READY = Path(__file__).resolve().parents[1] / "models" / "digits" / "1" / "model_int8_batch1.tflite"
FIRST_MS, STEADY_MS = 5.0, 1.0


class FakeClock:
    """perf_counter() for timed_invokes: it moves only when a fake interpreter is invoked."""

    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        return self.now


class FakeInterpreter:
    """Costs FIRST_MS on its first invoke() and STEADY_MS afterwards, on the fake clock."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock, self.calls = clock, 0

    def allocate_tensors(self) -> None:
        pass

    def invoke(self) -> None:
        self.clock.now += (FIRST_MS if self.calls == 0 else STEADY_MS) / 1000
        self.calls += 1


@pytest.fixture
def fake(monkeypatch):
    clock, made = FakeClock(), []

    def make(path):
        made.append(FakeInterpreter(clock))
        return made[-1]

    monkeypatch.setattr(timing_module.time, "perf_counter", clock.perf_counter)
    monkeypatch.setattr(timing_module, "make_interpreter", make)
    monkeypatch.setattr(timing_module, "set_input", lambda interpreter, image: None)
    return made


def test_first_calls_come_from_fresh_interpreters_and_steady_ones_after_warmup(fake):
    t = time_inference("model.tflite", np.zeros(1), fresh=3, warmup=4, runs=10)
    assert len(fake) == 3 and [i.calls for i in fake] == [1, 1, 1 + 4 + 10]
    np.testing.assert_allclose(t.first, [FIRST_MS] * 3)
    np.testing.assert_allclose(t.steady, [STEADY_MS] * 10)
    assert t.first_median == pytest.approx(FIRST_MS) and t.median == pytest.approx(STEADY_MS)


def test_summary_reports_first_call_median_p99_and_max():
    t = Timings(np.array([3.0, 2.0, 9.0]), np.append(np.ones(99), 50.0))
    assert t.first_median == 3.0 and t.median == 1.0 and 1.0 < t.p99 < 50.0
    assert t.summary() == (
        "first call 3.000 ms (median of 3 fresh interpreters); then over 100 calls: "
        f"median 1.000 ms, p99 {t.p99:.3f} ms, max 50.000 ms"
    )


@pytest.mark.parametrize("kwargs", [{"fresh": 0}, {"runs": 0}, {"warmup": -1}])
def test_bad_counts_are_one_line_errors(kwargs):
    with pytest.raises(ValueError, match="need fresh >= 1"):
        time_inference("model.tflite", np.zeros(1), **kwargs)


def test_on_the_real_model_every_call_is_timed():
    image = load_digits_split().x_test[0]
    t = time_inference(READY, image, fresh=2, warmup=2, runs=50)
    assert len(t.first) == 2 and len(t.steady) == 50 and (t.steady > 0).all()
