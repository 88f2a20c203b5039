"""Hostile lab-01 submissions are contained by the grading sandbox, and are not without it.

One submission per attack, graded together with an honest one (``--jobs 2``): rewriting the
tests, reading the hidden tests, overwriting a classmate's notebook, writing into the course
repository and the CSV, a detached process, an endless loop, a memory bomb, a leftover server.
The same attacks graded with ``--no-sandbox`` succeed, which shows the test can fail.
"""

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
from paths import ROOT

import mlops_course
from mlops_course.grading import assign, queue, sandbox
from mlops_course.server_process import free_port

LAB = "01_linear_regression_lab"
CHECKOUT = Path(mlops_course.__file__).resolve().parents[2]
LIMITS = sandbox.Limits(cell_s=15, total_s=90, memory_gb=4)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not sandbox.available(), reason="no bwrap here (apt-get install bubblewrap)"
    ),
]

REWRITE_TESTS = """
import glob
case = {'code': '>>> assert True', 'hidden': False}
suite = {'cases': [case], 'scored': True, 'setup': '', 'teardown': '', 'type': 'doctest'}
fake = f"OK_FORMAT = True\\ntest = {{'name': 'q1', 'points': 1, 'suites': [{suite!r}]}}\\n"
# its own folder and the fake course's tests: never the machine's /tmp (the unsandboxed control
# run would really overwrite whatever it finds)
found = glob.glob("**/*.py", recursive=True) + glob.glob(FAKE_ROOT + "/**/*.py", recursive=True)
for path in found:
    try:
        open(path, "w").write(fake)
    except OSError:
        pass
"""
READ_HIDDEN = """
import glob, shutil
found = []
for path in glob.glob({root!r} + "/solutions/*.ipynb") + glob.glob({checkout!r} + "/solu*/*"):
    try:
        if "avoid hard-coding 20 examples" in open(path).read():
            found.append(path)
    except OSError:
        pass
if found:  # the hidden tests give the answer away
    def cost_multi(Theta, A, Y):
        return np.sum((A @ Theta - Y) ** 2) / (2 * len(Y))
    try:
        shutil.copy(found[0], {loot!r} + "/hidden.ipynb")
    except OSError:
        pass
"""
TOUCH_OTHER = """
import os
for path in [{victim!r}]:
    try:
        open(path, "w").write("{{}}")
    except OSError:
        pass
"""
TOUCH_REPO = """
targets = [{root!r} + "/solutions/{lab}.ipynb", {csv!r}]
for path in [{root!r} + "/pwned.txt", {checkout!r} + "/pwned.txt", *targets]:
    try:
        open(path, "a").write("victim,99\\n")
    except OSError:
        pass
"""
LATER = """
import pathlib, time
for _ in range(1200):  # five minutes, unless something ends it
    time.sleep(0.25)
    try:
        pathlib.Path({csv!r}).write_text("victim,99\\n")
    except OSError:
        pass
"""
SERVE = """
import http.server
handler = http.server.SimpleHTTPRequestHandler
http.server.ThreadingHTTPServer(("127.0.0.1", {port}), handler).serve_forever()
"""
DETACHED = """
import subprocess, sys
subprocess.Popen([sys.executable, "-c", {script!r}, {marker!r}], start_new_session=True,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
"""
ENDLESS = "while True:\n    pass\n"
BOMB = "hog = bytearray(2**40)  # 1 TiB\n"


def fingerprint(*folders: Path) -> dict[str, str]:
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest()
        for folder in folders
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Files created, changed or removed."""
    return sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))


def survivors(marker: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and marker.encode() in (proc / "cmdline").read_bytes():
                found.append(int(proc.name))
        except OSError:
            pass
    return found


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def with_cell(nb, after: str, code: str):
    """``nb`` with a new code cell ``code`` after the first cell containing ``after``."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    index = next(i for i, c in enumerate(nb.cells) if after in c.source)
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell(code))
    return nb


def replacing(nb, defines: str, code: str):
    """``nb`` with the answer cell that defines ``defines`` replaced by ``code``."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    next(c for c in nb.cells if f"def {defines}(" in c.source).source = code
    return nb


def detached(script: str, marker: str) -> str:
    """Code that starts ``script`` in a new session, marked so that a survivor can be found."""
    return DETACHED.format(script=script, marker=marker)


def corpus(tmp: Path, sandboxed: bool) -> dict:
    """Submissions, a fake course root (solutions/), a loot folder; returns their paths."""
    root, subs, loot = tmp / "root", tmp / "subs", tmp / "loot"
    (root / "solutions").mkdir(parents=True)
    loot.mkdir(mode=0o777)
    solution = ROOT / "solutions" / f"{LAB}.ipynb"
    (root / "solutions" / solution.name).write_bytes(solution.read_bytes())
    out = assign.otter_assign(solution, tmp / "assign")
    blank = nbformat.read(out / "student" / solution.name, as_version=4)
    solved = nbformat.read(out / "autograder" / solution.name, as_version=4)
    marker, port = f"grading-attack-{os.getpid()}-{int(sandboxed)}", free_port()
    paths = {
        "root": str(root),
        "loot": str(loot),
        "csv": str(tmp / "grades.csv"),
        "lab": LAB,
        "checkout": str(CHECKOUT if sandboxed else root),
        "marker": marker,
        "port": port,
        "victim": str(subs / "honest" / solution.name),
    }
    setup = "load_linnerud("
    submissions = {
        "honest": solved,
        "rewrite_tests": with_cell(
            blank, setup, REWRITE_TESTS.replace("FAKE_ROOT", repr(paths["root"]))
        ),
        "read_hidden": with_cell(blank, "def cost_multi", READ_HIDDEN.format(**paths)),
        "touch_other": with_cell(blank, setup, TOUCH_OTHER.format(**paths)),
        "touch_repo": with_cell(blank, setup, TOUCH_REPO.format(**paths)),
        "detached": with_cell(solved, setup, detached(LATER.format(**paths), marker)),
        "server": with_cell(solved, setup, detached(SERVE.format(**paths), marker)),
    }
    if sandboxed:  # the limits are the same without the sandbox: grade these once
        submissions["endless_loop"] = replacing(solved, "ridge", ENDLESS)
        submissions["memory_bomb"] = replacing(solved, "gradient_multi", BOMB)
    for student, nb in submissions.items():
        (subs / student).mkdir(parents=True)
        nbformat.write(nb, subs / student / solution.name)
    return {**paths, "root": root, "subs": subs, "loot": loot, "csv": tmp / "grades.csv"}


def attack(tmp: Path, isolation: str) -> dict:
    paths = corpus(tmp, sandboxed=bool(isolation))
    watched = (paths["root"], paths["subs"], paths["loot"], CHECKOUT / "src")
    before = fingerprint(*watched)
    # The grader's scratch goes under a parent of this run's own (TMPDIR, as an instructor could
    # set it): other tests grading at the same time keep theirs elsewhere.
    scratch = Path(tempfile.mkdtemp(prefix="grading-scratch-"))
    scratch.chmod(0o711)  # like /tmp: the sandbox's user may pass through, not list
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tempfile, "tempdir", str(scratch))
        grades = queue.grade(
            paths["root"], paths["subs"], jobs=2, isolation=isolation, limits=LIMITS
        )
    queue.write_csv(grades, paths["csv"])
    written = paths["csv"].read_text()
    alive = survivors(paths["marker"])
    serving = listening(paths["port"])
    time.sleep(2)  # a process left behind would rewrite the CSV by now
    result = {
        "scores": {g.student: g.scores for g in grades},
        "errors": {g.student: g.error for g in grades if g.error},
        "changed": changed(before, fingerprint(*watched)),
        "csv_rewritten": paths["csv"].read_text() != written,
        "survivors": alive,
        "serving": serving,
        "scratch_left": sorted(p.name for p in scratch.iterdir()),
    }
    shutil.rmtree(scratch)
    for pid in survivors(paths["marker"]):  # the control run's leftovers, started by this test
        os.kill(pid, signal.SIGKILL)
    return result


@pytest.fixture(scope="module")
def sandboxed(tmp_path_factory) -> dict:
    return attack(tmp_path_factory.mktemp("sandboxed"), "bwrap")


@pytest.fixture(scope="module")
def unsandboxed(tmp_path_factory) -> dict:
    return attack(tmp_path_factory.mktemp("unsandboxed"), "")


def test_every_attack_is_contained(sandboxed):
    scores = {student: sum(s.values()) for student, s in sandboxed["scores"].items()}
    assert sandboxed["errors"] == {}
    assert scores["honest"] == 8, "a classmate's attack must not change another grade"
    for blank in ("rewrite_tests", "read_hidden", "touch_other", "touch_repo"):
        assert scores[blank] == 0, f"{blank} gained points: {sandboxed['scores'][blank]}"
    assert sandboxed["changed"] == [], "no file outside the sandbox changes"
    assert not sandboxed["csv_rewritten"] and sandboxed["survivors"] == []
    assert not sandboxed["serving"] and sandboxed["scratch_left"] == []


def test_limits_cost_one_question_not_the_submission(sandboxed):
    assert sandboxed["scores"]["endless_loop"] == {"q1": 1, "q2": 2, "q3": 0, "q4": 3}
    assert sandboxed["scores"]["memory_bomb"] == {"q1": 1, "q2": 0, "q3": 2, "q4": 3}
    assert sum(sandboxed["scores"]["detached"].values()) == 8
    assert sum(sandboxed["scores"]["server"].values()) == 8


def test_without_the_sandbox_the_attacks_succeed(unsandboxed):
    """The control: the same corpus, graded with ``--no-sandbox``, does damage."""
    assert sum(unsandboxed["scores"]["read_hidden"].values()) == 1, "read the hidden tests"
    changed = {Path(p).name for p in unsandboxed["changed"]}
    assert {"pwned.txt", "hidden.ipynb", f"{LAB}.ipynb"} <= changed
    assert unsandboxed["survivors"] and unsandboxed["serving"]
    assert unsandboxed["csv_rewritten"]


def run_as_nobody(home: Path, hide_home: bool, command: list[str]):
    """Run ``command`` in the sandbox's file-system view of ``home``, as the kernel would."""
    binds = sandbox.home_hidden(home, [home / "opt" / "python"]) if hide_home else []
    argv = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", *binds]
    argv += ["setpriv", f"--reuid={sandbox.NOBODY}", f"--regid={sandbox.NOBODY}", "--clear-groups"]
    return subprocess.run([*argv, "--", *command], capture_output=True, text=True, timeout=30)


def test_the_graders_home_is_hidden_but_its_python_still_runs():
    """pyenv and venvs often live in a home of mode 700, which nobody cannot enter: the sandbox
    shows an empty home with only the interpreter bound back."""
    base = Path(tempfile.mkdtemp(prefix="grader-home-"))  # pytest's tmp_path is 700 too
    try:
        base.chmod(0o755)
        home = base / "home"
        tool = home / "opt" / "python" / "bin" / "tool"
        tool.parent.mkdir(parents=True)
        tool.write_text("#!/bin/sh\necho ran\n")
        tool.chmod(0o755)
        (home / "token").write_text("secret")
        home.chmod(0o700)
        as_is = run_as_nobody(home, False, [str(tool)])
        assert as_is.returncode != 0  # what broke lab 07's server and lab 11's checkov
        hidden = run_as_nobody(home, True, [str(tool)])
        assert hidden.stdout == "ran\n", hidden.stderr
        peek = run_as_nobody(home, True, ["cat", str(home / "token")])
        assert peek.returncode != 0 and "secret" not in peek.stdout
    finally:
        shutil.rmtree(base)
