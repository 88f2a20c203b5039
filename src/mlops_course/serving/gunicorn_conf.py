"""gunicorn settings: ``gunicorn -c python:mlops_course.serving.gunicorn_conf ...wsgi:app``.

Two worker processes (one per core on the course machines, ``WEB_CONCURRENCY`` overrides), each
with a few threads so slow clients do not block it, and ONNX Runtime at one intra-op thread per
worker, so workers do not fight over cores. Timeouts kill a stuck worker; gunicorn restarts it.

Introduced in notebooks/07_serving_with_flask.ipynb.
"""

import os

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
