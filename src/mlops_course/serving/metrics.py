"""Prometheus metrics for one app: requests, latency, errors and batch sizes.

Each app gets its own ``CollectorRegistry`` (not the process-wide default), so two apps in one
process, as in the tests, never share or double-register counters. Under gunicorn every worker
is a process with its own registry: a scrape sees the worker that answered it. (Prometheus'
multiprocess mode aggregates workers; a Kubernetes pod usually runs one worker per container.)

Introduced in notebooks/07_serving_with_flask.ipynb.
"""

from __future__ import annotations

import time

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    """The app's counters and histograms, registered in a registry of their own."""

    def __init__(self) -> None:
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

    def install(self, app: Flask) -> None:
        """Time every request and count it by route template (bounded label values)."""

        @app.before_request
        def _start() -> None:
            g.metrics_start = time.perf_counter()

        @app.after_request
        def _record(response: Response) -> Response:
            start = g.get("metrics_start")
            route = request.url_rule.rule if request.url_rule else "unmatched"
            code = str(response.status_code)
            method = request.method if request.method in METHODS else "other"
            self.requests.labels(method, route, code).inc()
            if start is not None:
                self.latency.labels(route).observe(time.perf_counter() - start)
            if response.status_code >= 400:
                self.errors.labels(code).inc()
            return response

    def exposition(self) -> Response:
        """The registry in Prometheus' text format (the body of ``GET /metrics``)."""
        return Response(generate_latest(self.registry), content_type=CONTENT_TYPE_LATEST)
