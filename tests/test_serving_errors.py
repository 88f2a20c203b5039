"""Every failure is a JSON answer with the right status, never a trace (serving/errors.py)."""

from __future__ import annotations

import logging

import pytest
from serving_helpers import GOOD, assert_clean_error
from werkzeug.exceptions import MethodNotAllowed, NotFound, RequestEntityTooLarge

from mlops_course.serving.context import EXTENSION
from mlops_course.serving.errors import ApiError, PayloadTooLarge, describe


def test_a_server_fault_is_logged_but_not_shown(app, client, monkeypatch, caplog):
    model = app.extensions[EXTENSION].repository.get("digits")
    monkeypatch.setattr(model.runner, "predict", lambda x: 1 / 0)
    with caplog.at_level(logging.ERROR, logger="mlops_course.serving"):
        answer = client.post("/predict", json=GOOD)
    message = assert_clean_error(answer, 500)
    assert "ZeroDivision" not in message
    assert "ZeroDivisionError" in caplog.text


@pytest.mark.parametrize(
    ("error", "status", "message"),
    [
        (ApiError("bad shape"), 400, "bad shape"),
        (PayloadTooLarge("too many"), 413, "too many"),
        (RequestEntityTooLarge(), 413, "request body is larger than the limit of 1024 bytes"),
        (NotFound("no such thing"), 404, "no such thing"),
        (KeyError("secret"), 500, "internal server error (logged on the server)"),
    ],
    ids=["api", "payload", "body-limit", "werkzeug", "unexpected"],
)
def test_one_mapping_from_exception_to_status_and_message(error, status, message, caplog):
    with caplog.at_level(logging.INFO, logger="mlops_course.serving"):
        try:
            raise error
        except Exception as raised:  # as a route raises it
            assert describe(raised, 1024) == (status, message)
    assert ("Traceback" in caplog.text) == (status == 500)  # a fault's trace goes to the log


def test_a_wrong_method_says_which_methods_work(client):
    answer = client.delete("/predict")
    assert_clean_error(answer, 405)
    assert set(answer.headers["Allow"].split(", ")) >= {"GET", "POST"}
    assert describe(MethodNotAllowed(["GET"]), None)[0] == 405
