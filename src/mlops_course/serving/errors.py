"""Every failure becomes a JSON answer ``{"error": "..."}`` with the right status, never a trace.

Client mistakes (4xx) say what was wrong and how to fix it; server faults (5xx) are logged with
their traceback here and answered with a generic message.

Introduced in notebooks/07_serving_with_flask.ipynb.
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify
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


def error_response(message: str, status: int):
    """``({"error": message}, status)`` as a Flask response."""
    response = jsonify(error=message)
    response.status_code = status
    return response


def register_error_handlers(app: Flask) -> None:
    """Answer ApiError, werkzeug's HTTP errors and any other exception as JSON."""

    @app.errorhandler(ApiError)
    def _api_error(error: ApiError):
        log.info("%s %s", error.status, error.message)
        return error_response(error.message, error.status)

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(error: RequestEntityTooLarge):
        limit = app.config.get("MAX_CONTENT_LENGTH")
        log.info("413 body over %s bytes", limit)
        return error_response(f"request body is larger than the limit of {limit} bytes", 413)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        log.info("%s %s", error.code, error.description)
        response = error_response(error.description or error.name, error.code or 500)
        if error.code == 405 and error.valid_methods:  # type: ignore[attr-defined]
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        log.exception("unhandled error while serving a request")
        return error_response("internal server error (logged on the server)", 500)
