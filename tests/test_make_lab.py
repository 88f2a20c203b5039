"""`make lab` really serves JupyterLab on the course (HTTP 200 on /lab)."""

import os
import signal
import subprocess
import time

import pytest
import requests
from paths import ROOT

from mlops_course.server_process import free_port, tied_popen


@pytest.mark.slow
def test_make_lab_serves_jupyterlab():
    port, token = free_port(), "course-test-token"
    server = tied_popen(  # make passes the SIGTERM it gets on to jupyter lab
        [
            "make",
            "--no-print-directory",
            "lab",
            f"PORT={port}",
            f"LAB_ARGS=--IdentityProvider.token={token}",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline, status = time.monotonic() + 90, None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                url = f"http://127.0.0.1:{port}/lab?token={token}"
                status = requests.get(url, timeout=5).status_code
                break
            except requests.ConnectionError:
                time.sleep(0.5)
        assert status == 200, f"JupyterLab did not answer on port {port} (status {status})"
        tour = requests.get(
            f"http://127.0.0.1:{port}/api/contents/notebooks/00_course_tour.ipynb",
            headers={"Authorization": f"token {token}"},
            timeout=10,
        )
        assert tour.status_code == 200, "the lab's root must be the course repository"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
