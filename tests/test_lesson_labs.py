"""Every lesson is on the course map, has a lab, says its number in its title and links its lab."""

import re

import nbformat
import pytest
from nbformat.v4 import new_markdown_cell, new_notebook
from paths import ROOT

from mlops_course.course_map import LESSONS

TAUGHT = [lesson for lesson in LESSONS if lesson.number > 0]  # 00, the tour, has no lab


def next_section(nb) -> str:
    """The markdown from the '## Next' heading to the end of its cell."""
    for cell in nb.cells:
        if cell.cell_type == "markdown" and "## Next" in cell.source:
            return cell.source[cell.source.index("## Next") :]
    return ""


def problems(nb, number: int, lab: str) -> list[str]:
    found = []
    title = nb.cells[0].source if nb.cells else ""
    if not re.match(rf"# {number:02d} · ", title):
        found.append(f"the title must start with '# {number:02d} · '")
    if f"../labs/{lab}" not in next_section(nb):
        found.append(f"'## Next' must link ../labs/{lab}")
    return found


def test_every_notebook_is_on_the_course_map():
    on_map = {lesson.notebook for lesson in LESSONS}
    assert {p.name for p in (ROOT / "notebooks").glob("[0-9]*.ipynb")} == on_map


@pytest.mark.parametrize("lesson", TAUGHT, ids=lambda lesson: lesson.notebook)
def test_lesson_has_a_lab_and_links_it(lesson):
    for folder in ("solutions", "labs"):
        assert (ROOT / folder / lesson.lab).is_file(), f"{folder}/{lesson.lab} is missing"
    nb = nbformat.read(ROOT / "notebooks" / lesson.notebook, as_version=4)
    assert problems(nb, lesson.number, lesson.lab) == []


def test_the_rule_catches_a_wrong_number_and_a_missing_link():
    nb = new_notebook(cells=[new_markdown_cell("# 08 · Containers"), new_markdown_cell("## Next")])
    assert problems(nb, 9, "09_containers_lab.ipynb") == [
        "the title must start with '# 09 · '",
        "'## Next' must link ../labs/09_containers_lab.ipynb",
    ]
    nb.cells = [
        new_markdown_cell("# 09 · Containers"),
        new_markdown_cell("## Next\n[lab](../labs/09_containers_lab.ipynb)"),
    ]
    assert problems(nb, 9, "09_containers_lab.ipynb") == []
