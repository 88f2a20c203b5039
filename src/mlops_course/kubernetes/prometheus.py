"""A real Prometheus on 127.0.0.1 that scrapes the model servers, and PromQL queries to it.

Introduced in notebooks/11_kubernetes.ipynb (the canary section). :class:`Prometheus` writes a
configuration with one target per track (``track="stable"``, ``track="canary"``, the label a
cluster's Prometheus would take from the pods), starts Debian's ``prometheus`` binary with a
temporary storage folder and a short scrape interval, waits until every target is up, answers
PromQL queries (:meth:`Prometheus.query`) and stops the process and removes its folder.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

from mlops_course.server_process import HOST, ServerProcess, free_port


class PrometheusMissing(RuntimeError):
    """The ``prometheus`` binary is not installed here; the message says how to get it."""


def prometheus_path() -> str | None:
    """The ``prometheus`` executable on the PATH (Debian: ``apt-get install prometheus``)."""
    return shutil.which("prometheus")


def scrape_config(targets: dict[str, str], interval: float = 1.0) -> dict:
    """Prometheus' configuration: scrape ``/metrics`` of each ``track → host:port`` target."""
    seconds = f"{interval:g}s"
    return {
        "global": {"scrape_interval": seconds, "evaluation_interval": seconds},
        "scrape_configs": [
            {
                "job_name": "model-server",
                "metrics_path": "/metrics",
                "scrape_timeout": seconds,
                "static_configs": [
                    {"targets": [address], "labels": {"track": track}}
                    for track, address in targets.items()
                ],
            }
        ],
    }


class Prometheus:
    """``with Prometheus({"stable": "127.0.0.1:8001", ...}) as prom: prom.query("up")``."""

    def __init__(self, targets: dict[str, str], interval: float = 1.0, timeout: float = 60.0):
        binary = prometheus_path()
        if binary is None:
            raise PrometheusMissing(
                "prometheus is not installed here: `apt-get install prometheus` (Debian; do not "
                "start its service), or a release from https://prometheus.io/download/"
            )
        self.targets, self.interval, self.timeout = dict(targets), interval, timeout
        self._folder = tempfile.TemporaryDirectory(prefix="prometheus-")
        folder = Path(self._folder.name)
        (folder / "prometheus.yml").write_text(yaml.safe_dump(scrape_config(targets, interval)))
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.server = ServerProcess(
            [
                binary,
                f"--config.file={folder / 'prometheus.yml'}",
                f"--storage.tsdb.path={folder / 'data'}",
                f"--web.listen-address={HOST}:{self.port}",
                "--log.level=warn",
            ],
            self.port,
            ready_path="/-/ready",
            timeout=timeout,
            cwd=folder,
        )

    def start(self) -> Prometheus:
        """Start prometheus and wait until it has scraped every target successfully."""
        try:
            self.server.start()
            self.wait_for_targets()
        except BaseException:
            self.stop()
            raise
        return self

    def api(self, path: str, **params: str) -> dict:
        """``GET /api/v1/<path>``'s ``data`` (raises with Prometheus' error message)."""
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}{query}", timeout=10) as answer:
            body = json.load(answer)
        if body.get("status") != "success":
            raise RuntimeError(f"prometheus: {body.get('error', body)}")
        return body["data"]

    def targets_up(self) -> dict[str, str]:
        """``track → health`` (``up``, ``down``, ``unknown``) of every scraped target."""
        active = self.api("targets")["activeTargets"]
        return {t["labels"].get("track", t["scrapeUrl"]): t["health"] for t in active}

    def wait_for_targets(self) -> None:
        """Block until every target is ``up`` (two scrape intervals after it first answers)."""
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            health = self.targets_up()
            if len(health) == len(self.targets) and set(health.values()) == {"up"}:
                return
            time.sleep(self.interval / 2)
        raise TimeoutError(f"prometheus targets not up after {self.timeout} s: {health}")

    def query(self, promql: str) -> dict[str, float]:
        """An instant PromQL query whose result is one number per ``track`` label."""
        result = self.api("query", query=promql)["result"]
        return {r["metric"].get("track", ""): float(r["value"][1]) for r in result}

    def wait_for_scrapes(self, count: int = 2) -> None:
        """Let ``count`` more scrapes happen (so the latest counters are in the database)."""
        time.sleep(count * self.interval + 0.2)

    def alive(self) -> bool:
        return self.server.alive()

    def stop(self) -> None:
        """Stop prometheus (SIGTERM, then SIGKILL) and delete its configuration and data."""
        self.server.stop()
        self._folder.cleanup()

    def __enter__(self) -> Prometheus:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
