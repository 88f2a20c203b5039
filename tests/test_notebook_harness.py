"""The notebook harness can fail: nbval (strict, with our sanitizer) catches changed numbers and
failing asserts, and `make execute` never overwrites a notebook whose run failed."""

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from paths import ROOT

from mlops_course import notebooks

NBVAL = [
    sys.executable,
    "-m",
    "pytest",
    "-q",
    "-p",
    "no:cacheprovider",
    "--nbval",
    "--nbval-current-env",
    "--nbval-sanitize-with",
    str(ROOT / "tests/nbval_sanitize.cfg"),
    "--rootdir",
    "{dir}",
    "-c",
    "/dev/null",
]


def nbval(path: Path) -> subprocess.CompletedProcess:
    args = [a.replace("{dir}", str(path.parent)) for a in NBVAL] + [str(path)]
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


@pytest.fixture
def executed(tmp_path: Path) -> Path:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        new_code_cell("theta = [0.5, 2.0]\naccuracy = 0.973"),
        new_code_cell("assert accuracy >= 0.96\nprint(f'accuracy {accuracy:.3f}')"),
        new_code_cell("print(object())  # an address, sanitized"),
    ]
    path = tmp_path / "01_example.ipynb"
    nbformat.write(nb, path)
    notebooks.execute_notebook(path)
    return path


def edit(path: Path, index: int, change) -> None:
    nb = nbformat.read(path, as_version=4)
    change(nb.cells[index])
    nbformat.write(nb, path)


@pytest.mark.slow
def test_stored_outputs_pass(executed: Path):
    result = nbval(executed)
    assert result.returncode == 0, result.stdout[-2000:]


@pytest.mark.slow
def test_a_changed_stored_number_fails(executed: Path):
    edit(executed, 1, lambda c: c.outputs[0].update(text="accuracy 0.974\n"))
    assert nbval(executed).returncode == 1


@pytest.mark.slow
def test_a_failing_assert_fails(executed: Path):
    edit(executed, 0, lambda c: c.update(source="theta = [0.5, 2.0]\naccuracy = 0.5"))
    assert nbval(executed).returncode == 1


def test_execute_writes_outputs_and_counts(executed: Path):
    nb = nbformat.read(executed, as_version=4)
    assert [c.execution_count for c in nb.cells] == [1, 2, 3]
    assert nb.cells[1].outputs[0].text == "accuracy 0.973\n"


def test_execute_leaves_a_failing_notebook_untouched(executed: Path):
    edit(executed, 0, lambda c: c.update(source="raise ValueError('boom')"))
    before = executed.read_bytes()
    result = subprocess.run(
        [sys.executable, "-m", "mlops_course.notebooks", "execute", str(executed)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "FAILED" in result.stderr and "boom" in result.stderr
    assert executed.read_bytes() == before


def test_execute_rejects_a_missing_path(tmp_path: Path):
    result = subprocess.run(
        [sys.executable, "-m", "mlops_course.notebooks", "execute", str(tmp_path / "nope.ipynb")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "not a notebook" in result.stderr and "Traceback" not in result.stderr


def test_model_notebooks_finds_the_notebooks_that_train_or_convert(tmp_path: Path):
    cells = {
        "01_fit.ipynb": "model.fit(x, y, epochs=3)",
        "02_convert.ipynb": "converter = tf.lite.TFLiteConverter.from_saved_model(path)",
        "03_load.ipynb": "model = model_repository.load_keras(REPO)\nprint(model.name)",
    }
    for name, source in cells.items():
        nb = new_notebook(cells=[new_code_cell(source)])
        nbformat.write(nb, tmp_path / name)
    found = notebooks.model_notebooks([tmp_path])
    assert [p.name for p in found] == ["01_fit.ipynb", "02_convert.ipynb"]


def test_the_course_notebooks_that_train_are_run_on_one_core():
    found = {
        p.as_posix() for p in notebooks.model_notebooks([ROOT / "notebooks", ROOT / "solutions"])
    }
    for lesson in (
        "03_neural_networks",
        "05_train_and_export",
        "06_optimize_models",
        "12_edge_tpu",
    ):
        assert str(ROOT / "notebooks" / f"{lesson}.ipynb") in found
