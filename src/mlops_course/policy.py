"""checkov, the policy-as-code scanner, on Dockerfiles and Kubernetes manifests.

checkov pins ``packaging<24``, which the course environment cannot share, so ``make setup``
installs it in its own venv, ``.venv-checkov``; :func:`checkov_path` looks there first.
``--skip-download`` keeps it offline (otherwise it asks Prisma Cloud for guideline links).

Introduced in notebooks/09_containers.ipynb; lesson 11 runs it on the manifests in ``k8s/``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from mlops_course import project


def checkov_path() -> str | None:
    """The checkov executable: the checkout's ``.venv-checkov/bin/checkov``, else the PATH, else
    None."""
    try:
        venv = project.root() / ".venv-checkov" / "bin"
    except project.NotACheckout:
        return shutil.which("checkov")
    # the venv's python link must resolve too: a bind-mounted checkout may carry a dead venv
    usable = (venv / "checkov").exists() and (venv / "python").exists()
    return str(venv / "checkov") if usable else shutil.which("checkov")


@dataclass
class CheckovReport:
    """What checkov found: counts, and ``check_id file: name`` for each failed check."""

    passed: int
    failed: int
    skipped: int
    failures: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return self.failed == 0 and self.passed > 0


def checkov(paths: list[str | Path], framework: str, timeout: float = 300) -> CheckovReport:
    """Run checkov's ``framework`` checks (``dockerfile`` or ``kubernetes``) on files or folders."""
    binary = checkov_path()
    if binary is None:
        raise FileNotFoundError("checkov is not installed (make setup puts it in .venv-checkov)")
    command = [binary, "--framework", framework, "--skip-download", "--output", "json", "--quiet"]
    for path in paths:
        command += ["--directory" if Path(path).is_dir() else "--file", str(path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    try:
        data = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise RuntimeError(f"checkov failed: {(result.stderr or result.stdout)[-500:]}") from None
    reports = data if isinstance(data, list) else [data]
    report = CheckovReport(0, 0, 0)
    for one in reports:
        summary = one.get("summary", {})
        report.passed += summary.get("passed", 0)
        report.failed += summary.get("failed", 0)
        report.skipped += summary.get("skipped", 0)
        for check in one.get("results", {}).get("failed_checks", []):
            report.failures.append(
                f"{check['check_id']} {check['file_path']}: {check['check_name']}"
            )
    return report
