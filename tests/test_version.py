"""mlops_course.__version__: one source, the package metadata, with a stated fallback."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from paths import ROOT

import mlops_course

PRINT = "import mlops_course; print(mlops_course.__version__)"


def version_of(src: Path, cwd: Path) -> str:
    """``__version__`` as a fresh interpreter sees it, importing the package from ``src``."""
    code = f"import sys; sys.path.insert(0, {str(src)!r}); {PRINT}"
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, cwd=cwd
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_version_is_the_package_metadata():
    assert mlops_course.__version__ == metadata.version("mlops-course")


def test_metadata_and_pyproject_agree():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["version"] == metadata.version("mlops-course")


def test_not_installed_it_reads_the_checkouts_pyproject(tmp_path):
    """-S: no site-packages, so no metadata; the checkout holding src/ still knows its version."""
    assert version_of(ROOT / "src", tmp_path) == mlops_course.__version__


def test_outside_a_checkout_it_is_unknown(tmp_path):
    shutil.copytree(ROOT / "src" / "mlops_course", tmp_path / "lib" / "mlops_course")
    assert version_of(tmp_path / "lib", tmp_path) == mlops_course.UNKNOWN_VERSION
