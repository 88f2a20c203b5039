"""Time and peak kernel memory of every notebook, against the course's budgets.

Runs each lesson and lab solution in a fresh kernel (outputs are not written back) and records
wall time and the kernel's peak resident memory (VmHWM). Writes benchmarks/results/notebooks.json
and notebooks.png. Budgets are reported, not asserted: shared machines are noisy.
Usage: python benchmarks/notebooks.py [NOTEBOOK_OR_FOLDER ...]
"""

from __future__ import annotations

import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from mlops_course.notebooks import NotebookFailed, execute_notebook, find_notebooks

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
BUDGET = {"notebook_seconds": 60, "course_seconds": 360, "kernel_rss_mb": 1536}


def measure(paths: list[Path]) -> list[dict]:
    rows = []
    for path in paths:
        name = str(path.resolve().relative_to(ROOT))
        try:
            run = execute_notebook(path, write=False)
        except NotebookFailed as error:
            print(f"FAILED {name}: {str(error)[-300:]}", file=sys.stderr)
            rows.append({"notebook": name, "seconds": None, "peak_rss_mb": None, "failed": True})
            continue
        peak = round(run.peak_rss_mb, 1) if run.peak_rss_mb else None
        rows.append({"notebook": name, "seconds": round(run.seconds, 2), "peak_rss_mb": peak})
        rows[-1]["failed"] = False
        print(f"{run.seconds:6.1f} s {run.peak_rss_mb or 0:7.0f} MB  {name}")
    return rows


def verdicts(rows: list[dict]) -> dict[str, bool]:
    ran = [r for r in rows if not r["failed"]]
    return {
        "all_notebooks_ran": len(ran) == len(rows),
        "each_notebook_within_seconds": all(
            r["seconds"] <= BUDGET["notebook_seconds"] for r in ran
        ),
        "course_within_seconds": sum(r["seconds"] for r in ran) <= BUDGET["course_seconds"],
        "each_kernel_within_rss": all(
            (r["peak_rss_mb"] or 0) < BUDGET["kernel_rss_mb"] for r in ran
        ),
    }


def plot(rows: list[dict], target: Path) -> None:
    ran = [r for r in rows if not r["failed"]]
    names = [Path(r["notebook"]).stem for r in ran]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 0.4 * len(ran) + 2), sharey=True)
    left.barh(names, [r["seconds"] for r in ran], color="tab:blue")
    left.axvline(BUDGET["notebook_seconds"], color="tab:red", linestyle="--", label="budget")
    left.set(xlabel="wall time (s)", title="Execution time per notebook")
    right.barh(names, [r["peak_rss_mb"] or 0 for r in ran], color="tab:green")
    right.axvline(BUDGET["kernel_rss_mb"], color="tab:red", linestyle="--", label="budget")
    right.set(xlabel="peak kernel RSS (MB)", title="Peak kernel memory")
    left.invert_yaxis()
    left.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(target, dpi=100)


def main(argv: list[str]) -> int:
    paths = find_notebooks(argv or [ROOT / "notebooks", ROOT / "solutions"])
    rows = measure(paths)
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "budget": BUDGET,
        "total_seconds": round(sum(r["seconds"] or 0 for r in rows), 1),
        "notebooks": rows,
        "verdicts": verdicts(rows),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "notebooks.json").write_text(json.dumps(result, indent=2) + "\n")
    plot(rows, RESULTS / "notebooks.png")
    print(
        f"total {result['total_seconds']} s; "
        + ", ".join(f"{k}={'yes' if v else 'NO'}" for k, v in result["verdicts"].items())
    )
    print(f"wrote {RESULTS / 'notebooks.json'} and notebooks.png")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
