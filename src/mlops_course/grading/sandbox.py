"""Where a submission's kernel runs: a bubblewrap sandbox, or (``--no-sandbox``) nothing.

The sandbox (``bwrap``, Debian's ``bubblewrap``): new PID, network, IPC and UTS namespaces; the
whole file system read-only; a private ``/tmp``; the submissions, the grader's own folders and the
course's ``solutions/`` and ``.git`` hidden under empty folders; its own writable copy of the
notebook; an unprivileged user (``nobody``) with no capabilities; and ``prlimit`` limits on
memory, CPU time and processes. When the kernel ends, PID 1 of the namespace ends and the kernel
takes every process it started (servers, detached children) with it.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

NOBODY = 65534
PASSED_ENV = (
    "PATH",
    "PYTHONPATH",
    "LANG",
    "LC_ALL",
    "TZ",
    "TF_ENABLE_ONEDNN_OPTS",
    "TF_CPP_MIN_LOG_LEVEL",
    "ORT_DISABLE_TELEMETRY",
    "DOCKER_HOST",
)


@dataclass(frozen=True)
class Limits:
    """Per-submission limits: a cell's time, the whole run's time, memory, CPU, processes."""

    cell_s: int = 120
    total_s: int = 900
    memory_gb: float = 8.0
    cpu_s: int = 1800
    processes: int = 512

    def prlimit(self) -> list[str]:
        memory = int(self.memory_gb * 2**30)
        return [
            "prlimit",
            f"--as={memory}",
            f"--cpu={self.cpu_s}",
            f"--nproc={self.processes}",
            "--core=0",
            "--",
        ]


def available() -> str:
    """The isolation this machine offers: ``"bwrap"`` or ``""`` (none)."""
    bwrap = shutil.which("bwrap")
    return "bwrap" if bwrap and shutil.which("setpriv") and shutil.which("prlimit") else ""


def environment(home: Path, environ: dict[str, str]) -> dict[str, str]:
    """The only variables a kernel sees: no tokens or credentials from the grader's shell."""
    env = {k: environ[k] for k in PASSED_ENV if k in environ}
    env.update(HOME=str(home), MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1")
    return env


def home_hidden(home: Path, needed: list[Path], perms: str = "0755") -> list[str]:
    """bwrap arguments that replace the grader's home with an empty one (its files, keys and
    tokens stay out of reach) and bind back, read-only, the folders under it the kernel needs to
    run: the Python installation, the virtualenv and the course checkout (pyenv and venvs often
    live there; a home of mode 700 would otherwise stop ``nobody`` from starting any program in
    them)."""
    home = home.resolve()
    inside = sorted({p.resolve() for p in needed if p.resolve().is_relative_to(home)})
    inside = [p for p in inside if not any(p != q and p.is_relative_to(q) for q in inside)]
    if home == Path("/") or not home.is_dir():
        return []
    argv = ["--perms", perms, "--tmpfs", str(home)]
    for path in inside:
        if path == home:
            continue
        for parent in reversed(path.relative_to(home).parents[:-1]):  # bwrap makes them 0700
            argv += ["--perms", "0755", "--dir", str(home / parent)]
        argv += ["--ro-bind", str(path), str(path)]
    return argv


def kernel_argv(
    isolation: str,
    work: Path,
    hide: list[Path],
    limits: Limits,
    env: dict[str, str],
    keep: tuple[Path, ...] = (),
) -> list[str]:
    """The command that starts an IPython kernel for one submission working in ``work``."""
    kernel = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    if not isolation:
        return [*limits.prlimit(), *kernel]
    argv = [
        "bwrap",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--die-with-parent",
        "--new-session",
        "--ro-bind",
        "/",
        "/",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--perms",
        "1777",
        "--tmpfs",
        "/dev/shm",
    ]
    needed = [Path(sys.prefix), Path(sys.base_prefix), *keep]
    argv += home_hidden(Path.home(), needed)
    argv += home_hidden(Path("/tmp"), needed, perms="1777")  # a private /tmp; a checkout stays
    for folder in hide:
        if folder.is_dir():
            argv += ["--tmpfs", str(folder)]
    argv += ["--perms", "0711", "--dir", str(work.parent)]  # a path nobody can walk to
    argv += ["--bind", str(work), str(work), "--chdir", str(work), "--clearenv"]
    for key, value in env.items():
        argv += ["--setenv", key, value]
    drop = [
        "setpriv",
        f"--reuid={NOBODY}",
        f"--regid={NOBODY}",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--no-new-privs",
        "--",
    ]
    return [*argv, "--", *limits.prlimit(), *drop, *kernel]
