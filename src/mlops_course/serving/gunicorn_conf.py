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
imported by :func:`on_starting`, after the variable is set. :func:`on_starting` also asks
glibc's malloc to reuse freed memory (:func:`keep_freed_memory`), which halves the server's own
cost of a 1 MB request body.

Introduced in notebooks/07_serving_with_flask.ipynb.
"""

import ctypes
import os
import shutil
import tempfile
from pathlib import Path

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
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


def keep_freed_memory(mmap_threshold: int = 16 << 20, trim_threshold: int = 64 << 20) -> bool:
    """Ask glibc's malloc to keep freed memory for reuse instead of returning it at once.

    By default glibc hands blocks of a few hundred KiB straight back to the kernel when they
    are freed, so every large request body (eight 96×96×3 float32 images are 885 KB, read and
    copied a few times) lands in fresh pages, and each first touch of a page is a page fault:
    measured here, the worker's CPU time per such request drops from about 1.2 to 0.55 ms
    (inference not counted). The cost is up to ``trim_threshold`` bytes of freed memory kept
    per worker. Skipped (False) where the C library has no ``mallopt`` (musl, macOS) or when
    ``GLIBC_TUNABLES`` already says what to do. Forked workers inherit the setting.
    """
    if "GLIBC_TUNABLES" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
    return bool(mallopt(m_mmap_threshold, mmap_threshold)) and bool(
        mallopt(m_trim_threshold, trim_threshold)
    )


def on_starting(server) -> None:
    """gunicorn hook (master, once): tune malloc; give the workers a fresh metrics folder."""
    if keep_freed_memory():
        server.log.info("malloc keeps freed memory for reuse (large request bodies)")
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
