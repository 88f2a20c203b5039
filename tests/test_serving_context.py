"""Request state and body reading (serving/context.py): the body is read whole and checked against
its length, JSON and encodings are checked, and the routes get their state from here."""

from __future__ import annotations

import ast
import io
import json
from pathlib import Path

import pytest
from paths import ROOT
from serving_helpers import GOOD, assert_clean_error

from mlops_course.loadgen import v2_body
from mlops_course.serving.protocol import HEADER_LENGTH


def test_other_request_mistakes(client):
    good = json.dumps(GOOD)
    assert_clean_error(client.post("/predict", data=good, content_type="text/plain"), 415)
    assert_clean_error(client.post("/v1/models/digits:predict", data=good), 415)
    gz = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
    assert_clean_error(client.post("/v1/models/digits:predict", data=good, headers=gz), 415)
    form = {"picture": (io.BytesIO(b"x"), "x.png")}
    assert_clean_error(client.post("/predict", data=form, content_type="multipart/form-data"), 400)
    big = b"0" * (256 * 1024 + 1)
    assert "limit" in assert_clean_error(
        client.post("/predict", data=big, content_type="application/json"), 413
    )
    assert_clean_error(client.delete("/predict"), 405)
    assert_clean_error(client.get("/no/such/route"), 404)
    assert_clean_error(client.get("/v2/models/digits/versions/%C2%B2"), 404)


def call_wsgi(app, body: bytes, headers: dict[str, str], length: str | None) -> tuple[int, bytes]:
    """POST ``body`` to the v2 infer route with a hand-made WSGI environ (``length``: the
    Content-Length header, None for a chunked body that gunicorn has de-chunked)."""
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/v2/models/digits/infer",
        "SERVER_NAME": "t",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "CONTENT_TYPE": headers["Content-Type"],
        "wsgi.input_terminated": length is None,
        "HTTP_INFERENCE_HEADER_CONTENT_LENGTH": headers.get(HEADER_LENGTH, ""),
    }
    if length is not None:
        environ["CONTENT_LENGTH"] = length
    status = []
    chunks = app(environ, lambda code, _headers, exc_info=None: status.append(code))
    return int(status[0].split()[0]), b"".join(chunks)


def test_the_body_is_read_whole_and_checked_against_its_length(app, digits):
    data, headers = v2_body(digits.x_test[:2], "images", binary=True)
    assert call_wsgi(app, data, headers, str(len(data)))[0] == 200
    assert call_wsgi(app, data, headers, None)[0] == 200  # chunked: no Content-Length
    code, answer = call_wsgi(app, data[:-5], headers, str(len(data)))  # client gave up early
    assert code == 400 and "announced" in json.loads(answer)["error"]
    code, answer = call_wsgi(app, data, headers, str(256 * 1024 + 1))  # refused before reading
    assert code == 413 and "limit" in json.loads(answer)["error"]


SERVING = ROOT / "src" / "mlops_course" / "serving"


def imports(path: Path) -> tuple[set[str], list[str]]:
    """The modules ``path`` imports at its top level, and any imported inside functions."""
    tree = ast.parse(path.read_text())
    top = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    nested = [
        ast.unparse(inner)
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.ClassDef)
        for inner in ast.walk(node)
        if isinstance(inner, ast.Import | ast.ImportFrom)
    ]
    return top, nested


@pytest.mark.parametrize("blueprint", ["rest.py", "v2.py"])
def test_the_routes_get_their_state_from_context_never_from_the_factory(blueprint):
    top, nested = imports(SERVING / blueprint)
    assert "mlops_course.serving.context" in top
    assert "mlops_course.serving.app" not in top and not nested
    assert "TYPE_CHECKING" not in (SERVING / blueprint).read_text()


def test_context_imports_neither_the_factory_nor_the_routes():
    top, nested = imports(SERVING / "context.py")
    assert not nested
    assert not top & {f"mlops_course.serving.{m}" for m in ("app", "rest", "v2", "wsgi")}
