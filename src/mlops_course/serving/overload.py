"""Overload protection: a bound on inference requests in flight per worker, 503 beyond it.

Why. gunicorn's gthread worker hands every request to a pool of ``threads`` threads, first come
first served: a request waits for a free thread before Flask sees it. Without a bound, under
load every thread runs a slow inference and a liveness probe queues behind all of them (measured:
3.3-4.7 s with 128 clients of 32-image MobileNet batches, 4 threads; the probe
times out at 3 s), so the kubelet restarts pods exactly when they are busiest.

With a bound below the thread count, some threads never run inference: they answer the
probes, ``/metrics`` and the 503s, each in milliseconds, so a probe's wait stays short. The
default bound is half the threads (:class:`.config.ServingConfig`): measured with 128 clients,
4 threads, one worker, probes took at most 0.07-0.27 s with a bound of 2, up to 1 s with 3
(one free thread, busy reading every refused body) and 4-7.7 s with none. Health, readiness
and metrics routes never take the bound; only views decorated with :func:`bounded` do. A
refused request gets ``503`` with ``Retry-After`` at once instead of a queue without end: the
client or the load balancer retries, on this pod later or on another now. KServe/Knative
(``containerConcurrency``) and Triton's queue policies do the same. The refused body is read
and dropped first: gunicorn drains at most 64 KiB of an unread body and then closes the
connection, and a client still sending a 1 MB batch would get a broken pipe, not the 503.

Introduced in notebooks/08_measuring_a_server.ipynb.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException

from mlops_course.serving.config import ServingConfig
from mlops_course.serving.context import read_body
from mlops_course.serving.errors import ApiError, error_response
from mlops_course.serving.metrics import Metrics

EXTENSION = "serving.overload"  # the key of the worker's InFlightLimit in ``app.extensions``
log = logging.getLogger("mlops_course.serving")


class InFlightLimit:
    """At most ``limit`` holders at once; :meth:`try_enter` never waits."""

    def __init__(self, limit: int, retry_after: int, metrics: Metrics) -> None:
        self.limit, self.retry_after, self.metrics = limit, retry_after, metrics
        self.slots = threading.BoundedSemaphore(limit)

    def try_enter(self) -> bool:
        """Take a slot if one is free (True), else False at once."""
        if not self.slots.acquire(blocking=False):
            return False
        self.metrics.in_flight.inc()
        return True

    def leave(self) -> None:
        """Give a slot back."""
        self.metrics.in_flight.dec()
        self.slots.release()

    def refuse(self, route: str) -> Response:
        """The 503 answer: the server's JSON error shape, with ``Retry-After``; counted."""
        self.metrics.rejected.labels(route).inc()
        response = error_response(
            f"the server is busy ({self.limit} inference requests in flight); "
            f"retry in {self.retry_after} s",
            503,
        )
        response.headers["Retry-After"] = str(self.retry_after)
        return response


def install(app: Flask, config: ServingConfig, metrics: Metrics) -> InFlightLimit:
    """Give ``app`` its in-flight bound (one per app, so one per gunicorn worker process)."""
    limit = InFlightLimit(config.inflight_limit, config.retry_after, metrics)
    if config.inflight_limit >= config.http_threads:
        log.warning(
            "max_inflight %s >= %s threads: probes can wait behind inference under load",
            config.inflight_limit,
            config.http_threads,
        )
    app.extensions[EXTENSION] = limit
    return limit


def bounded(view: Callable) -> Callable:
    """Run ``view`` only while holding a slot of the app's :class:`InFlightLimit`, else 503."""

    @functools.wraps(view)
    def guarded(*args, **kwargs):
        limit: InFlightLimit = current_app.extensions[EXTENSION]
        if not limit.try_enter():
            try:
                read_body()  # dropped: the client must be able to finish sending (see above)
            except (HTTPException, ApiError):  # too large or cut short: refused all the same
                pass
            return limit.refuse(request.url_rule.rule if request.url_rule else "unmatched")
        try:
            return view(*args, **kwargs)
        finally:
            limit.leave()

    guarded.bounded = True  # type: ignore[attr-defined]  # tests list the bounded routes by it
    return guarded
