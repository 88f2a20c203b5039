"""time_inference: the first call of fresh interpreters apart from many warm calls (lesson 12).

The clock is replaced by a fake one so that the checks do not depend on this machine's speed:
each ``invoke()`` advances it by a known amount, the first call of an interpreter by more.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
    """Costs FIRST_MS on its first invoke() and STEADY_MS afterwards, on the fake clock.

    From call ``busy_after`` on, every call takes ``busy`` times as long: the machine got busier.
    """

    def __init__(self, clock: FakeClock, busy_after: int = 10**9, busy: float = 1.0) -> None:
        self.clock, self.calls, self.busy_after, self.busy = clock, 0, busy_after, busy

    def allocate_tensors(self) -> None:
        pass

    def invoke(self) -> None:
        cost = FIRST_MS if self.calls == 0 else STEADY_MS
        self.clock.now += cost * (self.busy if self.calls >= self.busy_after else 1.0) / 1000
        self.calls += 1


@dataclass
class Fakes:
    """The interpreters made so far, and the load each new one will see."""

    made: list[FakeInterpreter] = field(default_factory=list)
    load: dict[str, float] = field(default_factory=dict)


@pytest.fixture
def fake(monkeypatch):
    clock, fakes = FakeClock(), Fakes()

    def make(path):
        fakes.made.append(FakeInterpreter(clock, **fakes.load))
        return fakes.made[-1]

    monkeypatch.setattr(timing_module.time, "perf_counter", clock.perf_counter)
    monkeypatch.setattr(timing_module, "make_interpreter", make)
    monkeypatch.setattr(timing_module, "set_input", lambda interpreter, image: None)
    return fakes


def test_first_calls_come_from_fresh_interpreters_and_steady_ones_after_warmup(fake):
    t = time_inference("model.tflite", np.zeros(1), fresh=3, warmup=4, runs=10, following=2)
    assert [i.calls for i in fake.made] == [3, 3, 3 + 4 + 10]
    np.testing.assert_allclose(t.first, [FIRST_MS] * 3)
    np.testing.assert_allclose(t.after, [STEADY_MS] * 3)
    np.testing.assert_allclose(t.steady, [STEADY_MS] * 10)
    assert t.first_median == pytest.approx(FIRST_MS) and t.median == pytest.approx(STEADY_MS)
    assert t.first_ratio == pytest.approx(FIRST_MS / STEADY_MS)


def test_a_machine_that_gets_busier_later_does_not_hide_the_first_call_cost(fake):
    # Every call after an interpreter's first four takes 20x longer: the steady run is slower
    # than any first call, but each first call still costs 5x its own neighbours.
    fake.load.update(busy_after=4, busy=20.0)
    t = time_inference("model.tflite", np.zeros(1), fresh=3, warmup=0, runs=10, following=3)
    assert t.first_median < t.median
    assert t.first_ratio == pytest.approx(FIRST_MS / STEADY_MS)


def test_summary_reports_first_call_its_ratio_median_p99_and_max():
    t = Timings(np.array([3.0, 2.0, 9.0]), np.array([1.0, 1.0, 3.0]), np.append(np.ones(99), 50.0))
    assert t.first_median == 3.0 and t.first_ratio == 3.0
    assert t.median == 1.0 and 1.0 < t.p99 < 50.0
    assert t.summary() == (
        "first call 3.000 ms, 3.0× the calls right after it (median of 3 fresh interpreters); "
        f"then over 100 calls: median 1.000 ms, p99 {t.p99:.3f} ms, max 50.000 ms"
    )


@pytest.mark.parametrize("kwargs", [{"fresh": 0}, {"runs": 0}, {"following": 0}, {"warmup": -1}])
def test_bad_counts_are_one_line_errors(kwargs):
    with pytest.raises(ValueError, match="need fresh >= 1"):
        time_inference("model.tflite", np.zeros(1), **kwargs)


def test_on_the_real_model_every_call_is_timed():
    image = load_digits_split().x_test[0]
    t = time_inference(READY, image, fresh=2, warmup=2, runs=50)
    assert len(t.first) == len(t.after) == 2 and len(t.steady) == 50 and (t.steady > 0).all()
