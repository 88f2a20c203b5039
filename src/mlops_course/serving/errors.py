"""Every failure becomes a JSON answer ``{"error": "..."}`` with the right status, never a trace.

Client mistakes (4xx) say what was wrong and how to fix it; server faults (5xx) are logged with
their traceback here and answered with a generic message.

Introduced in notebooks/07_serving_with_flask.ipynb.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

log = logging.getLogger("mlops_course.serving")


class ApiError(Exception):
    """A request the server refuses: ``status`` (4xx) and a message meant for the client."""

    status = 400

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class NotFound(ApiError):
    """Unknown model or version."""

    status = 404


class PayloadTooLarge(ApiError):
    """A batch or image larger than the configured limits."""

    status = 413


class UnsupportedMediaType(ApiError):
    """A body the route cannot read (wrong Content-Type or Content-Encoding)."""

    status = 415


def describe(error: Exception, limit: int | None) -> tuple[int, str]:
    """The status and the client's message for any exception raised while answering.

    The one error mapping of the server: 4xx say what was wrong (logged at INFO), anything
    unexpected is a 500 with a generic message and its traceback in the log.
    """
    if isinstance(error, ApiError):
        status, message = error.status, error.message
    elif isinstance(error, RequestEntityTooLarge):
        status, message = 413, f"request body is larger than the limit of {limit} bytes"
    elif isinstance(error, HTTPException):
        status, message = error.code or 500, error.description or error.name
    else:
        log.error("unhandled error while serving a request", exc_info=error)
        return 500, "internal server error (logged on the server)"
    log.info("%s %s", status, message)
    return status, message


def error_response(message: str, status: int) -> Response:
    """``{"error": message}`` with ``status``, as a Flask response."""
    response = jsonify(error=message)
    response.status_code = status
    return response


def register_error_handlers(app: Flask) -> None:
    """Answer every exception a route raises as JSON, through :func:`describe`."""

    @app.errorhandler(Exception)
    def _answer(error: Exception) -> Response:
        status, message = describe(error, app.config.get("MAX_CONTENT_LENGTH"))
        response = error_response(message, status)
        allowed = getattr(error, "valid_methods", None)  # a 405 names the methods that work
        if status == 405 and allowed:
            response.headers["Allow"] = ", ".join(allowed)
        return response
