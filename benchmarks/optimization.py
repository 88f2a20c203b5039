"""What each optimization buys: size, accuracy and latency of every digits variant in models/.

Measures the committed files in ``models/digits/<version>/`` (no TensorFlow needed), with one
thread per runtime, and writes ``benchmarks/results/optimization.json`` and ``.png``. Ratios are
relative to the fp32 ONNX model measured in the same run. Targets (from the course's issue 4):

- int8 size ≤ 0.30 × fp32 ONNX;
- accuracy drop ≤ 0.5 percentage points;
- int8 ONNX Runtime latency at batch 64 no worse than fp32 ONNX Runtime (static QDQ: the int8
  path meant for convolutional models; the dynamic variant is recorded too).

Usage: ``python benchmarks/optimization.py [--models models] [--repeats 200]``
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from mlops_course import __version__
from mlops_course.bench import measure_variant
from mlops_course.data import load_digits_split
from mlops_course.model_card import read_card, verify_files
from mlops_course.runtime import load_runner

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
BASELINE = "model.onnx"
INT8_FILES = (
    "model_int8_dynamic.onnx",
    "model_int8_static.onnx",
    "model_dynamic.tflite",
    "model_int8.tflite",
)
LATENCY_TARGET_FILE = "model_int8_static.onnx"


def measure(folder: Path, repeats: int, threads: int = 1) -> list[dict]:
    """One row per file in the card, in card order, with ratios against the fp32 ONNX model."""
    card = read_card(folder / "card.json")
    problems = verify_files(card, folder)
    if problems:
        raise SystemExit("models do not match their card:\n  " + "\n  ".join(problems))
    split = load_digits_split()
    rows = []
    for entry in card.files:
        if entry.format == "keras":  # the trained network itself, not a file anyone deploys
            continue
        row = measure_variant(
            load_runner(folder / entry.path, threads), split.x_test, split.y_test, repeats=repeats
        )
        rows.append(
            {"variant": entry.path, "format": entry.format, "precision": entry.precision, **row}
        )
    base = next(r for r in rows if r["variant"] == BASELINE)
    for row in rows:
        row["size_ratio"] = row["size_bytes"] / base["size_bytes"]
        row["accuracy_drop_points"] = 100 * (base["accuracy"] - row["accuracy"])
        for batch in (1, 64):
            row[f"latency_ratio_b{batch}"] = row[f"p50_ms_b{batch}"] / base[f"p50_ms_b{batch}"]
    return rows


def targets(rows: list[dict]) -> dict[str, dict]:
    """Whether each target holds, with the measured value behind it."""
    by_name = {r["variant"]: r for r in rows}
    int8 = [by_name[n] for n in INT8_FILES if n in by_name]
    worst_size = max(r["size_ratio"] for r in int8)
    worst_drop = max(r["accuracy_drop_points"] for r in int8)
    static = by_name[LATENCY_TARGET_FILE]
    return {
        "int8_size_ratio_max_0.30": {"value": worst_size, "holds": worst_size <= 0.30},
        "accuracy_drop_points_max_0.5": {"value": worst_drop, "holds": worst_drop <= 0.5},
        "int8_static_ort_latency_b64_ratio_max_1.0": {
            "value": static["latency_ratio_b64"],
            "holds": static["latency_ratio_b64"] <= 1.0,
        },
    }


def plot(rows: list[dict], path: Path) -> None:
    """Size and batch-64 latency relative to fp32 ONNX, accuracy annotated on the bars."""
    names = [f"{r['format']} {r['precision']}" for r in rows]
    x = np.arange(len(rows))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    axes[0].bar(x, [r["size_bytes"] / 1024 for r in rows], color="tab:blue")
    axes[0].set(ylabel="file size (KiB)", title="Model size (accuracy on bars)")
    for i, r in enumerate(rows):
        axes[0].text(
            i, r["size_bytes"] / 1024, f"{r['accuracy']:.3f}", ha="center", va="bottom", fontsize=8
        )
    width = 0.4
    axes[1].bar(x - width / 2, [r["p50_ms_b1"] for r in rows], width, label="batch 1")
    axes[1].bar(x + width / 2, [r["p50_ms_b64"] for r in rows], width, label="batch 64")
    axes[1].set(
        ylabel="p50 latency (ms, log scale)", yscale="log", title="Latency per call, 1 thread"
    )
    axes[1].legend()
    for ax in axes:
        ax.set_xticks(x, names, rotation=30, ha="right")
        ax.set_xlabel("variant")
    fig.suptitle("Digits CNN: what each optimization buys")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=ROOT / "models", help="model repository")
    parser.add_argument("--version", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=300, help="timed calls per batch size")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    folder = args.models / "digits" / str(args.version)
    if not (folder / "card.json").is_file():
        parser.error(f"{folder}/card.json not found; run `make model` first")
    start = time.perf_counter()
    rows = measure(folder, args.repeats)
    checks = targets(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    result = {
        "benchmark": "optimization",
        "model": f"digits/{args.version}",
        "machine": {
            "python": platform.python_version(),
            "processor": platform.machine(),
            "threads_per_runtime": 1,
        },
        "package_version": __version__,
        "repeats": args.repeats,
        "variants": rows,
        "targets": checks,
        "seconds": round(time.perf_counter() - start, 1),
    }
    (args.out / "optimization.json").write_text(json.dumps(result, indent=2) + "\n")
    plot(rows, args.out / "optimization.png")
    for r in rows:
        print(
            f"{r['variant']:<26} {r['size_bytes']:>8,} B  x{r['size_ratio']:.2f}  "
            f"acc {r['accuracy']:.4f}  p50 b1 {r['p50_ms_b1']:.3f} ms  "
            f"b64 {r['p50_ms_b64']:.3f} ms  p99 b64 {r['p99_ms_b64']:.3f} ms"
        )
    for name, check in checks.items():
        print(f"target {name}: {check['value']:.3f} -> {'holds' if check['holds'] else 'MISSED'}")
    print(f"wrote {args.out / 'optimization.json'} and optimization.png in {result['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
