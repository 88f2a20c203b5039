"""What the Edge TPU preflight found: per-operator rows, model-wide checks and the verdict.

Three verdicts, as ``edgetpu_compiler`` 16 behaves (sources in :mod:`mlops_course.edgetpu.rules`):

- *compatible*: every operation maps to the Edge TPU;
- *compiles, partly on the CPU*: the compiler writes a model, but some operations stay on the
  CPU (e.g. the QUANTIZE/DEQUANTIZE at a float input and output, or everything after the first
  unsupported operation);
- *refused*: the compiler stops and writes nothing ("Model not quantized", dynamic-sized
  tensors, an operator version it cannot parse), so no operation is mapped at all.

Introduced in notebooks/12_edge_tpu.ipynb.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_course.edgetpu.rules import COMPILER_VERSION


@dataclass(frozen=True)
class OpReport:
    """One operator in execution order: does it map to the Edge TPU, and if not, why."""

    index: int
    name: str
    version: int
    maps: bool
    why: str


@dataclass(frozen=True)
class Check:
    """One model-wide requirement; ``refuses``: failing it makes the compiler write nothing."""

    name: str
    ok: bool
    detail: str
    refuses: bool = False


@dataclass(frozen=True)
class Preflight:
    """The preflight of one model: per-operator reports, model-wide checks and the verdict.

    Introduced in notebooks/12_edge_tpu.ipynb.
    """

    path: Path
    ops: list[OpReport]
    checks: list[Check] = field(default_factory=list)

    @property
    def compatible(self) -> bool:
        """True when every model-wide check passes (which includes "every op maps")."""
        return all(check.ok for check in self.checks)

    @property
    def refusals(self) -> list[Check]:
        """The failed checks for which the real compiler refuses the whole model."""
        return [check for check in self.checks if check.refuses and not check.ok]

    @property
    def compiles(self) -> bool:
        """True when the compiler would write a model (maybe with some operations on the CPU)."""
        return not self.refusals

    @property
    def problems(self) -> list[str]:
        return [f"{check.name}: {check.detail}" for check in self.checks if not check.ok]

    def op_counts(self) -> list[dict[str, Any]]:
        """Operators grouped by (op, version, maps): a short table for big models."""
        counts: dict[tuple[str, int, bool], int] = {}
        for o in self.ops:
            counts[(o.name, o.version, o.maps)] = counts.get((o.name, o.version, o.maps), 0) + 1
        return [
            {"op": name, "version": version, "count": n, "edge_tpu": "yes" if maps else "no"}
            for (name, version, maps), n in counts.items()
        ]

    def verdict(self) -> str:
        if self.compatible:
            return f"compatible: all {len(self.ops)} operations map to the Edge TPU"
        if self.refusals:
            why = "; ".join(check.name for check in self.refusals)
            return f"REFUSED: edgetpu_compiler would stop and write no model ({why})"
        on_cpu = [o for o in self.ops if not o.maps]
        names = ", ".join(dict.fromkeys(o.name for o in on_cpu))
        return (
            f"compiles, partly on the CPU: {len(self.ops) - len(on_cpu)} of {len(self.ops)} "
            f"operations map to the Edge TPU; {len(on_cpu)} run on the CPU ({names})"
        )

    def table(self) -> str:
        """The per-operator table, the model-wide checks and the verdict, as printable text."""
        width = max([len("operator"), *(len(o.name) for o in self.ops)])
        lines = [
            f"Edge TPU preflight: {self.path.name} (rules: Coral models-intro, compiler "
            f"{COMPILER_VERSION})",
            f"  {'#':>3}  {'operator':<{width}}  version  Edge TPU  why",
        ]
        for o in self.ops:
            flag = "yes" if o.maps else "no"
            lines.append(f"  {o.index:>3}  {o.name:<{width}}  {o.version:>7}  {flag:<8}  {o.why}")
        lines.append("checks:")
        for check in self.checks:
            lines.append(f"  [{'ok' if check.ok else 'FAIL':>4}] {check.name}: {check.detail}")
        lines.append(f"verdict: {self.verdict()}")
        return "\n".join(lines)
