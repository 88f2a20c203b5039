"""Start a server as a child process on 127.0.0.1, wait until it answers, always stop it.

The notebook, the end-to-end tests and the benchmark use this, so none of them leaves a server
running: :class:`ServerProcess` is a context manager, starts the child in its own process group
and, on exit, asks it to stop (SIGTERM) and kills the group if it does not.

Introduced in notebooks/07_serving_with_flask.ipynb.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

HOST = "127.0.0.1"


def free_port(host: str = HOST) -> int:
    """A TCP port that was free a moment ago (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def gunicorn_command(port: int, workers: int = 2, threads: int = 4) -> list[str]:
    """The production command line (``make serve`` runs the same one)."""
    return [
        sys.executable, "-m", "gunicorn", "-c", "python:mlops_course.serving.gunicorn_conf",
        "--bind", f"{HOST}:{port}", "--workers", str(workers), "--threads", str(threads),
        "mlops_course.serving.wsgi:app",
    ]  # fmt: skip


class ServerProcess:
    """A server child process: ``with ServerProcess(cmd, port) as server: server.url``.

    Introduced in notebooks/07_serving_with_flask.ipynb. Output goes to ``server.log_path``, in a
    temporary folder that :meth:`stop` removes.
    """

    def __init__(self, command: list[str], port: int, env: dict[str, str] | None = None,
                 ready_path: str = "/v2/health/ready", timeout: float = 60.0,
                 cwd: str | Path | None = None) -> None:  # fmt: skip
        self.command, self.port, self.ready_path, self.timeout = command, port, ready_path, timeout
        self.env = {**os.environ, **(env or {})}
        self.cwd = cwd
        self.url = f"http://{HOST}:{port}"
        self.process: subprocess.Popen | None = None
        self._folder = tempfile.TemporaryDirectory(prefix="server-")
        self.log_path = Path(self._folder.name) / "server.log"

    def start(self) -> ServerProcess:
        """Start the child and block until ``ready_path`` answers 200 (or raise with its log)."""
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                self.command, env=self.env, cwd=self.cwd, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = self.log()
                self.stop()
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{log}")
            try:
                with urllib.request.urlopen(self.url + self.ready_path, timeout=2) as answer:
                    if answer.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        log = self.log()
        self.stop()
        raise TimeoutError(f"server not ready after {self.timeout} s:\n{log}")

    def log(self) -> str:
        """Everything the server printed so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self) -> bool:
        """Whether the child process is still running."""
        return self.process is not None and self.process.poll() is None

    def stop(self, grace: float = 10.0) -> int | None:
        """SIGTERM, wait up to ``grace`` seconds, then SIGKILL the whole process group."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        try:  # workers left behind by a killed master share its process group
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._folder.cleanup()  # the log goes too: read server.log() before stopping
        return self.process.returncode

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def gunicorn_server(model_repository: str | Path, port: int | None = None, workers: int = 2,
                    threads: int = 4, **env: str) -> ServerProcess:  # fmt: skip
    """A :class:`ServerProcess` running the production server on ``model_repository``.

    Introduced in notebooks/07_serving_with_flask.ipynb; extra keyword arguments become
    environment variables (e.g. ``MAX_BATCH="64"``).
    """
    port = port or free_port()
    env = {"MODEL_REPOSITORY": str(Path(model_repository).resolve()), **env}
    return ServerProcess(gunicorn_command(port, workers, threads), port, env=env)
