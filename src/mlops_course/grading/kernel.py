"""Run one submission in a kernel: its cells first, then each question's tests (partial credit).

The executor (nbclient) stays in the grader; only the kernel runs in the sandbox, reached over
Unix sockets in the submission's own folder (no network needed). Every cell, and every
question's tests, has its own time limit (an alarm the grader sets in the kernel before the
submission's first cell): an endless loop raises ``TimeoutError`` and costs that question; a
memory bomb meets ``MemoryError`` under the address-space limit.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from signal import SIGKILL
from subprocess import DEVNULL

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

from mlops_course.grading.assign import Question
from mlops_course.grading.sandbox import NOBODY, Limits

KERNEL = "mlops-course-grading"
CHECK_CELL = re.compile(r'\s*grader\.check\("\w+"\)\s*')
ALARM = """\
def __grading_alarm():
    import signal
    def ring(*_):
        raise TimeoutError("cell ran over {seconds} s")
    signal.signal(signal.SIGALRM, ring)
    events = get_ipython().events
    events.register("pre_run_cell", lambda *_: signal.alarm({seconds}))
    events.register("post_run_cell", lambda *_: signal.alarm(0))
__grading_alarm()
del __grading_alarm
"""
RUN_CASES = """\
def __grade_cases(bodies):
    from otter.test_files.ok_test import run_doctest
    return [bool(run_doctest({name!r}, body, globals())[0]) for body in bodies]
print({marker!r} + __import__("json").dumps(__grade_cases({bodies!r})))
del __grade_cases
"""


class SandboxKernelManager(KernelManager):
    """A kernel manager whose connection file the unprivileged kernel can read."""

    def write_connection_file(self, **kwargs):
        super().write_connection_file(**kwargs)
        os.chown(self.connection_file, NOBODY, NOBODY)


@dataclass
class Outcome:
    """Scores per question, hints of failed cases, and what went wrong (cells, kernel)."""

    scores: dict[str, float] = field(default_factory=dict)
    possible: float = 0.0
    hints: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def write_kernelspec(folder: Path, argv: list[str]) -> KernelSpecManager:
    """A kernel spec that exists only for this submission; the notebook's own is ignored."""
    spec = folder / KERNEL
    spec.mkdir(parents=True)
    kernel = {
        "argv": argv,
        "display_name": "Python 3 (grading)",
        "language": "python",
        "interrupt_mode": "message",
    }
    (spec / "kernel.json").write_text(json.dumps(kernel))
    return KernelSpecManager(kernel_dirs=[str(folder)])


def student_cells(notebook: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(notebook, as_version=4)
    nb.cells = [c for c in nb.cells if c.cell_type == "code" and not CHECK_CELL.fullmatch(c.source)]
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": KERNEL, "language": "python"}
    return nb


def cell_error(cell) -> str:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return f"{output.get('ename')}: {output.get('evalue', '')}"[:200]
    return ""


def passed_cases(cell, marker: str) -> list[bool] | None:
    for output in cell.get("outputs", []):
        for line in output.get("text", "").splitlines():
            if line.startswith(marker):
                return json.loads(line[len(marker) :])
    return None


def check_positions(notebook: Path, names: list[str]) -> dict[str, int | None]:
    """After which of :func:`student_cells` each question's tests run: right after the cell
    before its ``grader.check("q")`` cell, as in the student's own run (later cells may stop the
    server the tests need). A question whose check cell was deleted runs before the next
    question's check, else at the end (None)."""
    found: dict[str, int] = {}
    kept = 0
    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        if CHECK_CELL.fullmatch(cell.source):
            for name in names:
                if f'grader.check("{name}")' in cell.source and kept:
                    found.setdefault(name, kept - 1)
        else:
            kept += 1
    due: dict[str, int | None] = {}
    for k, name in enumerate(names):
        later = [found[n] for n in names[k + 1 :] if n in found]
        due[name] = found.get(name, min(later) if later else None)
    return due


def run_tests(client: NotebookClient, nb, question: Question, outcome: Outcome) -> None:
    """Send one question's test cases to the kernel and record its points and hints."""
    marker = f"@@grade-{secrets.token_hex(8)}@@"
    bodies = [case.code for case in question.cases]
    code = RUN_CASES.format(name=question.name, marker=marker, bodies=bodies)
    cell = nbformat.v4.new_code_cell(code)
    nb.cells.append(cell)
    client.execute_cell(cell, len(nb.cells) - 1)
    passed = passed_cases(cell, marker)
    if not isinstance(passed, list) or len(passed) != len(bodies):
        passed = [False] * len(bodies)
    outcome.scores[question.name] = sum(
        case.points for case, ok in zip(question.cases, passed, strict=True) if ok
    )
    outcome.hints += [
        f"{question.name}: {case.hint}"
        for case, ok in zip(question.cases, passed, strict=True)
        if not ok and case.hint
    ]


def kill_on_stop(km: KernelManager, stop: threading.Event, finished: threading.Event) -> None:
    """Kill the kernel as soon as ``stop`` is set (Ctrl-C), not after its current cell."""
    while not finished.wait(0.2):
        if stop.is_set():
            if km.has_kernel:
                km.signal_kernel(SIGKILL)
            return


def run_submission(
    notebook: Path,
    questions: list[Question],
    work: Path,
    spec: KernelSpecManager,
    limits: Limits,
    stop: threading.Event,
) -> Outcome:
    """Execute ``notebook`` (a copy in ``work``) and then the tests, in a fresh kernel."""
    nb = student_cells(notebook)
    outcome = Outcome(scores={q.name: 0.0 for q in questions})
    outcome.possible = sum(q.possible for q in questions)
    km = SandboxKernelManager(
        kernel_name=KERNEL,
        kernel_spec_manager=spec,
        transport="ipc",
        ip=str(work / ".kernel" / "socket"),
        connection_file=str(work / ".kernel" / "kernel.json"),
    )
    client = NotebookClient(
        nb,
        km=km,
        timeout=None,
        allow_errors=True,
        kernel_name=KERNEL,
        startup_timeout=120,
        resources={"metadata": {"path": str(work)}},
    )
    watchdog = threading.Timer(limits.total_s, lambda: km.has_kernel and km.signal_kernel(SIGKILL))
    watchdog.start()
    finished = threading.Event()
    threading.Thread(target=kill_on_stop, args=(km, stop, finished), daemon=True).start()
    launched = None
    try:
        with client.setup_kernel(cwd=str(work), stdout=DEVNULL, stderr=DEVNULL):
            launched = km.provisioner.process if km.provisioner else None
            alarm = nbformat.v4.new_code_cell(ALARM.format(seconds=limits.cell_s))
            nb.cells.insert(0, alarm)
            client.execute_cell(alarm, 0)
            cells = list(nb.cells)[1:]
            due = check_positions(notebook, [q.name for q in questions])
            for index, cell in enumerate(cells, 1):
                if stop.is_set():
                    raise DeadKernelError("grading interrupted")
                client.execute_cell(cell, index)
                if error := cell_error(cell):
                    outcome.problems.append(f"code cell {index}: {error}")
                for question in [q for q in questions if due[q.name] == index - 1]:
                    run_tests(client, nb, question, outcome)
            for question in [q for q in questions if due[q.name] is None]:
                run_tests(client, nb, question, outcome)
    except DeadKernelError as error:
        reason = f"ran over {limits.total_s} s" if not watchdog.is_alive() else str(error)
        outcome.problems.append(f"kernel died ({reason}); later questions score 0")
    finally:
        watchdog.cancel()
        finished.set()
        if launched is not None:  # reap the sandbox's bwrap: no zombie outlives grading
            if launched.poll() is None:
                launched.kill()
            launched.wait(timeout=30)
    return outcome
