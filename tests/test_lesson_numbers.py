"""A number a lesson's text quotes must be one its stored outputs show (issue #18).

The rule, kept simple on purpose:

- A number is *quoted* when the markdown writes it with a decimal point (``0.967``), a thousands
  separator (``133,144``), an exponent (``1e-7``) or a trailing ``×`` (``376×``). Plain integers
  (epochs, ports, lesson numbers, years) are not checked. Code spans, code blocks, LaTeX and link
  targets are left out: they are code, derivations and addresses, not results.
- A quoted number is *shown* when some number in any stored output of the same notebook
  (stream text, ``text/plain``, ``text/html``, ``text/markdown``) rounds to it at the quoted
  precision: ``0.36`` is shown by ``0.358``; ``100×`` is not shown by ``252.3×``.
- Numbers that are not meant to be outputs (software versions, sizes from documentation,
  arithmetic done in the sentence itself) are listed in ``NOT_OUTPUTS`` with the reason.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from paths import ROOT

LESSONS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))


FENCE = re.compile(r"```.*?```", re.S)
CODE_SPAN = re.compile(r"`[^`\n]*`")
MATH = re.compile(r"\$\$.*?\$\$|\$[^$]*\$", re.S)
LINK = re.compile(r"\]\([^)]*\)|https?://\S+")
QUOTED = re.compile(
    r"(?<![\w.\-/])"
    r"(\d+(?:\.\d+)?e-?\d+"  # 1e-7, 2.5e-3
    r"|\d{1,3}(?:,\d{3})+(?:\.\d+)?"  # 133,144
    r"|\d+\.\d+"  # 0.967
    r"|\d+(?=×(?!\s*\d)))"  # 376× (but not 96×96)
    r"(?![\w.,\-/]*\d)"
)
NUMBER = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?(?:e[-+]?\d+)?")

#: Quoted numbers that are not results of the notebook, per lesson prefix, with the reason.
NOT_OUTPUTS = {
    "01": {"0.125": "σ²/2 for σ = 0.5, derived in the text"},
    "03": {"1,797": "size of scikit-learn's digits data set", "4,820": "2 × 2,410 parameters"},
    "05": {
        "0.96": "the accuracy bar the notebook asserts",
        "0.493": "lesson 01's stored R², compared with this lesson's",
        "1,145": "85 % of 1,347 training images",
        "1.2": "scikit-learn version",
    },
    "06": {"1,347": "size of the training split (75 % of 1,797)"},
    "07": {"100,000": "the bomb's declared size, a constant in the code"},
    "08": {
        "4,096": "64 images × 64 pixels",
        "0.35": "MobileNetV2's width multiplier α, a constant in the code",
    },
    "10": {
        "20.04": "Ubuntu version",
        "2.7": "Python version",
        "1,540": "a published scan of python:3.8 in 2020, not run here",
    },
    "11": {"1.26": "Kubernetes version"},
    "12": {
        "3.9": "Python version",
        "3.11": "Python version",
        "22.04": "Ubuntu version",
        "15.0": "the Edge TPU compiler's version, in its quoted output",
        "11.9": "Coral's published example run on an Edge TPU, not run here",
        "2.5": "Coral's published example run on an Edge TPU, not run here",
    },
}


def quoted_numbers(markdown: str) -> list[str]:
    """The numbers a markdown cell quotes, by the rule in this module's docstring."""
    text = LINK.sub(" ", MATH.sub(" ", CODE_SPAN.sub(" ", FENCE.sub(" ", markdown))))
    return QUOTED.findall(text)


def output_numbers(nb) -> list[float]:
    texts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            texts.append(output.get("text", ""))
            data = output.get("data", {})
            texts += [data[k] for k in ("text/plain", "text/html", "text/markdown") if k in data]
    return [float(n.replace(",", "")) for t in texts for n in NUMBER.findall(t)]


def is_shown(quoted: str, shown: list[float]) -> bool:
    value = float(quoted.replace(",", ""))
    if "e" in quoted:
        return any(abs(x - value) <= 1e-12 * max(1.0, value) for x in shown)
    places = len(quoted.split(".")[1]) if "." in quoted else 0
    return any(round(x, places) == round(value, places) for x in shown)


def unshown_numbers(nb, allowed: dict[str, str]) -> list[str]:
    """'cell N: number' for every quoted number that no stored output shows."""
    shown = output_numbers(nb)
    return [
        f"cell {index}: {number}"
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "markdown"
        for number in quoted_numbers(cell.source)
        if number not in allowed and not is_shown(number, shown)
    ]


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_quoted_numbers_appear_in_the_stored_outputs(path: Path):
    nb = nbformat.read(path, as_version=4)
    assert unshown_numbers(nb, NOT_OUTPUTS.get(path.name[:2], {})) == []


def test_the_rule_finds_the_numbers_it_describes():
    text = (
        "R² 0.967 vs `0.5` and $K \\le 133\\,144$, 2,701 samples/s, ~1e-10, 376× but 96×96, 8 bits"
    )
    assert quoted_numbers(text) == ["0.967", "2,701", "1e-10", "376"]


def test_a_number_the_outputs_do_not_show_is_reported():
    """The old text of lessons 03 and 07 contradicted their outputs; the check catches both."""
    nb = nbformat.v4.new_notebook()
    printed = nbformat.v4.new_output("stream", text="relative error below 1e-7? True\n252.3×\n")
    nb.cells = [
        nbformat.v4.new_code_cell("print(...)", outputs=[printed]),
        nbformat.v4.new_markdown_cell("a correct gradient (relative error ~1e-10)"),
        nbformat.v4.new_markdown_cell("here that alone costs about 100× in throughput"),
        nbformat.v4.new_markdown_cell("below 1e-7, two orders of magnitude (252×), R² 252.30"),
    ]
    assert unshown_numbers(nb, {}) == ["cell 1: 1e-10", "cell 2: 100"]


def test_every_allowed_number_is_still_quoted():
    """An allow-list entry whose number left the text is stale: remove it."""
    stale = []
    for path in LESSONS:
        nb = nbformat.read(path, as_version=4)
        quoted = {
            n for c in nb.cells if c.cell_type == "markdown" for n in quoted_numbers(c.source)
        }
        stale += [
            f"{path.name}: {n}" for n in NOT_OUTPUTS.get(path.name[:2], {}) if n not in quoted
        ]
    assert stale == []
