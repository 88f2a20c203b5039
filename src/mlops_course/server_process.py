"""Start a server as a child process on 127.0.0.1, wait until it answers, always stop it.

The notebook, the end-to-end tests and the benchmark use this, so none of them leaves a server
running: :class:`ServerProcess` is a context manager, starts the child in its own process group
and, on exit, asks it to stop (SIGTERM) and kills the group if it does not. That explicit stop
does not run when the starting process is killed (a Jupyter kernel restarted or killed, a test
run interrupted: ``atexit`` does not run either), so every child is also started with
:func:`tied_popen`, which ties it to this process: when this process dies, the child gets
SIGTERM. Other code that starts a long-lived server (the image registry in
:mod:`mlops_course.containers`, the tests) uses :func:`tied_popen` too. A harness for lessons,
tests and benchmarks: the serving image does not ship it.

Introduced in notebooks/07_serving_with_flask.ipynb.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

HOST = "127.0.0.1"
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>

# Polls the pid of its parent (argv[1]) and of the child it guards (argv[2]) every half second;
# when the parent has died (this process was handed to another parent), SIGTERM to the child's
# process group (or the child alone when it leads none), SIGKILL after argv[3] seconds. Exits
# as soon as the child is gone. Plain Python, no imports from the course: it runs anywhere.
WATCHDOG = """
import os, signal, sys, time
parent, child, grace = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True
def kill(sig):
    try:
        os.killpg(child, sig) if os.getpgid(child) == child else os.kill(child, sig)
    except (ProcessLookupError, PermissionError):
        pass
while alive(child) and os.getppid() == parent:
    time.sleep(0.5)
if alive(child):
    kill(signal.SIGTERM)
    deadline = time.monotonic() + grace
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.2)
    kill(signal.SIGKILL)
"""
_watchdogs: list[subprocess.Popen] = []  # reaped by the next tied_popen once they have exited


def _linux_prctl():
    """libc's ``prctl``, or None where there is none (macOS, other systems)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def tied_popen(
    command: list[str], *, watchdog_grace: float = 15.0, **popen_kwargs
) -> subprocess.Popen:
    """``subprocess.Popen(command, **popen_kwargs)``, but the child dies with this process.

    An explicit stop (:meth:`ServerProcess.stop`, a ``finally``) still comes first; this is for
    when it never runs: this process is killed (SIGKILL, an out-of-memory kill, a Jupyter kernel
    restarted or shut down with ``now=True``, as nbval does), where ``atexit`` does not run.

    On Linux, the child asks the kernel for SIGTERM when its parent dies (``prctl`` with
    ``PR_SET_PDEATHSIG``, called in the child between fork and exec) and then checks that the
    parent has not died already (``getppid`` changed; it exits at once if so). The signal goes
    to the child only: a server with children of its own must stop them on SIGTERM (gunicorn's
    master does: it stops its workers, which also exit by themselves once their master is gone).
    Linux sends the signal when the *thread* that started the child exits, not the process, so
    this is only used when called from the main thread; from any other thread, and where there
    is no ``prctl`` (macOS), a watchdog does the job instead: a small Python process (its own
    session, so a Ctrl-C in the terminal does not stop it first) that checks every half second
    whether this process is still its parent and, once it is not, sends SIGTERM to the child's
    process group (the child alone when it leads none) and SIGKILL ``watchdog_grace`` seconds
    later. The watchdog exits when the child does. It goes by pid, so a child pid reused within
    half a second of the child's exit could be hit; that needs this process to die in the same
    half second.

    ``preexec_fn`` cannot be passed (this function uses it).
    """
    if "preexec_fn" in popen_kwargs:
        raise TypeError("tied_popen sets preexec_fn itself")
    parent = os.getpid()
    prctl = _linux_prctl() if threading.current_thread() is threading.main_thread() else None
    if prctl is not None:

        def die_with_parent() -> None:  # runs in the child, before exec: nothing to import
            if prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
            if os.getppid() != parent:  # the parent died before the line above
                os._exit(1)

        return subprocess.Popen(command, preexec_fn=die_with_parent, **popen_kwargs)
    child = subprocess.Popen(command, **popen_kwargs)
    _watchdogs[:] = [w for w in _watchdogs if w.poll() is None]
    watchdog = [sys.executable, "-c", WATCHDOG, str(parent), str(child.pid), str(watchdog_grace)]
    _watchdogs.append(
        subprocess.Popen(
            watchdog,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    )
    return child


def free_port(host: str = HOST) -> int:
    """A TCP port that was free a moment ago (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def gunicorn_command(port: int, workers: int = 2, threads: int = 4) -> list[str]:
    """The production command line (``make serve`` runs the same one)."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        "python:mlops_course.serving.gunicorn_conf",
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "mlops_course.serving.wsgi:app",
    ]


class ServerProcess:
    """A server child process: ``with ServerProcess(cmd, port) as server: server.url``.

    Introduced in notebooks/07_serving_with_flask.ipynb. Output goes to ``server.log_path``, in a
    temporary folder that :meth:`stop` removes.
    """

    def __init__(
        self,
        command: list[str],
        port: int,
        env: dict[str, str] | None = None,
        ready_path: str = "/v2/health/ready",
        timeout: float = 60.0,
        cwd: str | Path | None = None,
    ) -> None:
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
            self.process = tied_popen(
                self.command,
                env=self.env,
                cwd=self.cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
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


def gunicorn_server(
    model_repository: str | Path,
    port: int | None = None,
    workers: int = 2,
    threads: int = 4,
    **env: str,
) -> ServerProcess:
    """A :class:`ServerProcess` running the production server on ``model_repository``.

    Introduced in notebooks/07_serving_with_flask.ipynb; extra keyword arguments become
    environment variables (e.g. ``MAX_BATCH="64"``).
    """
    port = port or free_port()
    env = {"MODEL_REPOSITORY": str(Path(model_repository).resolve()), **env}
    return ServerProcess(gunicorn_command(port, workers, threads), port, env=env)
