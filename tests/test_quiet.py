"""quiet_stderr: C-level writes to fd 2 vanish inside the block and come back after it."""

import logging
import os
import subprocess
import sys
import textwrap

import pytest

from mlops_course.quiet import quiet_logger, quiet_stderr

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


def run_child(code: str = CHILD) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )


def test_fd2_writes_inside_the_block_are_discarded():
    err = run_child().stderr
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
    assert run_child(child).stdout.split() == ["True", "True"]


def test_exceptions_inside_the_block_propagate():
    with pytest.raises(RuntimeError, match="kept"), quiet_stderr():
        raise RuntimeError("kept")


def test_a_quieted_logger_gets_its_level_back_even_after_an_error():
    logger = logging.getLogger("mlops_course.test_quiet")
    logger.setLevel(logging.INFO)
    with pytest.raises(RuntimeError), quiet_logger(logger):
        assert logger.level == logging.ERROR
        raise RuntimeError("kept")
    assert logger.level == logging.INFO
