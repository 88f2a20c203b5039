"""tools/check_platforms.py (`make platforms`): the locks resolve for every platform x Python the
README supports, and the check fails when a pin drops a platform. The resolving tests read the
package index, like `make setup`; where it cannot be reached they fail and say so, never pass.
CI runs the full check (every target) from .ci/run; these tests run one target each."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import check_platforms  # noqa: E402

UV = str(Path(sys.executable).with_name("uv"))
MAC = ["--only", "macOS arm64", "--python", "3.12"]


def run(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        str(ROOT / "tools/check_platforms.py"),
        "--uv",
        UV,
        "--root",
        str(root),
    ]
    result = subprocess.run(
        [*command, *args], capture_output=True, text=True, env=os.environ | env, timeout=600
    )
    if env.get("UV_DEFAULT_INDEX") is None and result.returncode == 2:
        pytest.fail(
            f"the package index cannot be reached, so nothing was checked:\n{result.stderr}"
        )
    return result


@pytest.fixture
def locks(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "requirements", tmp_path / "requirements")
    return tmp_path


def edit(root: Path, lock: str, pattern: str, replacement: str) -> None:
    path = root / "requirements" / lock
    text, count = re.subn(pattern, replacement, path.read_text(), flags=re.MULTILINE)
    assert count, f"{pattern!r} is not in {lock}"
    path.write_text(text)


def test_readme_and_makefile_name_exactly_the_checked_platforms_and_pythons():
    readme = (ROOT / "README.md").read_text()
    table = [ln for ln in readme.splitlines() if ln.startswith("| ") and " | " in ln]
    for platform in check_platforms.PLATFORMS:
        assert any(ln.startswith(f"| {platform.label}") for ln in table), platform.label
    makefile = (ROOT / "Makefile").read_text()
    supported = re.search(r"^SUPPORTED_PYTHONS := (.*)$", makefile, re.MULTILINE)[1].split()
    assert tuple(supported) == check_platforms.PYTHONS
    assert f"Python {', '.join(supported[:-1])} or {supported[-1]}" in readme


@pytest.mark.slow
def test_the_committed_locks_resolve_on_macos(locks: Path):
    result = run(locks, *MAC)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("ok ") == 2  # .venv (course + dev) and .venv-checkov


@pytest.mark.slow
def test_a_pin_with_no_wheel_for_a_platform_fails(locks: Path):
    """Today's tensorflow-cpu pin, unmarked, as it was before the universal lock."""
    edit(locks, "course.lock", r"^tensorflow-cpu==2\.21\.0 ; .*$", "tensorflow-cpu==2.21.0")
    edit(locks, "course.lock", r"^tensorflow==2\.21\.0 ; .*\n", "")
    result = run(locks, *MAC)
    assert result.returncode == 1
    assert (
        "FAIL macOS arm64" in result.stdout
        and "tensorflow-cpu==2.21.0 has no wheels" in result.stdout
    )


@pytest.mark.slow
def test_a_package_the_lock_does_not_pin_fails(locks: Path):
    for lock in ("course.lock", "dev.lock"):  # ipykernel needs appnope on macOS only
        edit(locks, lock, r"^appnope==.*\n", "")
    result = run(locks, *MAC)
    assert result.returncode == 1
    assert "does not pin what this platform needs: appnope" in result.stdout


@pytest.mark.slow
def test_an_unreachable_index_fails_and_says_so(locks: Path):
    result = run(locks, *MAC, UV_DEFAULT_INDEX="http://127.0.0.1:9/simple", UV_NO_CACHE="1")
    assert result.returncode == 2
    assert "the package index cannot be reached" in result.stderr
