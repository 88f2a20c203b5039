"""Decide a canary from metrics: error ratio and p95 latency per track, queried from Prometheus.

Introduced in notebooks/11_kubernetes.ipynb (the canary section). :func:`canary_analysis` runs
the whole loop on this machine: a stable and a canary gunicorn server (real ones, through
:mod:`mlops_course.server_process`), a real Prometheus scraping both (:mod:`.prometheus`),
traffic split between them, and the PromQL answers turned into a :class:`Verdict`: promote or
roll back. A broken canary is the same model with an ONNX graph that fails on every request
(:func:`broken_onnx`), in a temporary model repository: the server loads it, answers its health
checks, and returns 500 for every inference, the kind of fault only live traffic shows.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mlops_course.kubernetes.prometheus import Prometheus
from mlops_course.model_card import sha256_file
from mlops_course.server_process import gunicorn_server

ROUTE = "/v2/models/<name>/infer"  # the server's metrics label requests by URL rule


def requests_query(route: str = ROUTE) -> str:
    """PromQL: inference requests answered, per track (the servers start at zero)."""
    return f'sum by (track) (http_requests_total{{route="{route}"}})'


def error_ratio_query(route: str = ROUTE) -> str:
    """PromQL: the share of inference requests answered with a 5xx, per track (0 without any)."""
    errors = f'sum by (track) (http_requests_total{{route="{route}", code=~"5.."}})'
    return f"({errors} or {requests_query(route)} * 0) / {requests_query(route)}"


def p95_query(route: str = ROUTE) -> str:
    """PromQL: the 95th percentile of inference latency in seconds, per track."""
    buckets = f'http_request_duration_seconds_bucket{{route="{route}"}}'
    return f"histogram_quantile(0.95, sum by (track, le) ({buckets}))"


@dataclass(frozen=True)
class Verdict:
    """Promote or roll back, why, and the numbers Prometheus gave (per track)."""

    promote: bool
    reasons: list[str]
    requests: dict[str, float] = field(default_factory=dict)
    error_ratio: dict[str, float] = field(default_factory=dict)
    p95_s: dict[str, float] = field(default_factory=dict)

    def __str__(self) -> str:
        return ("promote" if self.promote else "roll back") + ": " + "; ".join(self.reasons)


def decide(
    requests: dict[str, float],
    error_ratio: dict[str, float],
    p95_s: dict[str, float],
    min_requests: int = 20,
    max_error_increase: float = 0.01,
    max_latency_ratio: float = 2.0,
    latency_floor_s: float = 0.05,
) -> Verdict:
    """Roll back unless the canary had ``min_requests``, its error ratio is at most
    ``max_error_increase`` above stable's, and its p95 is at most ``max_latency_ratio`` × stable's
    (a p95 under ``latency_floor_s`` always passes: milliseconds of noise decide nothing)."""
    numbers = {"requests": requests, "error_ratio": error_ratio, "p95_s": p95_s}
    reasons = []
    if requests.get("canary", 0) < min_requests:
        reasons.append(f"only {requests.get('canary', 0):.0f} canary requests (< {min_requests})")
    else:
        stable_errors, canary_errors = error_ratio.get("stable", 0), error_ratio["canary"]
        if canary_errors > stable_errors + max_error_increase:
            reasons.append(
                f"canary error ratio {canary_errors:.1%} > stable {stable_errors:.1%} "
                f"+ {max_error_increase:.0%}"
            )
        stable_p95, canary_p95 = p95_s.get("stable", np.nan), p95_s.get("canary", np.nan)
        if canary_p95 > max(latency_floor_s, max_latency_ratio * stable_p95):
            reasons.append(
                f"canary p95 {canary_p95 * 1000:.0f} ms > {max_latency_ratio:g} × stable "
                f"{stable_p95 * 1000:.0f} ms"
            )
    if reasons:
        return Verdict(False, reasons, **numbers)
    return Verdict(True, ["error ratio and p95 latency within bounds of stable"], **numbers)


def ask(prometheus: Prometheus, route: str = ROUTE, **bounds) -> Verdict:
    """Query requests, error ratio and p95 per track and :func:`decide` (``bounds``: its limits)."""
    return decide(
        prometheus.query(requests_query(route)),
        prometheus.query(error_ratio_query(route)),
        prometheus.query(p95_query(route)),
        **bounds,
    )


def broken_onnx(path: str | Path) -> Path:
    """An ONNX model with the digits model's input and output that fails on every inference.

    Its graph gathers column 64 of a 64-column tensor: ONNX Runtime loads it, then raises
    "indices element out of data bounds" at run time.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    constants = {
        "shape": np.array([-1, 64], np.int64),
        "outside": np.array([64], np.int64),
        "weights": np.zeros((64, 10), np.float32),
        "zero": np.array(0, np.float32),
    }
    nodes = [
        helper.make_node("Reshape", ["images", "shape"], ["flat"]),
        helper.make_node("Gather", ["flat", "outside"], ["picked"], axis=1),
        helper.make_node("ReduceSum", ["picked"], ["total"], keepdims=0),
        helper.make_node("Mul", ["total", "zero"], ["nothing"]),
        helper.make_node("MatMul", ["flat", "weights"], ["logits"]),
        helper.make_node("Add", ["logits", "nothing"], ["scores"]),
        helper.make_node("Softmax", ["scores"], ["probabilities"], axis=-1),
    ]
    graph = helper.make_graph(
        nodes,
        "broken-digits",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["N", 8, 8, 1])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 10])],
        [numpy_helper.from_array(value, name) for name, value in constants.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return Path(path)


def one_model_repository(source: str | Path, target: str | Path, broken: bool = False) -> Path:
    """``target/<model>/<version>/`` with only the ONNX file of ``source`` (a version folder)
    and its card; ``broken``: that file replaced by :func:`broken_onnx`, the card updated."""
    source = Path(source)
    card = json.loads((source / "card.json").read_text())
    folder = Path(target) / card["name"] / str(card["version"])
    folder.mkdir(parents=True)
    (entry,) = [f for f in card["files"] if f["path"] == card["default_file"]]
    model = folder / entry["path"]
    if broken:
        broken_onnx(model)
        entry.update(size_bytes=model.stat().st_size, sha256=sha256_file(model))
    else:
        shutil.copy2(source / entry["path"], model)
    card["files"] = [entry]
    (folder / "card.json").write_text(json.dumps(card, indent=2))
    return Path(target)


def send_traffic(urls: dict[str, str], counts: dict[str, int], model: str) -> dict[str, int]:
    """POST ``counts[track]`` one-image v2 inference requests to each track's server, the tracks
    interleaved in a shuffled order (both see the same load, as behind one Service); the number
    of answers per track and status family (``"stable 2xx"``, ``"canary 5xx"``...)."""
    rng = np.random.default_rng(seed=0)
    x = rng.uniform(0, 1, (1, 8, 8, 1)).round(3)
    tensor = {"name": "images", "shape": list(x.shape), "datatype": "FP32"}
    body = json.dumps({"inputs": [{**tensor, "data": x.ravel().tolist()}]}).encode()
    order = [track for track, count in counts.items() for _ in range(count)]
    answers: dict[str, int] = {}
    for track in map(str, rng.permutation(order)):
        request = urllib.request.Request(
            f"{urls[track]}/v2/models/{model}/infer",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                status = answer.status
        except urllib.error.HTTPError as error:
            status = error.code
        key = f"{track} {status // 100}xx"
        answers[key] = answers.get(key, 0) + 1
    return answers


def canary_analysis(
    version_folder: str | Path, broken: bool = False, stable: int = 60, canary: int = 20
) -> tuple[Verdict, dict[str, int]]:
    """Serve ``version_folder``'s model as stable and as canary (``broken``: a failing copy),
    scrape both with Prometheus, send ``stable``/``canary`` requests, and decide. Every process
    started here is stopped before this returns; the traffic's answers come back too."""
    with tempfile.TemporaryDirectory(prefix="canary-") as tmp:
        stable_repo = one_model_repository(version_folder, Path(tmp) / "stable")
        canary_repo = one_model_repository(version_folder, Path(tmp) / "canary", broken)
        model = next(stable_repo.iterdir()).name
        servers = {
            "stable": gunicorn_server(stable_repo, workers=1, threads=2),
            "canary": gunicorn_server(canary_repo, workers=1, threads=2),
        }
        try:
            for server in servers.values():
                server.start()
            urls = {track: server.url for track, server in servers.items()}
            targets = {track: url.removeprefix("http://") for track, url in urls.items()}
            with Prometheus(targets) as prometheus:
                answers = send_traffic(urls, {"stable": stable, "canary": canary}, model)
                prometheus.wait_for_scrapes()
                return ask(prometheus), answers
        finally:
            for server in servers.values():
                server.stop()
