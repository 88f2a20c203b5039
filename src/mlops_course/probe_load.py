"""Probes under load: N clients flood a server with inference batches while another process
probes liveness and readiness the way the kubelet does (a new connection each time).

The prober runs in a process of its own (``python -m mlops_course.probe_load URL ...``), as
the kubelet does: in the clients' process it would wait for their 128 threads' share of the
GIL and measure that instead of the server.

Each client sends binary Open Inference Protocol requests on one kept-alive connection, checks
every 200 answer against the expected output, and on a 503 checks ``Retry-After`` and waits
that long (a well-behaved client; ``honour_retry_after=False`` retries at once). The result
says how long the probes took (p50, max), how many requests were accepted, refused, wrong or
failed, and the longest wait for any answer. The clients share the machine with the server.

Introduced in notebooks/08_measuring_a_server.ipynb (overload protection); the load test in
``tests/test_serving_overload_load.py`` uses it. Client code: the serving image does not ship it.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from mlops_course.loadgen import binary_header, binary_output, wire_array
from mlops_course.serving.protocol import HEADER_LENGTH

PROBES = ("/v2/health/live", "/v2/health/ready")


@dataclass
class Tally:
    """What the clients and the prober saw (appended from many threads; list.append is atomic)."""

    statuses: list[int] = field(default_factory=list)  # one per answered request
    waits: list[float] = field(default_factory=list)  # seconds to each answer
    wrong: list[str] = field(default_factory=list)  # 200s with a wrong answer, 503s w/o header
    failures: list[str] = field(default_factory=list)  # exceptions, timeouts, other statuses


@dataclass(frozen=True)
class ProbeLoadResult:
    """One run's figures (milliseconds for probes, seconds for request waits)."""

    clients: int
    seconds: float
    accepted: int
    refused: int
    refused_share: float
    wrong: int
    failed: int
    longest_wait_s: float
    probes: int
    probe_failures: int
    probe_p50_ms: float
    probe_max_ms: float
    examples: tuple[str, ...]  # a few of the wrong answers and failures, to read

    def as_dict(self) -> dict:
        return asdict(self)


def split_url(url: str) -> tuple[str, int]:
    host, _, port = url.removeprefix("http://").partition(":")
    return host, int(port or 80)


def probe_once(url: str, path: str, timeout: float) -> float:
    """Seconds for one GET on a fresh connection; raises unless the answer is 200."""
    start = time.perf_counter()
    connection = http.client.HTTPConnection(*split_url(url), timeout=timeout)
    try:
        connection.request("GET", path)
        answer = connection.getresponse()
        answer.read()
        if answer.status != 200:
            raise RuntimeError(f"{path} answered {answer.status}")
    finally:
        connection.close()
    return time.perf_counter() - start


def probe_for(url: str, seconds: float, every: float, timeout: float) -> dict:
    """Probe every ``every`` seconds for ``seconds``: each probe's seconds and the failures."""
    times, failures = [], []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        time.sleep(every)
        for path in PROBES:
            try:
                times.append(probe_once(url, path, timeout))
            except Exception as error:  # a timeout is the failure this measures
                times.append(timeout)
                failures.append(f"{path}: {error!r}")
    return {"times": times, "failures": failures}


def client(url: str, model: str, x, expected, tally: Tally, deadline: float, options: dict):
    """One closed-loop client until ``deadline``; reconnects after a failure."""
    if options["nice"] and hasattr(os, "setpriority"):  # Linux: niceness is per thread
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), options["nice"])
    connection = None
    header, headers = binary_header(x, "images", "probabilities")
    path = f"/v2/models/{model}/infer"
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        try:
            if connection is None:
                connection = http.client.HTTPConnection(*split_url(url), timeout=options["timeout"])
            connection.request(
                "POST", path, body=(header, memoryview(x).cast("B")), headers=headers
            )
            answer = connection.getresponse()
            body = answer.read()
        except Exception as error:
            tally.failures.append(repr(error))
            connection = None
            continue
        tally.waits.append(time.perf_counter() - start)
        tally.statuses.append(answer.status)
        if answer.status == 200:
            y = binary_output(body, answer.headers[HEADER_LENGTH])
            if not np.allclose(y, expected, atol=1e-4):
                tally.wrong.append(
                    f"200 with a wrong answer (max diff {np.abs(y - expected).max()})"
                )
        elif answer.status == 503:
            retry = answer.headers.get("Retry-After", "")
            if not retry.isdecimal():
                tally.wrong.append(f"503 without a Retry-After in seconds ({retry!r})")
            elif options["honour_retry_after"]:
                time.sleep(int(retry))
        else:
            tally.failures.append(f"status {answer.status}: {body[:200]!r}")


def run_probe_load(
    url: str,
    model: str,
    x: np.ndarray,
    expected: np.ndarray,
    clients: int = 128,
    seconds: float = 30.0,
    probe_every: float = 0.2,
    timeout: float = 60.0,
    honour_retry_after: bool = True,
    probe_timeout: float = 10.0,
    client_nice: int = 0,
) -> ProbeLoadResult:
    """``clients`` threads send ``x`` for ``seconds`` while liveness and readiness are probed.

    Introduced in notebooks/08_measuring_a_server.ipynb. ``expected`` is the model's output
    for ``x`` computed in process; ``timeout`` bounds every request, ``probe_timeout`` every probe.
    ``client_nice`` lowers the clients' CPU priority: in a cluster they run on other machines,
    not on the server's CPU (here they share it).
    """
    x = wire_array(x)
    tally = Tally()
    options = {"timeout": timeout, "honour_retry_after": honour_retry_after, "nice": client_nice}
    began = time.perf_counter()
    args = (url, model, x, expected, tally, began + seconds, options)
    workers = [threading.Thread(target=client, args=args, daemon=True) for _ in range(clients)]
    command = [sys.executable, "-m", __name__, url, str(seconds), str(probe_every)]
    command.append(str(probe_timeout))
    side = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(max(0.0, began + seconds + timeout + 10 - time.perf_counter()))
    try:
        probed = json.loads(side.communicate(timeout=3 * probe_timeout + 10)[0])
    finally:
        side.kill()
    hung = sum(thread.is_alive() for thread in workers)
    failures = tally.failures + [f"{hung} clients still waiting"] * bool(hung)
    probes = np.asarray(probed["times"] or [np.nan]) * 1e3
    answered = len(tally.statuses)
    refused = tally.statuses.count(503)
    return ProbeLoadResult(
        clients=clients,
        seconds=round(time.perf_counter() - began, 1),
        accepted=tally.statuses.count(200),
        refused=refused,
        refused_share=round(refused / answered, 3) if answered else 0.0,
        wrong=len(tally.wrong),
        failed=len(failures),
        longest_wait_s=round(max(tally.waits, default=0.0), 3),
        probes=len(probed["times"]),
        probe_failures=len(probed["failures"]),
        probe_p50_ms=round(float(np.percentile(probes, 50)), 1),
        probe_max_ms=round(float(probes.max()), 1),
        examples=tuple((tally.wrong + failures + probed["failures"])[:5]),
    )


def main(argv: list[str] | None = None) -> None:
    """The prober process: probe, then print the times and failures as JSON."""
    parser = argparse.ArgumentParser(description=probe_for.__doc__)
    parser.add_argument("url")
    for name in ("seconds", "every", "timeout"):
        parser.add_argument(name, type=float)
    args = parser.parse_args(argv)
    print(json.dumps(probe_for(args.url, args.seconds, args.every, args.timeout)))


if __name__ == "__main__":
    main()
