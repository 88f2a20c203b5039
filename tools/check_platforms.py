"""Check that every lock installs on each platform x Python the README supports (`make platforms`).

uv resolves for a platform it is not running on (``--python-platform``), checking that a wheel
exists for each pin there. For every target below, the lock files are resolved as requirements;
the check fails when uv finds no solution (a pin has no wheel there: today's ``tensorflow-cpu``
on macOS) or when the resolution needs a package the lock does not pin for that target. It reads
the package index like an install does: where the index cannot be reached it says so and fails.
Usage: python tools/check_platforms.py [--uv PATH] [--root DIR] [--only LABEL] [--python X.Y]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from mlops_course.environment import read_pins


@dataclass(frozen=True)
class Platform:
    label: str  # as the README's "Students" table names it
    uv: str  # uv's --python-platform
    markers: dict[str, str]  # PEP 508 values there
    locks: tuple[tuple[str, ...], ...]  # the lock files installed together, per venv
    env: tuple[tuple[str, str], ...] = ()


LINUX = {"sys_platform": "linux", "os_name": "posix", "platform_system": "Linux"}
# `make setup`: the course and dev locks in .venv, checkov's in .venv-checkov.
SETUP = (("course.lock", "dev.lock"), ("checkov.lock",))
PLATFORMS = (
    Platform("Linux x86_64", "x86_64-manylinux_2_28", LINUX | {"platform_machine": "x86_64"},
             SETUP),
    Platform("Linux aarch64", "aarch64-manylinux_2_28", LINUX | {"platform_machine": "aarch64"},
             SETUP),
    Platform(
        "macOS arm64",
        "aarch64-apple-darwin",
        {"sys_platform": "darwin", "os_name": "posix", "platform_system": "Darwin",
         "platform_machine": "arm64"},
        SETUP,
        (("MACOSX_DEPLOYMENT_TARGET", "14.0"),),  # onnxruntime 1.31 ships macosx_14_0 wheels only
    ),
    # No `make` on Windows: the Python parts (pip install -r requirements/course.lock) only.
    Platform(
        "Windows x86_64",
        "x86_64-pc-windows-msvc",
        {"sys_platform": "win32", "os_name": "nt", "platform_system": "Windows",
         "platform_machine": "AMD64"},
        (("course.lock",),),
    ),
)  # fmt: skip
PYTHONS = ("3.11", "3.12", "3.13")
# The serving image (docker/serving/Dockerfile) is Linux, Python 3.11, on amd64 and arm64.
SERVING = {"Linux x86_64", "Linux aarch64"}
UNREACHABLE = re.compile(
    r"error sending request|dns error|Could not connect|connection refused|timed out"
    r"|Failed to fetch|network is unreachable|offline",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Target:
    platform: Platform
    python: str
    locks: tuple[str, ...]


@dataclass(frozen=True)
class Result:
    target: Target
    ok: bool
    detail: str
    unreachable: bool = False


def targets(only: str | None = None, python: str | None = None) -> list[Target]:
    chosen = []
    for platform in PLATFORMS:
        if only and platform.label != only:
            continue
        for version in PYTHONS:
            if python and version != python:
                continue
            chosen += [Target(platform, version, locks) for locks in platform.locks]
            if platform.label in SERVING and version == "3.11":
                chosen.append(Target(platform, version, ("serving.lock",)))
    return chosen


def environment(target: Target) -> dict[str, str]:
    """The marker values uv assumes for ``target`` (a ``--python-version X.Y`` means X.Y.0)."""
    return target.platform.markers | {
        "python_version": target.python,
        "python_full_version": f"{target.python}.0",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
    }


def reason(stderr: str) -> str:
    """uv's explanation, on one line."""
    text = " ".join(stderr.replace("╰─▶", " ").replace("×", " ").split())
    start = text.find("Because")
    return (text[start:] if start >= 0 else text)[:400]


def check(target: Target, uv: str, root: Path) -> Result:
    files = [str(root / "requirements" / name) for name in target.locks]
    where = ["--python-platform", target.platform.uv, "--python-version", target.python]
    command = [uv, "pip", "compile", *files, "--no-header", "--no-annotate", "--quiet", *where]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=600,
        env=os.environ | dict(target.platform.env),
        cwd=root / "requirements",
    )
    if done.returncode != 0:
        unreachable = bool(UNREACHABLE.search(done.stderr)) and "No solution" not in done.stderr
        return Result(target, False, reason(done.stderr), unreachable)
    resolved = read_pins(done.stdout.splitlines())
    locked = {}
    for name in target.locks:
        lines = (root / "requirements" / name).read_text().splitlines()
        locked |= read_pins(lines, environment(target))
    extra = {name: v for name, v in resolved.items() if locked.get(name) != v}
    if extra:
        listed = ", ".join(f"{name}=={v} (lock: {locked.get(name)})" for name, v in extra.items())
        return Result(target, False, f"the lock does not pin what this platform needs: {listed}")
    return Result(target, True, f"{len(resolved)} packages, every one pinned")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uv", default=shutil.which("uv") or "uv")
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--only", help="one platform label, e.g. 'macOS arm64'")
    parser.add_argument("--python", choices=PYTHONS)
    args = parser.parse_args(argv)
    if args.only and args.only not in {p.label for p in PLATFORMS}:
        parser.error(f"--only: one of {', '.join(p.label for p in PLATFORMS)}")
    uv = shutil.which(args.uv)
    if uv is None:
        parser.error(f"--uv: {args.uv} is not an executable uv (`make platforms` installs one)")
    uv = str(Path(uv).resolve())
    chosen = targets(args.only, args.python)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda t: check(t, uv, args.root), chosen))
    for result in results:
        t = result.target
        status = "ok  " if result.ok else "FAIL"
        locks = "+".join(t.locks)
        print(f"{status} {t.platform.label:<15} Python {t.python}  {locks:<22} {result.detail}")
    failed = [r for r in results if not r.ok]
    if any(r.unreachable for r in failed):
        print("platforms: the package index cannot be reached, so nothing was checked: "
              "this check needs it, like `make setup`", file=sys.stderr)  # fmt: skip
        return 2
    print(f"platforms: {len(results) - len(failed)} of {len(results)} resolve", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
