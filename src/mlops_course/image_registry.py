"""A private image registry on 127.0.0.1 for publishing images, and a timed push.

Introduced in notebooks/10_publishing_images.ipynb.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from mlops_course.server_process import tied_popen


class LocalRegistry:
    """A private image registry on 127.0.0.1: Debian's ``docker-registry`` (CNCF distribution).

    Use it as a context manager; it stores images in a temporary folder and is gone afterwards.
    Docker talks plain HTTP to registries on loopback, so no TLS set-up is needed.
    """

    def __init__(self, port: int, binary: str = "docker-registry") -> None:
        self.port = port
        self.address = f"127.0.0.1:{port}"
        self.binary = shutil.which(binary)
        if self.binary is None:
            raise FileNotFoundError(f"{binary} is not installed (apt-get install docker-registry)")
        self._folder = tempfile.TemporaryDirectory(prefix="registry-")
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 20) -> LocalRegistry:
        import urllib.request

        root = Path(self._folder.name)
        config = root / "config.yml"
        config.write_text(
            "version: 0.1\n"
            f"storage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n"
            f"http:\n  addr: {self.address}\n"
        )
        with open(root / "registry.log", "wb") as log:  # the child keeps its own handle
            self.process = tied_popen(  # stops with this process, too
                [self.binary, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://{self.address}/v2/", timeout=2):
                    return self
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.2)
        message = self.log()
        self.stop()
        raise RuntimeError(f"registry did not start on {self.address}:\n{message}")

    def log(self) -> str:
        path = Path(self._folder.name) / "registry.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def catalog(self) -> dict[str, Any]:
        """The registry's ``/v2/_catalog``: which repositories it holds."""
        import urllib.request

        with urllib.request.urlopen(f"http://{self.address}/v2/_catalog", timeout=5) as answer:
            return json.load(answer)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._folder.cleanup()

    def __enter__(self) -> LocalRegistry:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class PushFailed(RuntimeError):
    """A push reported an error line; nothing was deleted."""


def push(client, image: str, repository: str, tag: str) -> float:
    """Tag ``image`` as ``repository:tag`` and push it; return the seconds the push took. A push
    reports failure as a line with an ``"error"`` key, not as an exception: raise
    :class:`PushFailed` with it."""
    client.images.get(image).tag(repository, tag=tag)
    start = time.perf_counter()
    for line in client.images.push(repository, tag=tag, stream=True, decode=True):
        if "error" in line:
            raise PushFailed(f"push of {repository}:{tag} failed: {line['error']}")
    return time.perf_counter() - start
