"""mlops_course.bench: latency statistics."""

from __future__ import annotations

import pytest

from mlops_course.bench import latency_ms


def test_latency_ms_calls_warmup_plus_repeats_and_orders_percentiles():
    calls = []
    stats = latency_ms(lambda: calls.append(1), warmup=3, repeats=20)
    assert len(calls) == 23
    assert 0 <= stats["p50_ms"] <= stats["p99_ms"]
    with pytest.raises(ValueError, match="repeats >= 1"):
        latency_ms(lambda: None, repeats=0)
