"""What ``benchmarks/serving.py`` measures with: CPU per request, wrk runs, the protocol's cost.

A ratio of throughputs on two shared cores is really a ratio of CPU costs, so every measurement
records the CPU time per request of the client (this process, or wrk) and of the server's
process tree. :func:`protocol_cost` subtracts the CPU that in-process inference needs for the
same batch: what is left is what the protocol itself costs (HTTP, encoding and decoding on both
sides), the number that compares JSON with binary tensors. Benchmark code, not server code: the
serving image does not ship it.

Introduced in notebooks/08_measuring_a_server.ipynb; ``benchmarks/serving.py`` uses it.
"""

from __future__ import annotations

import json
import re
import resource
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import psutil
import requests

from mlops_course.loadgen import binary_header, binary_output, wire_array
from mlops_course.serving.protocol import HEADER_LENGTH


def cpu_seconds(server_pid: int | None) -> tuple[float, float]:
    """CPU seconds used so far by the client side (this process and the commands it ran, such
    as wrk) and by the server's process tree (gunicorn's master and workers; 0 without one)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    commands = resource.getrusage(resource.RUSAGE_CHILDREN)
    client = own.ru_utime + own.ru_stime + commands.ru_utime + commands.ru_stime
    if server_pid is None:
        return client, 0.0
    root = psutil.Process(server_pid)
    tree = (root, *root.children(recursive=True))
    return client, sum(sum(p.cpu_times()[:2]) for p in tree)  # user + system


def cpu_per_request(
    before: tuple[float, float],
    after: tuple[float, float],
    requests: int,
    requests_per_s: float,
    server_pid: int | None,
) -> dict:
    """Client and server CPU milliseconds per request between two :func:`cpu_seconds`, and
    the cores that kept busy on average."""
    client, server = ((b - a) * 1e3 / max(requests, 1) for a, b in zip(before, after, strict=True))
    server = server if server_pid else None
    busy = requests_per_s * (client + (server or 0.0)) / 1e3
    return {"client_cpu_ms": client, "server_cpu_ms": server, "cores_busy": busy}


def protocol_cost(total_cpu_ms: float, inference_cpu_ms: float) -> float:
    """CPU milliseconds per request that are not inference: client + server minus in-process.

    ``total_cpu_ms`` is what client and server spent per request; ``inference_cpu_ms`` what
    in-process ONNX Runtime spends on the same batch. Raises when the difference is not positive
    (a measurement that cannot be right: the server runs the same inference and more).
    """
    cost = total_cpu_ms - inference_cpu_ms
    if not cost > 0:
        raise ValueError(
            f"total CPU per request ({total_cpu_ms:.3f} ms) is not above in-process inference "
            f"({inference_cpu_ms:.3f} ms): the measurement is broken"
        )
    return cost


def checked_binary_body(url: str, x, expected, model: str) -> tuple[bytes, dict]:
    """The binary infer body for ``x`` that wrk replays, after one request showed that the
    server answers it with ``expected`` (wrk itself only counts status codes)."""
    metadata = requests.get(f"{url}/v2/models/{model}", timeout=30).json()
    x = wire_array(x)
    names = metadata["inputs"][0]["name"], metadata["outputs"][0]["name"]
    header, headers = binary_header(x, *names)
    body = header + x.tobytes()
    answer = requests.post(f"{url}/v2/models/{model}/infer", data=body, headers=headers, timeout=60)
    answer.raise_for_status()
    y = binary_output(answer.content, answer.headers[HEADER_LENGTH])
    if y.shape != expected.shape or not np.allclose(y, expected, atol=1e-5):
        raise RuntimeError("the server's answer to the benchmark body differs from in-process")
    return body, {k: v for k, v in headers.items() if k != "Content-Length"}


def wrk_script(folder: Path, body: bytes, headers: dict[str, str]) -> Path:
    """A wrk Lua script that POSTs ``body`` (kept in ``folder``) with ``headers``."""
    (folder / "body").write_bytes(body)
    lines = [
        'wrk.method = "POST"',
        f'local f = assert(io.open("{folder}/body", "rb"))',
        'wrk.body = f:read("*a")',
        "f:close()",
    ]
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()]
    script = folder / "post.lua"
    script.write_text("\n".join(lines) + "\n")
    return script


def parse_wrk(out: str) -> dict:
    """Requests, errors (non-2xx and socket errors), requests/s, p50 and p99 from wrk's
    ``--latency`` report."""

    def number(pattern: str, default: float = 0.0) -> float:
        match = re.search(pattern, out)
        return float(match[1]) if match else default

    def ms(label: str) -> float:
        match = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)\b", out)
        scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}
        return float(match[1]) * scale[match[2]] if match else float("nan")

    errors = number(r"Non-2xx or 3xx responses: (\d+)")
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors += sum(int(v) for v in socket.groups()) if socket else 0
    return {
        "requests": int(number(r"(\d+) requests in")),
        "errors": int(errors),
        "requests_per_s": number(r"Requests/sec:\s+([\d.]+)"),
        "p50_ms": ms("50"),
        "p99_ms": ms("99"),
    }


def wrk(
    endpoint: str, body: bytes, headers: dict[str, str], connections: int, seconds: float
) -> dict:
    """POST ``body`` over ``connections`` kept-alive connections for ``seconds`` with wrk.

    wrk is a C load generator: one thread of it costs a few percent of a core where a Python
    client costs a quarter or more, so on two shared cores it measures the server, not the
    client. It only counts status codes, so callers check one answer to the same body first.
    """
    with tempfile.TemporaryDirectory(prefix="wrk-") as folder:
        script = wrk_script(Path(folder), body, headers)
        duration = f"-d{max(1, round(seconds))}s"  # whole seconds only
        command = [
            shutil.which("wrk") or "wrk",
            "-t1",
            f"-c{connections}",
            duration,
            "--latency",
            "-s",
            str(script),
            endpoint,
        ]
        run = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    out = run.stdout
    if run.returncode != 0 or "requests in" not in out:
        raise RuntimeError(f"wrk failed ({run.returncode}): {run.stderr.strip() or out}")
    return {"tool": f"wrk -t1 -c{connections}", **parse_wrk(out), "wrk_output": out}
