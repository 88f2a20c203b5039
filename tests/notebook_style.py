"""The course's notebook conventions (CONTRIBUTING.md), as checks that return readable problems.

Each check takes a notebook (nbformat node) and returns a list of strings; empty means it passes.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

MAX_CODE_LINES = 25
MAX_BYTES = 1_000_000
NAME = re.compile(r"^\d{2}_[a-z0-9]+(_[a-z0-9]+)*\.ipynb$")
# Paths that only exist on one machine: home folders, this checkout, Windows drives, venvs.
ABSOLUTE_PATH = re.compile(r"(/home/|/root/|/Users/|/work/|[A-Z]:\\\\|site-packages)")
LINK = re.compile(r"\]\(([^)#\s]+)(#[^)]*)?\)")
LESSON_SECTIONS = ("What you will learn", "Setup", "Summary", "Discussion questions", "Next")
LAB_SECTIONS = ("What you will practise", "Setup", "Summary")


def headings(nb) -> list[tuple[int, str]]:
    """(level, text) of every markdown heading, in order."""
    found = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                match = re.match(r"^(#{1,6})\s+(.*\S)", line)
                if match:
                    found.append((len(match[1]), match[2]))
    return found


def check_title(nb) -> list[str]:
    first = nb.cells[0] if nb.cells else None
    if first is None or first.cell_type != "markdown" or not first.source.startswith("# "):
        return ["the first cell must be a markdown H1 title ('# ...')"]
    h1 = [text for level, text in headings(nb) if level == 1]
    return [] if len(h1) == 1 else [f"exactly one H1 title expected, found {len(h1)}: {h1}"]


def check_sections(nb, required: tuple[str, ...]) -> list[str]:
    titles = [text for level, text in headings(nb) if level == 2]
    problems = [f"missing section '## {name}'" for name in required if name not in titles]
    if "Setup" in titles:
        index = next(i for i, c in enumerate(nb.cells) if "## Setup" in c.source)
        after = [c for c in nb.cells[index + 1 :] if c.cell_type == "code"][:1]
        if not after or "import" not in after[0].source:
            problems.append("'## Setup' must be followed by a code cell with the imports")
    return problems


def check_code_cells(nb) -> list[str]:
    problems = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        lines = len(cell.source.splitlines())
        if lines > MAX_CODE_LINES:
            problems.append(f"cell {index}: {lines} lines of code (at most {MAX_CODE_LINES})")
    return problems


def check_no_absolute_paths(nb) -> list[str]:
    problems = []
    for index, cell in enumerate(nb.cells):
        texts = [cell.source]
        for output in cell.get("outputs", []):
            texts += [output.get("text", ""), "\n".join(output.get("traceback", []))]
            texts += [str(v) for k, v in output.get("data", {}).items() if k.startswith("text/")]
        for text in texts:
            match = ABSOLUTE_PATH.search(text if isinstance(text, str) else "".join(text))
            if match:
                problems.append(f"cell {index}: machine-specific path {match[0]!r}")
                break
    return problems


def check_executed_in_order(nb) -> list[str]:
    """Stored outputs come from one top-to-bottom run in a fresh kernel: counts are 1, 2, 3, ..."""
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    if counts != list(range(1, len(counts) + 1)):
        return [f"execution counts {counts} are not 1..{len(counts)}: run `make execute`"]
    errors = [
        i
        for i, c in enumerate(nb.cells)
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    return [f"cells {errors} stored an error"] if errors else []


def check_asserts(nb) -> list[str]:
    """Correctness that nbval cannot compare exactly is asserted in the notebook itself."""
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    return (
        []
        if re.search(r"^\s*assert\b", code, re.M)
        else ["no assert: assert what the lesson shows"]
    )


IGNORE_COMMENT = re.compile(r"^\s*#\s*NBVAL_IGNORE_OUTPUT\s*$", re.M)


def check_ignore_tags(nb) -> list[str]:
    """Unstable outputs carry the ``nbval-ignore-output`` cell tag, not a comment students read."""
    return [
        f"cell {index}: use the nbval-ignore-output tag instead of '# NBVAL_IGNORE_OUTPUT'"
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and IGNORE_COMMENT.search(cell.source)
    ]


def check_links(nb, folder: Path) -> list[str]:
    problems = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        for target, _anchor in LINK.findall(cell.source):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (folder / target).exists():
                problems.append(f"cell {index}: broken link {target}")
    return problems


def check_file(path: Path) -> list[str]:
    problems = []
    if not NAME.match(path.name):
        problems.append(f"{path.name}: name must look like NN_snake_case.ipynb")
    if path.stat().st_size > MAX_BYTES:
        problems.append(f"{path.name}: {path.stat().st_size} bytes (at most {MAX_BYTES})")
    return problems


def lesson_problems(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    return [
        *check_file(path),
        *check_title(nb),
        *check_sections(nb, LESSON_SECTIONS),
        *check_code_cells(nb),
        *check_no_absolute_paths(nb),
        *check_executed_in_order(nb),
        *check_asserts(nb),
        *check_links(nb, path.parent),
    ]


def lab_problems(path: Path) -> list[str]:
    """Solutions are stored executed; their test cells are the asserts."""
    nb = nbformat.read(path, as_version=4)
    nb.cells = [c for c in nb.cells if c.cell_type != "raw"]  # otter's config and markers
    return [
        *check_file(path),
        *check_title(nb),
        *check_sections(nb, LAB_SECTIONS),
        *check_code_cells(nb),
        *check_no_absolute_paths(nb),
        *check_executed_in_order(nb),
        *check_links(nb, path.parent),
    ]
