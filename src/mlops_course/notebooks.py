"""Execute course notebooks in a fresh kernel and measure what they cost.

`make execute` uses this to refresh stored outputs honestly (a notebook is written back only when
every cell ran); `benchmarks/notebooks.py` uses it to record time and peak kernel memory;
`make test-one-core` asks it which notebooks train or convert models.

Usage: ``python -m mlops_course.notebooks execute notebooks/ solutions/01_lab.ipynb``,
``python -m mlops_course.notebooks model-notebooks``
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

CELL_TIMEOUT_S = 120
NOTEBOOK_DIRS = ("notebooks", "solutions")
#: Code that trains or converts a model: its results can change with the CPU and the core count.
TRAINS_OR_CONVERTS = re.compile(
    r"\.fit\(|\btrain\w*\(|gradient_descent\(|TFLiteConverter|convert_for_edgetpu|quantize_"
    r"(static|dynamic)\(|keras_to_onnx\(|tf2onnx|sklearn_to_onnx\("
)


@dataclass(frozen=True)
class NotebookRun:
    """How one notebook ran: wall time and the kernel's peak resident memory."""

    path: Path
    seconds: float
    peak_rss_mb: float | None  # None where /proc is not available


class NotebookFailed(RuntimeError):
    """A cell raised, timed out or killed the kernel; the stored notebook was left untouched."""


def find_notebooks(paths: list[str | Path]) -> list[Path]:
    """Expand folders into their notebooks (``_template.ipynb`` and checkpoints are skipped)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found += sorted(p for p in path.glob("*.ipynb") if not p.name.startswith("_"))
        elif path.suffix == ".ipynb" and path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(f"not a notebook or a folder of notebooks: {raw}")
    return found


def model_notebooks(paths: list[str | Path] = NOTEBOOK_DIRS) -> list[Path]:
    """The notebooks with a code cell that trains or converts a model (:data:`TRAINS_OR_CONVERTS`).

    ``make test-one-core`` runs them again pinned to one core: their stored outputs must hold
    with any threading, as they must on any CPU.
    """
    found = []
    for path in find_notebooks([p for p in paths if Path(p).exists()]):
        cells = nbformat.read(path, as_version=4).cells
        if any(c.cell_type == "code" and TRAINS_OR_CONVERTS.search(c.source) for c in cells):
            found.append(path)
    return found


def _peak_rss_mb(pid: int) -> float | None:
    """The kernel's high-water mark of resident memory (VmHWM), read from Linux's /proc."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def execute_notebook(
    path: Path, *, write: bool = True, timeout: int = CELL_TIMEOUT_S
) -> NotebookRun:
    """Run every cell of ``path`` top to bottom in a new kernel, started in the notebook's folder.

    With ``write=True`` the outputs are saved back into the file, but only after all cells ran.
    """
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=nb.metadata.get("kernelspec", {}).get("name", "python3"),
        resources={"metadata": {"path": str(path.parent.resolve())}},
        record_timing=False,
    )
    start = time.perf_counter()
    peak = None
    try:
        with client.setup_kernel():
            info = client.wait_for_reply(client.kc.kernel_info())
            nb.metadata["language_info"] = info["content"]["language_info"]
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
            process = getattr(client.km.provisioner, "process", None)
            peak = _peak_rss_mb(process.pid) if process else None
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as error:
        raise NotebookFailed(f"{path}: {error}") from None
    seconds = time.perf_counter() - start
    if write:
        nbformat.write(nb, path)
    return NotebookRun(path, seconds, peak)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlops_course.notebooks")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("execute", help="re-run notebooks in place, refreshing stored outputs")
    run.add_argument("paths", nargs="+", help="notebooks or folders of notebooks")
    sub.add_parser("model-notebooks", help="list the notebooks that train or convert models")
    args = parser.parse_args(argv)
    if args.command == "model-notebooks":
        print("\n".join(str(path) for path in model_notebooks()))
        return 0
    try:
        notebooks = find_notebooks(args.paths)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    failed = 0
    for path in notebooks:
        try:
            result = execute_notebook(path)
        except NotebookFailed as error:
            failed += 1
            print(f"FAILED {path} (left unchanged)\n{error}", file=sys.stderr)
            continue
        memory = f"{result.peak_rss_mb:.0f} MB" if result.peak_rss_mb else "n/a"
        print(f"ran {path} in {result.seconds:.1f} s, peak kernel RSS {memory}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
