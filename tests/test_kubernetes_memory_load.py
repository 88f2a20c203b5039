"""kubernetes.memory_load: how large the heaviest request is (the sending runs in lesson 11)."""

from __future__ import annotations

import pytest

from mlops_course.kubernetes.memory_load import HeavyRequest, largest_batch

MIB4 = 4 * 2**20


def test_the_tightest_limit_wins():
    assert largest_batch(256, None, MIB4, 4, (8, 8, 1)) == 256  # MAX_BATCH
    assert largest_batch(256, 32, MIB4, 1, (96, 96, 3)) == 32  # the card's max_batch
    # 96 × 96 × 3 float32 = 110,592 bytes: 37 fit in 4 MiB, one kept free for the header
    assert largest_batch(256, None, MIB4, 4, (96, 96, 3)) == 36


def test_nothing_fits_or_bad_input():
    assert largest_batch(256, None, 100, 4, (8, 8)) == 0
    with pytest.raises(ValueError, match="positive"):
        largest_batch(256, None, MIB4, 4, (0,))


def test_a_request_reads_as_one_line():
    line = str(HeavyRequest("digits", 256, (8, 8, 1), "float32", 256 * 256))
    assert line == "digits      256 × [8, 8, 1] float32 (0.1 MiB)"
