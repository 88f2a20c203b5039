"""``python -m mlops_course.serving.healthcheck``: exit 0 when the local server is live, else 1.

The serving image's ``HEALTHCHECK`` runs it (the slim image has no curl). It asks
``/v2/health/live`` on the address gunicorn binds (``BIND``, as in :mod:`.gunicorn_conf`), with
``0.0.0.0`` read as this host. Introduced in notebooks/09_containers.ipynb.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

LIVE_PATH = "/v2/health/live"


def live_url(bind: str) -> str:
    """The live endpoint's URL for a gunicorn ``bind`` like ``0.0.0.0:8000``."""
    host, _, port = bind.rpartition(":")
    if not port.isdigit() or not host:
        raise ValueError(f"BIND must look like HOST:PORT, got {bind!r}")
    host = "127.0.0.1" if host in ("0.0.0.0", "[::]", "") else host
    return f"http://{host}:{port}{LIVE_PATH}"


def main(timeout: float = 2.0) -> int:
    try:
        url = live_url(os.environ.get("BIND", "127.0.0.1:8000"))
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            print(f"{url}: {answer.status}")
            return 0 if answer.status == 200 else 1
    except (ValueError, OSError) as error:  # URLError and timeouts are OSErrors
        print(f"not live: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
