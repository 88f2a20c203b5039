"""A lesson's Docker steps, each one line: run where an engine answers, say plainly what to run
where none does.

Introduced in notebooks/09_containers.ipynb and used again in 10_publishing_images.ipynb. A
notebook connects once (``steps = connect("lesson=09")``) and writes each step as
``steps.run(function, "the docker command a student runs")``: with an engine, ``function`` gets
the Docker SDK client and its result comes back; without one (or without the image or tool the
step needs) the step prints why it did not run and the command, and returns None. Everything a
lesson starts carries its label, and :meth:`Steps.cleanup` removes exactly that.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_course import __version__, containers


@dataclass
class Steps:
    """A lesson's view of the engine: its client (None without one), why, and its label."""

    client: Any
    why: str
    label: str

    @property
    def engine(self) -> bool:
        return self.client is not None

    def has_image(self, name: str) -> bool:
        """True where an engine answers and holds the image ``name``."""
        return self.engine and bool(self.client.images.list(name=name))

    def missing(self, images: Iterable[str] = (), tools: Iterable[str] = ()) -> str | None:
        """Why a step that needs ``images`` and ``tools`` cannot run here, or None if it can."""
        if not self.engine:
            return self.why
        for image in images:
            if not self.has_image(image):
                return f"no image {image} here (`make docker-build` builds the course's images)"
        for tool in tools:
            if shutil.which(tool) is None:
                return f"{tool} is not installed here"
        return None

    def run(
        self,
        step: Callable[[Any], Any],
        instead: str,
        images: Iterable[str] = (),
        tools: Iterable[str] = (),
    ) -> Any:
        """``step(client)`` where it can run; otherwise print why not and ``instead`` (the command
        a student runs where Docker does), and return None."""
        why = self.missing(images, tools)
        if why is None:
            return step(self.client)
        print(f"Not run: {why}.\nWhere it can run: {instead}")
        return None

    def build(self, context: Path, tag: str, version: str = __version__, *options: str) -> float:
        """Build ``context``/Dockerfile as ``tag`` with this lesson's label; return the seconds
        the build took."""
        start = time.perf_counter()
        label = ("--label", self.label)
        containers.build_image("Dockerfile", tag, version, context, options=(*label, *options))
        return time.perf_counter() - start

    def cleanup(self) -> None:
        """Remove the containers and images that carry this lesson's label, nothing else."""
        if not self.engine:
            return
        for container in self.client.containers.list(all=True, filters={"label": self.label}):
            container.remove(force=True)
        for image in self.client.images.list(filters={"label": self.label}):
            self.client.images.remove(image.id, force=True)


def connect(label: str) -> Steps:
    """The engine's client if one answers, else a :class:`Steps` that explains; ``label``
    (``"lesson=09"``) marks what the lesson creates."""
    if "=" not in label:
        raise ValueError(f"label must look like key=value, not {label!r}")
    available, why = containers.engine_status()
    return Steps(containers.engine() if available else None, why, label)


def write_context(folder: Path, dockerfile: str, files: Mapping[str, str] | None = None) -> Path:
    """A build context: ``folder`` holding ``Dockerfile`` and ``files`` (name → text)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Dockerfile").write_text(dockerfile)
    for name, text in (files or {}).items():
        (folder / name).write_text(text)
    return folder
