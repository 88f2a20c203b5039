"""Servers started by the course do not outlive what started them (issue #21, part 3).

``tied_popen`` (``mlops_course.server_process``) ties a child to its parent: a gunicorn started
by a process that then gets SIGKILLed (a Jupyter kernel restarted, a test run killed) stops, its
workers too, and its port closes. The repository's conftest.py fails a test run that leaves any
of its processes running; a pytest run in a subprocess shows that here.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import requests
from paths import MODELS, ROOT

from mlops_course.server_process import HOST, gunicorn_server

pytest_plugins = ["pytester"]

DEADLINE_S = 60  # generous: gunicorn gives its workers up to 10 s to finish on SIGTERM

# Starts gunicorn (two workers) from the main thread, or from a thread that has ended by the time
# the server is used; prints the port and the pids of master and workers; then waits to be killed.
PARENT = """
import json, sys, threading, time
import psutil
from mlops_course.server_process import gunicorn_server

servers = []
start = lambda: servers.append(gunicorn_server(sys.argv[1], workers=2).start())
if sys.argv[2] == "thread":
    thread = threading.Thread(target=start)
    thread.start()
    thread.join()
else:
    start()
server = servers[0]
master = psutil.Process(server.process.pid)
deadline = time.monotonic() + 60
while len(master.children()) < 2 and time.monotonic() < deadline:
    time.sleep(0.1)
pids = [master.pid] + [worker.pid for worker in master.children()]
print(json.dumps({"port": server.port, "pids": pids, "log": str(server.log_path)}), flush=True)
time.sleep(600)
"""


def processes(pids: list[int]) -> list[psutil.Process]:
    return [psutil.Process(pid) for pid in pids]


def running(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex((HOST, port)) == 0


def wait_until_gone(watched: list[psutil.Process], port: int) -> list[psutil.Process]:
    """Those of ``watched`` still running at the deadline (empty: all gone, port closed)."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        alive = [process for process in watched if running(process)]
        if not alive and not accepts(port):
            return []
        time.sleep(0.2)
    return [process for process in watched if running(process)]


@pytest.mark.slow
@pytest.mark.parametrize("started_from", ["main", "thread"])
def test_server_stops_when_its_parent_is_killed(started_from):
    """Main thread: Linux's parent-death signal; other threads (and macOS): the watchdog."""
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(MODELS), started_from],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    watched: list[psutil.Process] = []
    try:
        started = json.loads(parent.stdout.readline())
        watched = processes(started["pids"])
        assert len(watched) == 3, "a master and two workers"
        url = f"http://{HOST}:{started['port']}/v2/health/ready"
        assert requests.get(url, timeout=10).status_code == 200  # alive though its thread ended
        parent.kill()
        parent.wait(10)
        left = wait_until_gone(watched, started["port"])
        assert not left, f"still running {DEADLINE_S} s after their parent was killed: {left}"
    finally:
        parent.kill()
        parent.wait(10)
        for process in watched:
            if running(process):
                process.kill()
        if watched:  # the killed parent could not remove the server's log folder
            shutil.rmtree(Path(started["log"]).parent, ignore_errors=True)


@pytest.mark.slow
def test_sigterm_to_gunicorns_master_stops_its_workers():
    with gunicorn_server(MODELS, workers=2) as server:
        master = psutil.Process(server.process.pid)
        deadline = time.monotonic() + DEADLINE_S
        while len(master.children()) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        workers = master.children()
        assert len(workers) == 2
        os.kill(master.pid, signal.SIGTERM)  # what the parent-death signal sends
        server.process.wait(DEADLINE_S)
        assert not wait_until_gone(workers, server.port)


LEAVES_A_SERVER = """
import json, os, subprocess, sys
from mlops_course.server_process import gunicorn_server

def test_leaves_gunicorn_running():
    server = gunicorn_server({models!r}, workers=1).start()  # never stopped
    with open("pids.json", "w") as out:
        json.dump({{"port": server.port, "pid": server.process.pid}}, out)

def test_a_child_that_ends_within_the_grace_period_is_fine():
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(2)"])
"""


@pytest.mark.slow
def test_a_run_that_leaves_a_server_running_fails(pytester, monkeypatch):
    monkeypatch.setenv("MLOPS_COURSE_LEFTOVER_GRACE_S", "6")
    pytester.makeconftest((ROOT / "conftest.py").read_text())
    pytester.makepyfile(test_leaky=LEAVES_A_SERVER.format(models=str(MODELS)))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-v", timeout=180)
    result.stdout.fnmatch_lines(["*2 passed*"])
    started = json.loads((pytester.path / "pids.json").read_text())
    result.stdout.fnmatch_lines(["*processes left behind*", f"*{started['pid']}*gunicorn*"])
    assert "time.sleep(2)" not in result.stdout.str()  # it ended within the grace period
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert not psutil.pid_exists(started["pid"]) or not running(psutil.Process(started["pid"]))
    assert not accepts(started["port"])


@pytest.mark.slow
def test_a_run_that_stops_its_server_passes(pytester):
    pytester.makeconftest((ROOT / "conftest.py").read_text())
    pytester.makepyfile(
        test_tidy=f"""
from mlops_course.server_process import gunicorn_server

def test_stops_gunicorn():
    with gunicorn_server({str(MODELS)!r}, workers=1) as server:
        assert server.alive()
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=180)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    assert "processes left behind" not in result.stdout.str()
