"""Edge TPU preflight: read a ``.tflite`` file and check it against Coral's documented rules.

The Edge TPU compiler (``edgetpu_compiler``) only exists for x86-64 Debian/Ubuntu and is not
installable on most machines (ours included), so this module answers the question it would
answer first: *would this model map onto the Edge TPU?* It reads the model's flatbuffer and
reports, per operator, its name, its version and whether it maps to the Edge TPU (and why not),
plus model-wide checks: every tensor quantized (otherwise the compiler stops with "Model not
quantized"), static shapes, batch size 1, and operator versions the compiler can parse.

The rules are data in :mod:`mlops_course.edgetpu.rules` (with their sources); reading the
file is :mod:`mlops_course.edgetpu.tflite_file`. Coral's page also says that the compiler maps
only the operations *before* the first unsupported one: "as soon as an unsupported operation
occurs, that operation and everything after it executes on the CPU".

The check is a preflight, not the compiler: passing it means "no documented reason to fail",
and only ``edgetpu_compiler`` itself (see :mod:`mlops_course.edgetpu.compiler`) has the last word.

Introduced in notebooks/10_edge_tpu.ipynb.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_course.edgetpu.rules import (
    COMPILER_VERSION,
    EDGE_TPU_DTYPES,
    EDGETPU_CUSTOM_OP,
    FLOAT_DTYPES,
    REJECTED_VERSIONS,
    SUPPORTED_OPS,
)
from mlops_course.edgetpu.tflite_file import (
    PreflightError,
    enum_names,
    indices,
    is_constant,
    litert_schema,
    op_name,
    read_model,
    signature,
    tensor_name,
)

__all__ = ["Check", "OpReport", "Preflight", "PreflightError", "preflight", "read_model"]


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
    """One model-wide requirement and whether the model meets it."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Preflight:
    """The preflight of one model: per-operator reports, model-wide checks and the verdict.

    Introduced in notebooks/10_edge_tpu.ipynb.
    """

    path: Path
    ops: list[OpReport]
    checks: list[Check] = field(default_factory=list)

    @property
    def compatible(self) -> bool:
        """True when every model-wide check passes (which includes "every op maps")."""
        return all(check.ok for check in self.checks)

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
        return f"NOT compatible ({len(self.problems)} problem(s))"

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


# --- the checks ---------------------------------------------------------------------------


def _limit_problem(schema: Any, name: str, op: Any, model: Any, tensors: list[Any]) -> str | None:
    """The first documented limitation this operator breaks, checked from its options."""
    options = op.builtinOptions
    if name in ("AVERAGE_POOL_2D", "MAX_POOL_2D", "CONCATENATION"):
        if getattr(options, "fusedActivationFunction", 0) != schema.ActivationFunctionType.NONE:
            return "has a fused activation function (not supported for this op)"
    if name in ("CONV_2D", "DEPTHWISE_CONV_2D") and options is not None:
        if options.dilationHFactor != options.dilationWFactor:
            return "uses different dilations in x and y"
    if name == "FULLY_CONNECTED" and options is not None:
        if options.weightsFormat != schema.FullyConnectedOptionsWeightsFormat.DEFAULT:
            return "uses a shuffled weights format (only the default is supported)"
    if name == "STRIDED_SLICE":
        if options is not None and (options.ellipsisMask or options.newAxisMask):
            return "uses an ellipsis or new-axis mask"
        inputs = indices(op.inputs)
        strides = tensors[inputs[3]] if len(inputs) > 3 else None
        if strides is not None and is_constant(model, strides):
            import numpy as np

            values = np.frombuffer(bytes(model.buffers[strides.buffer].data), dtype="<i4")
            if (values != 1).any():
                return f"has strides {values.tolist()} (only stride 1 maps)"
    return None


def _op_report(schema: Any, model: Any, subgraph: Any, index: int, op: Any) -> OpReport:
    name, version = op_name(model, op)
    tensors = subgraph.tensors
    types = enum_names(schema.TensorType)
    if name == EDGETPU_CUSTOM_OP:
        return OpReport(index, name, version, True, "already compiled for the Edge TPU")
    if name in REJECTED_VERSIONS and version >= REJECTED_VERSIONS[name][0]:
        return OpReport(
            index, name, version, False, f"v{version} is newer than compiler 16 can parse"
        )
    if name not in SUPPORTED_OPS:
        return OpReport(index, name, version, False, "not in Coral's supported-operations table")
    used = [tensors[i] for i in [*indices(op.inputs), *indices(op.outputs)] if i >= 0]
    data = {types[t.type] for t in used if not is_constant(model, t)}
    weights = {types[t.type] for t in used if is_constant(model, t)}
    wrong = sorted((data - set(EDGE_TPU_DTYPES)) | (weights & set(FLOAT_DTYPES)))
    if wrong:
        return OpReport(index, name, version, False, f"works on {'/'.join(wrong)} data (not 8-bit)")
    if any(d < 0 for t in used for d in signature(t)):
        return OpReport(index, name, version, False, "has a dynamic (unknown) dimension")
    problem = _limit_problem(schema, name, op, model, tensors)
    if problem:
        return OpReport(index, name, version, False, problem)
    limits = SUPPORTED_OPS[name].limits
    return OpReport(
        index, name, version, True, f"supported{f' (limit: {limits})' if limits else ''}"
    )


def preflight(path: str | Path) -> Preflight:
    """Check a ``.tflite`` file against the Edge TPU's documented requirements.

    Introduced in notebooks/10_edge_tpu.ipynb. Raises :class:`PreflightError` when the file
    cannot be read as a TFLite model; otherwise returns a :class:`Preflight` whose ``table()``
    shows every operator and whose ``compatible`` is the verdict.
    """
    schema = litert_schema()
    model = read_model(path)
    try:
        ops = _op_reports(schema, model)
        checks = _model_checks(schema, model, ops)
    except (IndexError, KeyError, TypeError, ValueError) as error:  # inconsistent, not a bug
        raise PreflightError(f"{path}: inconsistent TensorFlow Lite flatbuffer ({error})") from None
    return Preflight(Path(path), ops, checks)


def _op_reports(schema: Any, model: Any) -> list[OpReport]:
    """Per-operator reports in execution order; after the first unmapped op, nothing maps."""
    subgraph = model.subgraphs[0]
    ops: list[OpReport] = []
    stopped_at: OpReport | None = None
    for index, op in enumerate(subgraph.operators or []):
        report = _op_report(schema, model, subgraph, index, op)
        if stopped_at is not None and report.maps:
            report = OpReport(
                index,
                report.name,
                report.version,
                False,
                f"supported, but runs on the CPU: it comes after #{stopped_at.index} "
                f"{stopped_at.name}, where mapping stopped",
            )
        if not report.maps and stopped_at is None:
            stopped_at = report
        ops.append(report)
    return ops


def _model_checks(schema: Any, model: Any, ops: list[OpReport]) -> list[Check]:
    types = enum_names(schema.TensorType)
    subgraphs = model.subgraphs
    tensors = [t for sg in subgraphs for t in (sg.tensors or [])]
    main = subgraphs[0]

    floats = [t for t in tensors if types.get(t.type) in FLOAT_DTYPES]
    quantized = Check(
        "every tensor quantized",
        not floats,
        "all tensors are 8-bit integers (int32 only for constants)"
        if not floats
        else f"{len(floats)} of {len(tensors)} tensors are {types[floats[0].type]}, e.g. "
        f"{tensor_name(floats[0])!r}; the compiler would stop with 'Model not quantized'",
    )
    dynamic = [t for t in tensors if any(d < 0 for d in signature(t))]
    static = Check(
        "static shapes",
        not dynamic,
        "every tensor has a fixed shape"
        if not dynamic
        else f"{len(dynamic)} tensor(s) have an unknown dimension, e.g. "
        f"{tensor_name(dynamic[0])!r} {signature(dynamic[0])}",
    )
    batches = [signature(main.tensors[i]) for i in indices(main.inputs)]
    bad_batch = [s for s in batches if s and s[0] != 1]
    batch = Check(
        "batch size 1",
        not bad_batch,
        "every input has batch size 1"
        if not bad_batch
        else f"input shape {bad_batch[0]} (batch must be exactly 1; -1 means 'any')",
    )
    wide = [
        t
        for sg in subgraphs
        for t in (sg.tensors or [])
        if not is_constant(model, t) and _outer_size(signature(t)) != 1
    ]
    rank = Check(
        "at most 3 dimensions larger than 1",
        not wide,
        "in every activation tensor only the 3 innermost dimensions are larger than 1"
        if not wide
        else f"{tensor_name(wide[0])!r} {signature(wide[0])} has a dimension > 1 outside "
        "the innermost three",
    )
    rejected = [o for o in ops if o.why.startswith(f"v{o.version} is newer")]
    versions = Check(
        "operator versions the compiler parses",
        not rejected,
        f"no operator version known to break compiler {COMPILER_VERSION}"
        if not rejected
        else f"Didn't find op for builtin opcode '{rejected[0].name}' version "
        f"'{rejected[0].version}' (reported: {REJECTED_VERSIONS[rejected[0].name][1]})",
    )
    single = Check(
        "one subgraph",
        len(subgraphs) == 1,
        "one subgraph" if len(subgraphs) == 1 else f"{len(subgraphs)} subgraphs (not supported)",
    )
    unmapped = [o for o in ops if not o.maps]
    mapped = Check(
        "every operation maps to the Edge TPU",
        bool(ops) and not unmapped,
        f"{len(ops) - len(unmapped)} of {len(ops)} map"
        + (f"; first unmapped: #{unmapped[0].index} {unmapped[0].name}" if unmapped else ""),
    )
    return [quantized, static, batch, rank, versions, single, mapped]


def _outer_size(dims: list[int]) -> int:
    size = 1
    for d in dims[:-3]:
        size *= max(d, 1)  # an unknown (-1) dimension is reported by the static-shape check
    return size
