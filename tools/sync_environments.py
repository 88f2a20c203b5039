"""Keep environment.yml (conda) and binder/requirements.txt (Binder) pinned exactly like the lock.

requirements/course.lock is the single source: `make lock` calls ``write`` after resolving it, and
tests/test_lock_copies.py calls ``check`` so that a hand edit to either copy fails CI. The lock
is universal, so each copy carries its environment markers (pip evaluates them for conda, Binder).
Usage: python tools/sync_environments.py {write,check} [--root DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from mlops_course.environment import Pin, read_lock

PYTHON_VERSION = "3.11"
HEADER = "# Generated from requirements/course.lock by `make lock`; do not edit by hand.\n"


def line(pin: Pin) -> str:
    return f"{pin.name}=={pin.version}" + (f" ; {pin.marker}" if pin.marker else "")


def keyed(pins: list[Pin]) -> dict[str, str]:
    """``{name [; marker]: version}``: a name may be pinned twice, under different markers."""
    return {line(pin).replace(f"=={pin.version}", ""): pin.version for pin in pins}


def lock_pins(root: Path) -> dict[str, str]:
    return keyed(read_lock((root / "requirements/course.lock").read_text().splitlines()))


def conda_pins(root: Path) -> tuple[str, dict[str, str]]:
    """The Python version and the pip pins that environment.yml asks conda for."""
    env = yaml.safe_load((root / "environment.yml").read_text())
    python, pip_lines = None, []
    for dep in env.get("dependencies", []):
        if isinstance(dep, dict):
            pip_lines += dep.get("pip", [])
        elif str(dep).startswith("python="):
            python = str(dep).split("=", 1)[1]
    return python, keyed(read_lock(pip_lines))


def binder_pins(root: Path) -> tuple[str, dict[str, str]]:
    runtime = (root / "binder/runtime.txt").read_text().strip().removeprefix("python-")
    return runtime, keyed(read_lock((root / "binder/requirements.txt").read_text().splitlines()))


def differences(root: Path) -> list[str]:
    """Every way environment.yml and binder/ differ from the lock (empty when they agree)."""
    want = lock_pins(root)
    problems = []
    for label, (python, got) in {
        "environment.yml": conda_pins(root),
        "binder/": binder_pins(root),
    }.items():
        if python != PYTHON_VERSION:
            problems.append(f"{label}: Python {python}, the lock is for {PYTHON_VERSION}")
        for name in sorted(want.keys() | got.keys()):
            if want.get(name) != got.get(name):
                problems.append(
                    f"{label}: {name} {got.get(name)} but the lock has {want.get(name)}"
                )
    return problems


def write(root: Path) -> None:
    lock = read_lock((root / "requirements/course.lock").read_text().splitlines())
    pins = sorted(line(pin) for pin in lock)
    (root / "binder/requirements.txt").write_text(HEADER + "\n".join(pins) + "\n")
    (root / "binder/runtime.txt").write_text(f"python-{PYTHON_VERSION}\n")
    pip = "".join(f'      - "{pin}"\n' for pin in pins)
    (root / "environment.yml").write_text(
        HEADER + "# conda env create -f environment.yml && conda activate mlops-course"
        " && pip install --no-deps -e .\n"
        f"name: mlops-course\nchannels:\n  - conda-forge\ndependencies:\n"
        f"  - python={PYTHON_VERSION}\n  - pip\n  - pip:\n{pip}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["write", "check"])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args(argv)
    if args.command == "write":
        write(args.root)
        return 0
    problems = differences(args.root)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print("run `make lock` to regenerate them from requirements/course.lock", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
