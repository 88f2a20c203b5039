"""Tables, ratios and figures of a server measured three ways (in-process, production, naive).

Introduced in notebooks/08_measuring_a_server.ipynb. ``rows`` are
:meth:`mlops_course.loadgen.LoadResult.as_dict` records with a ``setup`` and an ``encoding``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def frame(rows: list[dict]) -> pd.DataFrame:
    """The rows as a table whose ``setup`` names the encoding too ("production JSON")."""
    if not rows:
        raise ValueError("no measurements to report")
    table = pd.DataFrame(rows)
    table["setup"] = table["setup"] + " " + table["encoding"]
    return table


def pivot(table: pd.DataFrame) -> pd.DataFrame:
    """p50, p99 (ms) and samples/s per setup and batch (rows) and client count (columns)."""
    values = ["samples_per_s", "p50_ms", "p99_ms"]
    return table.pivot_table(index=["setup", "batch"], columns="clients", values=values).round(1)


def best(table: pd.DataFrame, setup: str, batch: int) -> float:
    """Highest samples/s of one setup at one batch size, over client counts."""
    chosen = table[(table.setup == setup) & (table.batch == batch)]["samples_per_s"]
    if chosen.empty:
        raise ValueError(f"no measurement of {setup!r} at batch {batch}")
    return float(chosen.max())


def plot_three_ways(table: pd.DataFrame, axes) -> None:
    """Left: best samples/s per setup, batch 1 and 64 side by side; right: p99 against clients."""
    setups = sorted(table.setup.unique())
    for offset, batch in ((-0.2, 1), (0.2, 64)):
        measured = set(zip(table.setup, table.batch, strict=True))
        heights = [best(table, s, batch) if (s, batch) in measured else 0 for s in setups]
        axes[0].bar(np.arange(len(setups)) + offset, heights, width=0.4, label=f"batch {batch}")
    axes[0].set_xticks(range(len(setups)), setups, rotation=20, fontsize=8)
    axes[0].set(yscale="log", ylabel="best samples per second (log)", xlabel="setup")
    axes[0].legend()
    for (setup, batch), group in table.groupby(["setup", "batch"]):
        style = "-" if batch == 64 else "--"
        axes[1].plot(group.clients, group.p99_ms, style, marker="o", label=f"{setup}, {batch}")
    clients = sorted(table.clients.unique())
    axes[1].set(xscale="log", yscale="log", xlabel="concurrent clients", ylabel="p99 ms (log)")
    axes[1].set_xticks(clients, [str(c) for c in clients])
    axes[1].legend(fontsize=7, bbox_to_anchor=(1.02, 1), loc="upper left")
