"""The model server against a naive seed-style server and against in-process ONNX Runtime.

Measured in one run on loopback (targets from the course's issue 5, recorded with pass/fail in
``benchmarks/results/serving.json``; the plot is ``serving.png``):

- production server ≥ 50× the naive seed-style server's throughput at batch 1;
- batching pays: samples/s at batch 64 ≥ 10× samples/s at batch 1;
- the binary tensor extension gives ≥ 3× the samples/s of JSON at batch 64;
- on a compute-heavy model, server samples/s at batch 8 ≥ 70 % of in-process ONNX Runtime
  (measured only when ``models/mobilenet`` exists);
- 0 errors under a 30 s load (``wrk`` when installed, else a Python thread pool); p50/p99 reported.

Throughput is the best over 1, 8 and 32 closed-loop clients (each setup's capacity); clients
and servers share the machine. Usage: ``python benchmarks/serving.py [--seconds 2]``
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from mlops_course import __version__
from mlops_course.data import load_digits_split
from mlops_course.runtime import OnnxRunner
from mlops_course.serving.loadgen import closed_loop, json_caller, triton_caller
from mlops_course.serving.process import ServerProcess, free_port, gunicorn_server

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
CLIENTS = (1, 8, 32)
BATCHES = (1, 64)


def grid(rows: list, setup: str, encoding: str, make, seconds: float, clients=CLIENTS,
         batches=BATCHES) -> None:  # fmt: skip
    """Measure ``make(batch)`` at every client count and batch size; append rows."""
    for batch in batches:
        for count in clients:
            result = closed_loop(lambda b=batch: make(b), count, seconds, batch=batch, warmup=1)
            rows.append({"setup": setup, "encoding": encoding, **result.as_dict()})
            print(
                f"{setup:10} {encoding:6} b{batch:<3} c{count:<3} {result.samples_per_s:10.1f}/s "
                f"p50 {result.p50_ms:8.2f} ms  p99 {result.p99_ms:8.2f} ms  err {result.errors}"
            )


def best(rows: list, setup: str, encoding: str, batch: int) -> float:
    """Highest samples/s of one setup at one batch size, over client counts."""
    values = [r["samples_per_s"] for r in rows
              if (r["setup"], r["encoding"], r["batch"]) == (setup, encoding, batch)]  # fmt: skip
    return max(values) if values else float("nan")


def sustained_load(url: str, body: bytes, seconds: int) -> dict:
    """``seconds`` of load on ``POST /v1/models/digits:predict``: wrk when installed."""
    endpoint = f"{url}/v1/models/digits:predict"
    wrk = shutil.which("wrk")
    if wrk is None:
        x = json.loads(body)["instances"]
        result = closed_loop(lambda: json_caller(endpoint, x), 8, seconds, warmup=1)
        return {"tool": "python threads (8 clients)", "requests": result.requests,
                "errors": result.errors, "requests_per_s": result.requests_per_s,
                "p50_ms": result.p50_ms, "p99_ms": result.p99_ms}  # fmt: skip
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                     f"wrk.body = {json.dumps(body.decode())}\n")  # fmt: skip
    command = [wrk, "-t2", "-c8", f"-d{seconds}s", "--latency", "-s", script.name, endpoint]
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60).stdout
    Path(script.name).unlink()

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
    return {"tool": "wrk -t2 -c8", "requests": int(number(r"(\d+) requests in")),
            "errors": int(errors), "requests_per_s": number(r"Requests/sec:\s+([\d.]+)"),
            "p50_ms": ms("50"), "p99_ms": ms("99"), "wrk_output": out}  # fmt: skip


def plot(rows: list, path: Path) -> None:
    """Samples/s and p99 latency against concurrent clients, one line per setup and batch."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.2))
    keys = sorted({(r["setup"], r["encoding"], r["batch"]) for r in rows})
    for setup, encoding, batch in keys:
        group = [
            r for r in rows if (r["setup"], r["encoding"], r["batch"]) == (setup, encoding, batch)
        ]
        clients = [r["clients"] for r in group]
        style = "-" if batch == 64 else "--"
        label = f"{setup} {encoding}, batch {batch}"
        axes[0].plot(clients, [r["samples_per_s"] for r in group], style, marker="o", label=label)
        axes[1].plot(clients, [r["p99_ms"] for r in group], style, marker="o", label=label)
    axes[0].set(ylabel="samples per second (log)", title="Throughput")
    axes[1].set(ylabel="p99 latency, ms (log)", title="Tail latency")
    for ax in axes:
        ax.set(xscale="log", yscale="log", xlabel="concurrent clients")
        ax.set_xticks(CLIENTS, [str(c) for c in CLIENTS])
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8)
    fig.suptitle("Digits CNN: production server vs naive seed-style server vs in-process")
    fig.tight_layout(rect=(0, 0.14, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=ROOT / "models")
    parser.add_argument("--seconds", type=float, default=2.0, help="per measurement point")
    parser.add_argument("--load-seconds", type=int, default=30, help="sustained load test")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    x = load_digits_split().x_test
    runner = OnnxRunner(args.models / "digits" / "1" / "model.onnx", threads=1)
    rows: list[dict] = []
    grid(rows, "in-process", "numpy",
         lambda b: (lambda: runner.predict(x[:b]) is not None), args.seconds / 2)  # fmt: skip
    with gunicorn_server(args.models, workers=2) as server:
        for binary in (False, True):
            grid(
                rows,
                "production",
                "binary" if binary else "JSON",
                lambda b, f=binary: triton_caller(server.url, "digits", x[:b], f),
                args.seconds,
            )
        grid(rows, "production", "TF-JSON",
             lambda b: json_caller(f"{server.url}/v1/models/digits:predict", x[:b]), args.seconds,
             batches=(1,))  # fmt: skip
        body = json.dumps({"instances": x[:1].tolist()}).encode()
        load = sustained_load(server.url, body, args.load_seconds)
        print(
            f"sustained load: {load['requests']} requests, {load['errors']} errors, "
            f"p50 {load['p50_ms']:.2f} ms, p99 {load['p99_ms']:.2f} ms ({load['tool']})"
        )
    with tempfile.TemporaryDirectory(prefix="naive-") as folder:
        port = free_port()
        command = [sys.executable, "-m", "mlops_course.serving.naive_server", "--port", str(port),
                   "--model", str(Path(folder) / "digits.keras")]  # fmt: skip
        with ServerProcess(command, port, ready_path="/", timeout=180) as naive:
            grid(rows, "naive", "TF-JSON",
                 lambda b: json_caller(f"{naive.url}/predict", x[:b]), args.seconds)  # fmt: skip

    production_b1 = best(rows, "production", "TF-JSON", 1)
    naive_b1 = best(rows, "naive", "TF-JSON", 1)
    batching = best(rows, "production", "binary", 64) / best(rows, "production", "binary", 1)
    binary = best(rows, "production", "binary", 64) / best(rows, "production", "JSON", 64)
    targets = {
        "production_vs_naive_b1_min_50": {"value": production_b1 / naive_b1,
                                          "holds": production_b1 / naive_b1 >= 50},
        "batch64_vs_batch1_samples_min_10": {"value": batching, "holds": batching >= 10},
        "binary_vs_json_b64_min_3": {"value": binary, "holds": binary >= 3},
        "heavy_model_server_vs_inprocess_b8_min_0.7": {
            "value": None, "holds": None,
            "note": "not measured: no compute-heavy model (models/mobilenet) in the repository",
        },
        "sustained_load_zero_errors": {"value": load["errors"], "holds": load["errors"] == 0,
                                       "p50_ms": load["p50_ms"], "p99_ms": load["p99_ms"]},
    }  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    result = {
        "benchmark": "serving",
        "model": "digits/1",
        "machine": {"python": platform.python_version(), "processor": platform.machine(),
                    "gunicorn_workers": 2, "gunicorn_threads": 4, "ort_threads_per_worker": 1},
        "package_version": __version__,
        "seconds_per_point": args.seconds,
        "measurements": rows,
        "sustained_load": {k: v for k, v in load.items() if k != "wrk_output"},
        "targets": targets,
        "seconds": round(time.perf_counter() - start, 1),
    }  # fmt: skip
    (args.out / "serving.json").write_text(json.dumps(result, indent=2) + "\n")
    plot(rows, args.out / "serving.png")
    for name, check in targets.items():
        value = "n/a" if check["value"] is None else f"{check['value']:.2f}"
        verdict = {True: "holds", False: "MISSED", None: "not measured"}[check["holds"]]
        print(f"target {name}: {value} -> {verdict}")
    print(f"wrote {args.out / 'serving.json'} and serving.png in {result['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
