"""Edge TPU preflight: read a ``.tflite`` file and check it against Coral's documented rules.

The Edge TPU compiler (``edgetpu_compiler``) only exists for x86-64 Debian/Ubuntu and is not
installable on most machines (ours included), so this module answers the question it would
answer first: *would this model map onto the Edge TPU?* It reads the model's flatbuffer and
reports, per operator, its name, its version and whether it maps to the Edge TPU (and why not),
plus model-wide checks: every tensor quantized (otherwise the compiler stops with "Model not
quantized"), static shapes (otherwise it refuses "dynamic-sized tensors"), batch size 1, and
operator versions the compiler can parse. A full-int8 body with a float input and output
compiles: only its edge QUANTIZE/DEQUANTIZE stay on the CPU. The verdicts
(:mod:`mlops_course.edgetpu.report`) follow what compiler 16 does; the sources are cited in
:mod:`mlops_course.edgetpu.rules`.

The rules are data in :mod:`mlops_course.edgetpu.rules` (with their sources); reading the
file is :mod:`mlops_course.edgetpu.tflite_file`. Coral's page also says that the compiler maps
only the operations *before* the first unsupported one: "as soon as an unsupported operation
occurs, that operation and everything after it executes on the CPU".

The check is a preflight, not the compiler: passing it means "no documented reason to fail",
and only ``edgetpu_compiler`` itself (see :mod:`mlops_course.edgetpu.compiler`) has the last word.

Introduced in notebooks/12_edge_tpu.ipynb.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlops_course.edgetpu.report import Check, OpReport, Preflight
from mlops_course.edgetpu.rules import (
    COMPILER_VERSION,
    DYNAMIC_SHAPES_ERROR,
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

    Introduced in notebooks/12_edge_tpu.ipynb. Raises :class:`PreflightError` when the file
    cannot be read as a TFLite model; otherwise returns a :class:`Preflight` whose ``table()``
    shows every operator and whose ``verdict()`` says: compatible, compiles partly on the CPU,
    or refused by the compiler.
    """
    schema = litert_schema()
    model = read_model(path)
    try:
        edges, edge_tensors = float_edges(schema, model)
        ops = [
            _op_report(schema, model, model.subgraphs[0], index, op)
            for index, op in enumerate(model.subgraphs[0].operators or [])
        ]
        checks = _model_checks(schema, model, ops, edge_tensors)
        refused = any(check.refuses and not check.ok for check in checks)
        if not refused:
            ops = _mapping_order(ops, edges)
        checks.append(_mapped_check(ops, edges, refused))
    except (IndexError, KeyError, TypeError, ValueError) as error:  # inconsistent, not a bug
        raise PreflightError(f"{path}: inconsistent TensorFlow Lite flatbuffer ({error})") from None
    return Preflight(Path(path), ops, checks)


def float_edges(schema: Any, model: Any) -> tuple[set[int], set[int]]:
    """Operators (and tensors) that convert a float model input to int8 or int8 to a float output.

    The converter adds them when ``inference_input_type``/``inference_output_type`` are left at
    float32. The real compiler leaves them on the CPU and still maps the int8 body between them.
    """
    subgraph = model.subgraphs[0]
    types, tensors = enum_names(schema.TensorType), subgraph.tensors
    inputs, outputs = set(indices(subgraph.inputs)), set(indices(subgraph.outputs))
    operators = subgraph.operators or []
    uses: dict[int, int] = {}
    for op in operators:
        for i in indices(op.inputs):
            uses[i] = uses.get(i, 0) + 1
    ops, edge_tensors = set(), set()
    for index, op in enumerate(operators):
        name, _ = op_name(model, op)
        ins, outs = indices(op.inputs), indices(op.outputs)
        if not ins or not outs:
            continue
        source, target = types[tensors[ins[0]].type], types[tensors[outs[0]].type]
        if name == "QUANTIZE" and ins[0] in inputs and uses.get(ins[0]) == 1:
            if source in FLOAT_DTYPES and target in EDGE_TPU_DTYPES:
                ops.add(index)
                edge_tensors.add(ins[0])
        if name == "DEQUANTIZE" and outs[0] in outputs and uses.get(outs[0], 0) == 0:
            if source in EDGE_TPU_DTYPES and target in FLOAT_DTYPES:
                ops.add(index)
                edge_tensors.add(outs[0])
    return ops, edge_tensors


def _mapping_order(ops: list[OpReport], edges: set[int]) -> list[OpReport]:
    """After the first unmapped operation nothing maps; float-I/O edges run on the CPU aside."""
    result: list[OpReport] = []
    stopped_at: OpReport | None = None
    for o in ops:
        if o.index in edges:
            where = "input" if o.name == "QUANTIZE" else "output"
            why = f"converts the model's float {where}: runs on the CPU; the int8 body still maps"
            result.append(OpReport(o.index, o.name, o.version, False, why))
            continue
        if stopped_at is not None and o.maps:
            why = (
                f"supported, but runs on the CPU: it comes after #{stopped_at.index} "
                f"{stopped_at.name}, where mapping stopped"
            )
            o = OpReport(o.index, o.name, o.version, False, why)
        if not o.maps and stopped_at is None:
            stopped_at = o
        result.append(o)
    return result


def _mapped_check(ops: list[OpReport], edges: set[int], refused: bool) -> Check:
    name = "every operation maps to the Edge TPU"
    if refused:
        return Check(name, False, "none: the compiler refuses the whole model (see above)")
    unmapped = [o for o in ops if not o.maps]
    detail = f"{len(ops) - len(unmapped)} of {len(ops)} map"
    inner = [o for o in unmapped if o.index not in edges]
    if inner:
        detail += f"; first unmapped: #{inner[0].index} {inner[0].name}"
    if len(inner) < len(unmapped):
        detail += "; the float input/output conversions run on the CPU"
    return Check(name, bool(ops) and not unmapped, detail)


def _model_checks(
    schema: Any, model: Any, ops: list[OpReport], edge_tensors: set[int]
) -> list[Check]:
    types = enum_names(schema.TensorType)
    subgraphs = model.subgraphs
    main = subgraphs[0]
    edge_ids = {id(main.tensors[i]) for i in edge_tensors}
    tensors = [t for sg in subgraphs for t in (sg.tensors or [])]

    floats = [t for t in tensors if types.get(t.type) in FLOAT_DTYPES and id(t) not in edge_ids]
    body = "all tensors are 8-bit integers (int32 only for constants)"
    if edge_ids:
        body = (
            "the body is 8-bit; only the model's float input/output are converted, on the CPU "
            "(int8 input and output avoid that: converter.inference_input_type = tf.int8)"
        )
    quantized = Check(
        "every tensor quantized",
        not floats,
        body
        if not floats
        else f"{len(floats)} of {len(tensors)} tensors are {types[floats[0].type]}, e.g. "
        f"{tensor_name(floats[0])!r}; the compiler would stop with 'Model not quantized'",
        refuses=True,
    )
    dynamic = [t for t in tensors if any(d < 0 for d in signature(t))]
    static = Check(
        "static shapes",
        not dynamic,
        "every tensor has a fixed shape"
        if not dynamic
        else f"{len(dynamic)} tensor(s) have an unknown dimension, e.g. "
        f"{tensor_name(dynamic[0])!r} {signature(dynamic[0])}; the compiler stops with "
        f"'{DYNAMIC_SHAPES_ERROR}'",
        refuses=True,
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
        refuses=True,
    )
    single = Check(
        "one subgraph",
        len(subgraphs) == 1,
        "one subgraph" if len(subgraphs) == 1 else f"{len(subgraphs)} subgraphs (not supported)",
    )
    return [quantized, static, batch, rank, versions, single]


def _outer_size(dims: list[int]) -> int:
    size = 1
    for d in dims[:-3]:
        size *= max(d, 1)  # an unknown (-1) dimension is reported by the static-shape check
    return size
