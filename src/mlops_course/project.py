"""Where the course checkout is, and which commit it is at.

Code that needs the repository (image builds, the checkov venv, model provenance) asks here
instead of counting parent folders from its own file, which points into ``site-packages`` once
the package is installed without ``-e``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

MARKER = "pyproject.toml"
NAME = 'name = "mlops-course"'


class NotACheckout(RuntimeError):
    """Neither the working directory nor the package lies inside the course repository."""


def _is_root(folder: Path) -> bool:
    marker = folder / MARKER
    return marker.is_file() and NAME in marker.read_text(encoding="utf-8", errors="replace")


def root(start: str | Path | None = None) -> Path:
    """The course repository holding ``start`` (default: the working directory, then this file)."""
    starts = [Path(start)] if start else [Path.cwd(), Path(__file__).parent]
    for first in starts:
        first = first.resolve()
        for folder in (first, *first.parents):
            if _is_root(folder):
                return folder
    raise NotACheckout(
        f"no course checkout (a folder whose {MARKER} names mlops-course) above "
        + " or ".join(str(s) for s in starts)
        + "; run this from inside the repository"
    )


def git_commit(folder: str | Path | None = None) -> str | None:
    """The git commit checked out at ``folder`` (default: the working directory), or None."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=folder or Path.cwd(),
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = result.stdout.strip()
    return commit if result.returncode == 0 and len(commit) == 40 else None
