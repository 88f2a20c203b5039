"""Helpers for the MLOps course.

Each lesson in ``notebooks/`` first builds an idea step by step; the tested, reusable version
lives here so later lessons, the model server and the tests can import it. Importing the package
has no side effects.

``__version__`` has one source, the package metadata (``pyproject.toml``'s version, recorded at
install time). Run from a checkout without installing (``PYTHONPATH=src``, as the Makefile asks
for the docker client), it is read from that checkout's ``pyproject.toml``; anywhere else it is
``0+unknown``.
"""

import tomllib
from importlib import metadata

from mlops_course import project

DISTRIBUTION = "mlops-course"
UNKNOWN_VERSION = "0+unknown"  # PEP 440: a local version that sorts below every release


def _version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        pass
    try:  # not installed: this package's own checkout, not the working directory's
        pyproject = project.root(__path__[0]) / project.MARKER
        return tomllib.loads(pyproject.read_text())["project"]["version"]
    except (project.NotACheckout, OSError, KeyError, tomllib.TOMLDecodeError):
        return UNKNOWN_VERSION


__version__ = _version()
