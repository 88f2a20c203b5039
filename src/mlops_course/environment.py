"""What is installed, and which optional tools this machine has (introduced in 00_course_tour).

The Edge TPU probes (:func:`pycoral_found`, :func:`edgetpu_library_loads`) live here, and
:mod:`mlops_course.edgetpu.classify` (lesson 12) asks them too.
"""

from __future__ import annotations

import ctypes
import importlib.metadata
import importlib.util
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import Marker

# The distributions the course is built on, in the order the lessons meet them.
STACK = (
    *("numpy", "scikit-learn", "matplotlib", "tensorflow-cpu", "keras", "tf2onnx", "onnx"),
    *("onnxruntime", "ai-edge-litert", "flask", "gunicorn", "jupyterlab", "otter-grader"),
)
#: Distributions that another name replaces on some platforms (macOS and Linux aarch64 install
#: ``tensorflow``; see the README's platform table). Reported under the name installed or locked.
ALTERNATIVES = {"tensorflow-cpu": ("tensorflow",)}
#: The Edge TPU runtime library on Linux (macOS: libedgetpu.1.dylib, Windows: edgetpu.dll).
EDGETPU_LIB = "libedgetpu.so.1"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._\-\[\]]*)==([^\s;#]+)\s*(?:;\s*([^#]*))?")


def normalise(name: str) -> str:
    """PEP 503 name normalisation: ``Scikit_Learn`` and ``scikit-learn`` are one package."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    marker: str  # the PEP 508 environment marker ("" when the pin holds everywhere)


def read_lock(lines: list[str]) -> list[Pin]:
    """Every ``name==version [; marker]`` line of a universal lock, notes and comments skipped."""
    pins = []
    for line in lines:
        match = _PIN.match(line.strip())
        if match:
            pins.append(Pin(normalise(match[1]), match[2], (match[3] or "").strip()))
    return pins


def read_pins(lines: list[str], environment: dict[str, str] | None = None) -> dict[str, str]:
    """``{name: version}`` of the pins whose marker holds in ``environment`` (default: this Python).

    The locks are universal: one file for every platform, a marker where a pin differs
    (``tensorflow-cpu`` on Linux x86_64 and Windows, ``tensorflow`` elsewhere; see README).
    """
    return {
        pin.name: pin.version
        for pin in read_lock(lines)
        if not pin.marker or Marker(pin.marker).evaluate(environment)
    }


def stack_versions(names: tuple[str, ...] = STACK) -> dict[str, str | None]:
    """Installed version of each distribution (None when it is not installed)."""
    versions: dict[str, str | None] = {}
    for name in names:
        for candidate in (name, *ALTERNATIVES.get(name, ())):
            try:
                versions[candidate] = importlib.metadata.version(candidate)
                break
            except importlib.metadata.PackageNotFoundError:
                continue
        else:
            versions[name] = None
    return versions


@dataclass(frozen=True)
class Tool:
    name: str
    present: bool
    detail: str
    without_it: str


def _run(command: list[str], timeout: float = 15) -> tuple[bool, str]:
    if shutil.which(command[0]) is None:
        return False, f"{command[0]} is not on PATH"
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as error:
        return False, f"{command[0]} did not answer: {error}"
    text = (
        (done.stdout if done.returncode == 0 else done.stderr or done.stdout).strip().splitlines()
    )
    return done.returncode == 0, text[0] if text else f"exit status {done.returncode}"


def edgetpu_library_loads(library: str = EDGETPU_LIB) -> tuple[bool, str]:
    """Can the Edge TPU runtime library be loaded at all? (No device needed.)"""
    try:
        ctypes.CDLL(library)
    except OSError as error:
        first = str(error).strip().splitlines()
        return False, f"{library} cannot be loaded ({first[0] if first else 'OSError'})"
    return True, f"{library} loads"


def pycoral_found() -> bool:
    """Is Google's pycoral installed? (PyPI's unrelated ``pycoral`` has no ``pycoral.utils``.)"""
    try:
        return importlib.util.find_spec("pycoral.utils.edgetpu") is not None
    except ModuleNotFoundError:
        return False


def _pycoral() -> tuple[bool, str]:
    found = pycoral_found()
    return found, "Google's pycoral imports" if found else "Google's pycoral is not installed"


def optional_tools() -> list[Tool]:
    """Probe the tools some lessons use; each says what a student can do without it."""
    probes = [
        (
            "Docker engine",
            _run(["docker", "info", "--format", "{{.ServerVersion}}"]),
            "read and lint the Dockerfiles (08); CI builds and runs the images",
        ),
        (
            "kubectl",
            _run(["kubectl", "version", "--client"]),
            "validate manifests against the API schemas offline (09)",
        ),
        (
            "edgetpu_compiler",
            _run(["edgetpu_compiler", "--version"]),
            "run the Edge TPU preflight check and the CPU fallback (10)",
        ),
        ("Edge TPU runtime", edgetpu_library_loads(), "classify on the CPU with LiteRT (10)"),
        ("pycoral", _pycoral(), "use the course's pycoral-style CPU interface (10)"),
    ]
    return [Tool(name, ok, detail, without) for name, (ok, detail), without in probes]


def locked_versions(lock: Path, names: tuple[str, ...] = STACK) -> dict[str, str | None]:
    """The versions ``lock`` pins for ``names`` on this platform."""
    pins = read_pins(lock.read_text().splitlines())
    versions: dict[str, str | None] = {}
    for name in names:
        found = [n for n in (name, *ALTERNATIVES.get(name, ())) if normalise(n) in pins]
        name = found[0] if found else name
        versions[name] = pins.get(normalise(name))
    return versions
