"""Lesson 08's report helpers: the table, the best throughput, the time breakdown, the figures."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest

from mlops_course import request_time, server_report

NAMES = ("setup", "encoding", "clients", "batch", "samples_per_s", "p50_ms", "p99_ms")


def rows():
    def row(setup, encoding, clients, batch, rate, p99):
        values = (setup, encoding, clients, batch, rate, p99 / 2, p99)
        return dict(zip(NAMES, values, strict=True))

    return [
        row("production", "JSON", 1, 1, 100.0, 2.0),
        row("production", "JSON", 8, 1, 300.0, 9.0),
        row("production", "JSON", 1, 64, 900.0, 20.0),
        row("naive", "JSON", 1, 1, 3.0, 400.0),
    ]


def test_best_is_the_highest_rate_of_one_setup_and_batch():
    table = server_report.frame(rows())
    assert server_report.best(table, "production JSON", 1) == 300.0
    assert server_report.best(table, "naive JSON", 1) == 3.0
    assert server_report.pivot(table).loc[("production JSON", 1), ("p99_ms", 8)] == 9.0


def test_missing_measurements_are_one_line_errors():
    with pytest.raises(ValueError, match="no measurements"):
        server_report.frame([])
    with pytest.raises(ValueError, match="batch 64"):
        server_report.best(server_report.frame(rows()), "naive JSON", 64)


def test_the_three_ways_figure_draws_every_setup():
    fig, axes = plt.subplots(1, 2)
    server_report.plot_three_ways(server_report.frame(rows()), axes)
    assert len(axes[0].patches) == 4 and len(axes[1].lines) == 3
    plt.close(fig)


def test_breakdown_adds_up_to_the_end_to_end_time():
    codec = {"encode request": 1.0, "decode request": 2.0, "encode answer": 0.5}
    parts = request_time.breakdown(codec, 3.0, 10.0)
    assert list(parts) == list(request_time.PIECES)
    assert parts["HTTP, client, the rest"] == pytest.approx(3.5)
    assert sum(parts.values()) == pytest.approx(10.0)
    assert (
        request_time.breakdown(dict.fromkeys(parts, 0.0), 20.0, 10.0)["HTTP, client, the rest"] == 0
    )


def test_breakdown_refuses_a_meaningless_time():
    with pytest.raises(ValueError, match="positive"):
        request_time.breakdown({}, 1.0, 0.0)


def test_binary_codec_is_cheaper_than_json_for_a_batch():
    x, y = np.random.default_rng(0).random((64, 8, 8, 1)), np.zeros((64, 10))
    json_ms = request_time.codec_ms(x, y, binary=False, repeats=5)
    binary_ms = request_time.codec_ms(x, y, binary=True, repeats=5)
    assert set(json_ms) == set(binary_ms) == {"encode request", "decode request", "encode answer"}
    assert json_ms["decode request"] > binary_ms["decode request"]


def test_plot_breakdown_stacks_every_piece():
    fig, ax = plt.subplots()
    pieces = {"JSON": dict.fromkeys(request_time.PIECES, 1.0)}
    request_time.plot_breakdown(pieces, ax)
    assert len(ax.patches) == len(request_time.PIECES)
    assert max(p.get_x() + p.get_width() for p in ax.patches) == 5.0
    plt.close(fig)
