"""Lessons and labs follow the notebook conventions; each rule is shown to catch a violation."""

import subprocess
import sys
from pathlib import Path

import nbformat
import notebook_style as style
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from paths import ROOT

LESSONS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_lesson_follows_conventions(path: Path):
    assert style.lesson_problems(path) == []


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_lab_solution_follows_conventions(path: Path):
    assert style.lab_problems(path) == []


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_lesson_marks_unstable_outputs_with_a_tag(path: Path):
    assert style.check_ignore_tags(nbformat.read(path, as_version=4)) == []


def test_template_has_the_lesson_skeleton():
    nb = nbformat.read(ROOT / "notebooks/_template.ipynb", as_version=4)
    assert style.check_title(nb) == []
    assert style.check_sections(nb, style.LESSON_SECTIONS) == []


def test_no_stray_notebooks():
    tracked = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.ipynb"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    stray = [
        p
        for p in tracked
        if Path(p).parent.name not in {"notebooks", "solutions", "labs"}
        or "checkpoint" in p
        or (not style.NAME.match(Path(p).name) and Path(p).name != "_template.ipynb")
    ]
    assert stray == [], "notebooks outside notebooks/, solutions/, labs/ or badly named"


# The rules themselves, each shown to fail on a notebook that breaks it.


def good_notebook():
    nb = new_notebook()
    nb.cells = [
        new_markdown_cell("# 01 · Title"),
        new_markdown_cell("## What you will learn\n\n- a thing"),
        new_markdown_cell("## Setup"),
        new_code_cell("import math", execution_count=1),
        new_code_cell("assert math.pi > 3", execution_count=2),
        new_markdown_cell("## Summary\n\n## Discussion questions\n\n## Next"),
    ]
    return nb


def test_a_good_notebook_passes():
    nb = good_notebook()
    assert style.check_title(nb) == style.check_sections(nb, style.LESSON_SECTIONS) == []
    assert style.check_executed_in_order(nb) == style.check_asserts(nb) == []


def test_missing_title_is_caught():
    nb = good_notebook()
    nb.cells[0].source = "Title without a heading"
    assert style.check_title(nb)


def test_second_h1_is_caught():
    nb = good_notebook()
    nb.cells.append(new_markdown_cell("# Another title"))
    assert style.check_title(nb)


@pytest.mark.parametrize("section", style.LESSON_SECTIONS)
def test_missing_section_is_caught(section: str):
    nb = good_notebook()
    for cell in nb.cells:
        cell.source = cell.source.replace(f"## {section}", "## Something else")
    assert style.check_sections(nb, style.LESSON_SECTIONS)


def test_long_code_cell_is_caught():
    nb = good_notebook()
    nb.cells.append(new_code_cell("\n".join(f"x{i} = {i}" for i in range(26))))
    assert style.check_code_cells(nb)


@pytest.mark.parametrize("text", ["open('/home/ana/data.csv')", r"'C:\\data'", "/work/main/x"])
def test_absolute_path_is_caught(text: str):
    nb = good_notebook()
    nb.cells.append(new_code_cell(text))
    assert style.check_no_absolute_paths(nb)


def test_absolute_path_in_an_output_is_caught():
    nb = good_notebook()
    out = nbformat.v4.new_output("stream", name="stderr", text="/root/.venv/lib/site-packages/x.py")
    nb.cells[4].outputs = [out]
    assert style.check_no_absolute_paths(nb)


def test_out_of_order_execution_is_caught():
    nb = good_notebook()
    nb.cells[4].execution_count = 7
    assert style.check_executed_in_order(nb)


def test_unexecuted_notebook_is_caught():
    nb = good_notebook()
    nb.cells[3].execution_count = nb.cells[4].execution_count = None
    assert style.check_executed_in_order(nb)


def test_stored_error_is_caught():
    nb = good_notebook()
    nb.cells[4].outputs = [nbformat.v4.new_output("error", ename="E", evalue="", traceback=[])]
    assert style.check_executed_in_order(nb)


def test_missing_assert_is_caught():
    nb = good_notebook()
    nb.cells[4].source = "math.pi > 3"
    assert style.check_asserts(nb)


def test_broken_link_is_caught(tmp_path: Path):
    nb = good_notebook()
    nb.cells.append(new_markdown_cell("See [the lab](../labs/99_missing_lab.ipynb)."))
    assert style.check_links(nb, tmp_path)


@pytest.mark.parametrize("name", ["Untitled.ipynb", "lesson.ipynb", "1_x.ipynb", "01-Bad.ipynb"])
def test_bad_file_name_is_caught(tmp_path: Path, name: str):
    path = tmp_path / name
    nbformat.write(good_notebook(), path)
    assert style.check_file(path)


def test_oversized_notebook_is_caught(tmp_path: Path):
    nb = good_notebook()
    nb.cells[4].outputs = [nbformat.v4.new_output("stream", name="stdout", text="x" * 1_100_000)]
    path = tmp_path / "01_big.ipynb"
    nbformat.write(nb, path)
    assert style.check_file(path)


def test_ignore_comment_is_caught():
    nb = good_notebook()
    nb.cells[4].source = "# NBVAL_IGNORE_OUTPUT\nassert math.pi > 3"
    assert style.check_ignore_tags(nb)
    nb.cells[4].source = "assert math.pi > 3"
    nb.cells[4].metadata["tags"] = ["nbval-ignore-output"]
    assert style.check_ignore_tags(nb) == []


@pytest.mark.slow
@pytest.mark.parametrize(("tags", "returncode"), [(["nbval-ignore-output"], 0), ([], 1)])
def test_nbval_honours_the_ignore_tag(tmp_path: Path, tags: list[str], returncode: int):
    """The course's nbval skips the comparison of a tagged cell and compares an untagged one."""
    cell = new_code_cell("import random\nprint(random.random())", execution_count=1)
    cell.metadata["tags"] = tags
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="0.123\n")]
    path = tmp_path / "01_tagged.ipynb"
    nbformat.write(new_notebook(cells=[cell]), path)
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval"]
    result = subprocess.run(
        [*args, "--nbval-current-env", str(path)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == returncode, result.stdout[-2000:]
