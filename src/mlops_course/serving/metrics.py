"""Prometheus metrics for one app: requests, latency, errors, batch sizes and overload.

Each app gets its own ``CollectorRegistry`` (not the process-wide default), so two apps in one
process, as in the tests, never share or double-register counters.

Under gunicorn every worker is a separate process with its own counters, and a scrape reaches
whichever worker accepts it. So the server uses prometheus_client's *multiprocess mode*: when
``PROMETHEUS_MULTIPROC_DIR`` names a folder, every worker writes its values to small mmap files
there and ``/metrics`` sums the files of all workers (``MultiProcessCollector``), dead workers
included, so counters never go backwards. ``gunicorn_conf`` sets the variable to a fresh folder
per server start, before any worker imports prometheus_client (the library picks its storage
at import time).

Introduced in notebooks/07_serving_with_flask.ipynb.
"""

from __future__ import annotations

import os
import time

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


def multiprocess_dir() -> str | None:
    """The folder shared by all worker processes, or None (single-process mode).

    Raises when the variable is set but prometheus_client was imported before it was: the
    library would then keep per-process counters and ``/metrics`` would silently undercount.
    """
    folder = os.environ.get(MULTIPROC_DIR) or None
    if folder is not None and values.ValueClass is values.MutexValue:
        raise RuntimeError(
            f"{MULTIPROC_DIR} is set but prometheus_client was imported before it was; "
            "set it before the server process starts (gunicorn_conf does)"
        )
    return folder


class Metrics:
    """The app's counters and histograms, registered in a registry of their own."""

    def __init__(self) -> None:
        self.folder = multiprocess_dir()
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "http_requests",
            "HTTP requests answered",
            ["method", "route", "code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Time to answer a request",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "http_errors",
            "Error answers (4xx and 5xx) by status code",
            ["code"],
            registry=self.registry,
        )
        self.batch = Histogram(
            "inference_batch_size",
            "Instances per inference call",
            ["model"],
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
            registry=self.registry,
        )
        # Overload protection (:mod:`.overload`): what runs now, and what was turned away.
        self.in_flight = Gauge(
            "inference_in_flight",
            "Inference requests running now (all live workers added up)",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.rejected = Counter(
            "inference_rejected",
            "Inference requests answered 503 because the worker's in-flight bound was full",
            ["route"],
            registry=self.registry,
        )

    def install(self, app: Flask) -> None:
        """Time every request and count it by route template (bounded label values)."""

        @app.before_request
        def _start() -> None:
            g.metrics_start = time.perf_counter()

        @app.after_request
        def _record(response: Response) -> Response:
            start = g.get("metrics_start")
            route = request.url_rule.rule if request.url_rule else "unmatched"
            seconds = None if start is None else time.perf_counter() - start
            self.record(request.method, route, response.status_code, seconds)
            return response

    def record(self, method: str, route: str, status: int, seconds: float | None) -> None:
        """Count one answered request (route: the URL rule, not the path) and its latency."""
        code = str(status)
        self.requests.labels(method if method in METHODS else "other", route, code).inc()
        if seconds is not None:
            self.latency.labels(route).observe(seconds)
        if status >= 400:
            self.errors.labels(code).inc()

    def exposition(self) -> Response:
        """Prometheus' text format (the body of ``GET /metrics``): every worker's sum in
        multiprocess mode, else this process's registry."""
        registry = self.registry
        if self.folder is not None:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=self.folder)
        return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
