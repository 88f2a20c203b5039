"""gunicorn settings: ``gunicorn -c python:mlops_course.serving.gunicorn_conf ...wsgi:app``.

Two worker processes (one per core on the course machines, ``WEB_CONCURRENCY`` overrides), each
with a few threads so slow clients do not block it, and ONNX Runtime at one intra-op thread per
worker, so workers do not fight over cores. Timeouts kill a stuck worker; gunicorn restarts it.

``/metrics`` adds up all workers (prometheus_client's multiprocess mode, see
:mod:`mlops_course.serving.metrics`): before the first worker starts, :func:`on_starting` points
``PROMETHEUS_MULTIPROC_DIR`` at a fresh folder — a new temporary one (under ``TMPDIR`` or
``/tmp``, the only writable place in a read-only container) removed again on exit, or the folder
the variable already names, emptied of a previous run's files. Workers inherit the variable.
This module imports nothing from the package at import time, so prometheus_client is first
imported by :func:`on_starting`, after the variable is set.

Introduced in notebooks/07_serving_with_flask.ipynb.
"""

import os
import shutil
import tempfile
from pathlib import Path

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
THREADS = "GUNICORN_THREADS"
threads = int(os.environ.get(THREADS, "4"))  # > the in-flight bound, so probes find a thread
timeout = 30  # seconds a worker may stay silent before it is killed and replaced
graceful_timeout = 10
keepalive = 5
limit_request_line = 4094  # bytes of the request line; headers are capped by gunicorn too
limit_request_fields = 50
accesslog = os.environ.get("ACCESS_LOG")  # e.g. "-" for stdout; off by default (it costs time)
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")
# gunicorn 24+ opens a control socket in ~/.gunicorn by default; several servers on one machine
# (tests, the lesson, `make serve`) would fight over it, and the server needs no remote control.
control_socket_disable = True

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
_made_here: list[str] = []  # temporary metrics folders this master created (removed on exit)


def on_starting(server) -> None:
    """gunicorn hook (master, once): give the workers a fresh metrics folder and the thread
    count really used (``--threads`` may override ``GUNICORN_THREADS``): the app derives its
    in-flight bound from it (:mod:`.overload`)."""
    os.environ[THREADS] = str(server.cfg.threads)
    folder = os.environ.get(MULTIPROC_DIR)
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        for stale in Path(folder).glob("*.db"):  # a previous run's counts must not add up
            stale.unlink()
    else:
        folder = tempfile.mkdtemp(prefix="mlops-course-metrics-")
        _made_here.append(folder)
        os.environ[MULTIPROC_DIR] = folder
    server.log.info("workers share their metrics in %s", folder)
    # Now that the variable is set, import the app's libraries (Flask, NumPy, ONNX Runtime,
    # prometheus_client) once, here: every forked worker starts with them loaded.
    import mlops_course.serving.app  # noqa: F401


def child_exit(server, worker) -> None:
    """gunicorn hook (master): a worker exited; drop its live-gauge files (counters stay)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    """gunicorn hook (master, at shutdown): remove the temporary metrics folder made here."""
    for folder in _made_here:
        shutil.rmtree(folder, ignore_errors=True)
