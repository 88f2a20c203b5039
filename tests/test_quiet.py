"""quiet_stderr: C-level writes to fd 2 vanish inside the block and come back after it."""

import os
import subprocess
import sys
import textwrap

import pytest

from mlops_course.quiet import quiet_stderr

CHILD = textwrap.dedent(
    """
    import os
    from mlops_course.quiet import quiet_stderr

    os.write(2, b"before\\n")
    with quiet_stderr():
        os.write(2, b"E0000 hidden C++ log line\\n")
    os.write(2, b"after\\n")
    try:
        with quiet_stderr():
            raise ValueError("boom")
    except ValueError:
        os.write(2, b"restored after an error\\n")
    """
)


def run_child() -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    result = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, check=True
    )
    return result.stderr


def test_fd2_writes_inside_the_block_are_discarded():
    err = run_child()
    assert "E0000" not in err
    assert err.splitlines() == ["before", "after", "restored after an error"]


def test_the_descriptor_is_restored_and_no_descriptor_leaks():
    """Counted in a fresh interpreter: in the test process other threads open files meanwhile."""
    child = textwrap.dedent(
        """
        import os
        from mlops_course.quiet import quiet_stderr

        before, opened = os.fstat(2), sorted(os.listdir("/proc/self/fd"))
        with quiet_stderr():
            pass
        after = os.fstat(2)
        print((before.st_dev, before.st_ino) == (after.st_dev, after.st_ino))
        print(sorted(os.listdir("/proc/self/fd")) == opened)
        """
    )
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("no /proc/self/fd here to count open descriptors")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, env=env, check=True
    ).stdout
    assert out.split() == ["True", "True"]


def test_exceptions_inside_the_block_propagate():
    with pytest.raises(RuntimeError, match="kept"), quiet_stderr():
        raise RuntimeError("kept")
