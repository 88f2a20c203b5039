"""The sandbox's private /tmp still shows a course checkout that lives under /tmp (a CI clone),
read-only, and nothing else of the machine's /tmp."""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from mlops_course.grading import sandbox

pytestmark = pytest.mark.skipif(not sandbox.available(), reason="no bwrap here")


def test_a_checkout_under_tmp_is_bound_back_and_the_rest_of_tmp_is_not():
    base = Path(tempfile.mkdtemp(prefix="grading-tmp-checkout-"))
    try:
        base.chmod(0o755)
        checkout, work = base / "clone", base / "scratch" / "s0000" / "work"
        (checkout / "src").mkdir(parents=True)
        (checkout / "src" / "module.py").write_text("VALUE = 42\n")
        (base / "secret.txt").write_text("token")
        work.mkdir(parents=True)
        os.chown(work, sandbox.NOBODY, sandbox.NOBODY)
        env = sandbox.environment(work, dict(os.environ))
        argv = sandbox.kernel_argv("bwrap", work, [], sandbox.Limits(), env, keep=(checkout,))
        assert argv[-5:] == [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        probe = f"""
import pathlib
print(open({str(checkout / "src" / "module.py")!r}).read().strip())
print(pathlib.Path({str(base / "secret.txt")!r}).exists())
try:
    open({str(checkout / "new.txt")!r}, "w")
except OSError:
    print("read-only")
"""
        done = subprocess.run(
            [*argv[:-5], sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
        )
        assert done.stdout.split("\n")[:3] == ["VALUE = 42", "False", "read-only"], done.stderr
    finally:
        shutil.rmtree(base)
