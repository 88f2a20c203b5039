"""Every lesson fits one sitting (issue #18): cells, words and code-cell lines within budget.

``pytest tests/test_lesson_budgets.py -s`` prints the table. Words are the markdown cells' words
(split on white space); a code cell's lines are its source lines, blank ones included.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from paths import ROOT

LESSONS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
MAX_CELLS = 45
MAX_WORDS = 2500
MAX_MEDIAN_LINES = 6
MAX_LINES = 20

#: Lessons not yet within budget, and the issue that tracks them. The list can only shrink:
#: a listed lesson that meets every budget fails until it is removed from here.
OVER_BUDGET: dict[str, str] = {}


@dataclass(frozen=True)
class Size:
    """How long a lesson is."""

    cells: int
    words: int
    median_lines: float
    max_lines: int
    figures: int

    def problems(self) -> list[str]:
        limits = [
            ("cells", self.cells, MAX_CELLS),
            ("words", self.words, MAX_WORDS),
            ("median code-cell lines", self.median_lines, MAX_MEDIAN_LINES),
            ("max code-cell lines", self.max_lines, MAX_LINES),
        ]
        return [f"{name} {value} > {limit}" for name, value, limit in limits if value > limit]


def measure(nb) -> Size:
    """Cells, markdown words, median and max code-cell lines, and stored figures of a notebook."""
    code = [c for c in nb.cells if c.cell_type == "code"]
    lines = [len(c.source.splitlines()) for c in code] or [0]
    words = sum(len(c.source.split()) for c in nb.cells if c.cell_type == "markdown")
    figures = sum(1 for c in code for o in c.get("outputs", []) if "image/png" in o.get("data", {}))
    return Size(len(nb.cells), words, statistics.median(lines), max(lines), figures)


def size_of(path: Path) -> Size:
    return measure(nbformat.read(path, as_version=4))


def test_print_the_budget_table():
    print(f"\n{'lesson':30} cells words median max figures  budget")
    for path in LESSONS:
        size = size_of(path)
        verdict = "; ".join(size.problems()) or "ok"
        print(
            f"{path.name:30} {size.cells:5} {size.words:5} {size.median_lines:6} "
            f"{size.max_lines:3} {size.figures:7}  {verdict}"
        )
    assert LESSONS


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_lesson_is_within_budget_or_listed(path: Path):
    problems = size_of(path).problems()
    if path.name in OVER_BUDGET:
        assert problems, f"{path.name} now meets every budget: remove it from OVER_BUDGET"
    else:
        assert problems == []


def test_every_listed_lesson_exists():
    assert set(OVER_BUDGET) <= {p.name for p in LESSONS}


def test_the_budgets_catch_a_long_lesson():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("word " * 2600)]
    nb.cells += [nbformat.v4.new_code_cell("x = 1\n" * 21) for _ in range(50)]
    assert measure(nb).problems() == [
        "cells 51 > 45",
        "words 2600 > 2500",
        "median code-cell lines 21.0 > 6",
        "max code-cell lines 21 > 20",
    ]
