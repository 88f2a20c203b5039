"""The Open Inference Protocol (KServe v2) over HTTP: parse infer requests, encode responses.

A request body is JSON, or, with the *binary tensor extension* that ``tritonclient`` uses for
``binary_data=True``, a JSON header of ``Inference-Header-Content-Length`` bytes followed by
the raw little-endian bytes of each input that declares ``parameters.binary_data_size``, in
input order. Outputs are returned the same way when the request asks for it, per output
(``outputs[i].parameters.binary_data``) or for all (``parameters.binary_data_output``).

Introduced in notebooks/07_serving_with_flask.ipynb.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlops_course.model_card import TensorInfo
from mlops_course.serving.errors import ApiError

HEADER_LENGTH = "Inference-Header-Content-Length"
#: v2 datatype → little-endian NumPy dtype (BYTES and BF16 are not supported here).
DATATYPES = {
    "BOOL": "|b1",
    "UINT8": "|u1",
    "UINT16": "<u2",
    "UINT32": "<u4",
    "UINT64": "<u8",
    "INT8": "|i1",
    "INT16": "<i2",
    "INT32": "<i4",
    "INT64": "<i8",
    "FP16": "<f2",
    "FP32": "<f4",
    "FP64": "<f8",
}
MAX_RANK = 16
_NAMES = {np.dtype(v).name: k for k, v in DATATYPES.items()}


def datatype_of(dtype: str | np.dtype) -> str:
    """The v2 datatype name of a NumPy dtype (``float32`` → ``FP32``)."""
    return _NAMES[np.dtype(dtype).name]


@dataclass
class InferRequest:
    """A parsed infer request: input arrays by name, and which outputs to return and how."""

    inputs: dict[str, np.ndarray]
    id: str | None = None
    outputs: dict[str, bool] | None = None  # requested name → binary?; None: all outputs
    binary_output: bool = False  # the request-level default for outputs
    parameters: dict[str, Any] = field(default_factory=dict)


def _field(obj: dict, key: str, kind: type | tuple[type, ...], where: str, default: Any = ...):
    if key not in obj:
        if default is ...:
            raise ApiError(f"{where}: missing field {key!r}")
        return default
    value = obj[key]
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise ApiError(f"{where}.{key}: expected {kind}, got a boolean")
    if not isinstance(value, kind):
        raise ApiError(
            f"{where}.{key}: expected {getattr(kind, '__name__', kind)}, got {type(value).__name__}"
        )
    return value


def _shape(raw: list, where: str, max_elements: int) -> tuple[int, ...]:
    if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in raw):
        raise ApiError(f"{where}.shape: dimensions must be non-negative integers, got {raw}")
    if len(raw) > MAX_RANK:
        raise ApiError(f"{where}.shape: at most {MAX_RANK} dimensions, got {len(raw)}")
    if math.prod(raw) > max_elements:
        raise ApiError(f"{where}.shape: {raw} has more than {max_elements} elements")
    return tuple(raw)


def _tensor(item: Any, index: int, binary: memoryview, offset: int, max_elements: int):
    """One input tensor as (name, array, bytes consumed from the binary section)."""
    where = f"inputs[{index}]"
    if not isinstance(item, dict):
        raise ApiError(f"{where}: expected an object with name, shape, datatype and data")
    name = _field(item, "name", str, where)
    shape = _shape(_field(item, "shape", list, where), where, max_elements)
    datatype = _field(item, "datatype", str, where)
    if datatype not in DATATYPES:
        raise ApiError(
            f"{where}.datatype: {datatype[:20]!r} is not supported; use one of {sorted(DATATYPES)}"
        )
    dtype = np.dtype(DATATYPES[datatype])
    size = _field(
        _field(item, "parameters", dict, where, {}),
        "binary_data_size",
        int,
        f"{where}.parameters",
        None,
    )
    if size is not None:
        if size != math.prod(shape) * dtype.itemsize or offset + size > len(binary):
            raise ApiError(
                f"{where}: binary_data_size {size} does not match shape {list(shape)} "
                f"of {datatype} or the {len(binary) - offset} bytes left in the body"
            )
        array = np.frombuffer(binary[offset : offset + size], dtype=dtype).reshape(shape)
        return name, array, size
    data = _field(item, "data", list, where)
    array = as_number_array(data, f"{where}.data")
    if array.size and (array.dtype.kind == "b") != (datatype == "BOOL"):
        raise ApiError(
            f"{where}.data: expected {datatype} numbers, got values of type {array.dtype}"
        )
    if array.size != math.prod(shape):
        raise ApiError(
            f"{where}: data has {array.size} values, shape {list(shape)} needs {math.prod(shape)}"
        )
    with np.errstate(over="ignore", invalid="ignore"):
        return name, array.astype(dtype).reshape(shape), 0


def as_number_array(data: Any, where: str) -> np.ndarray:
    """JSON numbers (flat or regular nested lists) as an array; 400 for ragged or non-numbers."""
    try:
        array = np.asarray(data)
    except (ValueError, TypeError, RecursionError):
        raise ApiError(
            f"{where}: nested lists must be regular (every row the same length) "
            "and hold only numbers"
        ) from None
    if array.dtype.kind not in "biuf":
        raise ApiError(f"{where}: expected numbers, got values of type {array.dtype}")
    return array


def parse_infer_request(
    body: bytes, header_length: str | None, max_elements: int = 1 << 24
) -> InferRequest:
    """Parse a v2 infer body (JSON, or JSON header + binary tensors); 400 on anything wrong.

    Introduced in notebooks/07_serving_with_flask.ipynb.
    """
    if header_length is None:
        header, binary = body, memoryview(b"")
    else:
        if not header_length.isascii() or not header_length.isdecimal():
            raise ApiError(f"{HEADER_LENGTH} must be a byte count, got {header_length[:20]!r}")
        if int(header_length) > len(body):
            raise ApiError(f"{HEADER_LENGTH} {header_length} is longer than the body")
        header, binary = body[: int(header_length)], memoryview(body)[int(header_length) :]
    try:
        request = json.loads(header)
    except (ValueError, RecursionError) as error:
        raise ApiError(f"malformed JSON in the request: {str(error)[:200]}") from None
    if not isinstance(request, dict):
        raise ApiError("the request must be a JSON object with an 'inputs' list")
    inputs_raw = _field(request, "inputs", list, "request")
    if not inputs_raw:
        raise ApiError("request.inputs: send at least one input tensor")
    inputs, offset = {}, 0
    for index, item in enumerate(inputs_raw):
        name, array, used = _tensor(item, index, binary, offset, max_elements)
        inputs[name], offset = array, offset + used
    if offset != len(binary):
        raise ApiError(f"{len(binary) - offset} bytes after the tensors that no input claims")
    parameters = _field(request, "parameters", dict, "request", {})
    binary_output = _field(parameters, "binary_data_output", bool, "request.parameters", False)
    outputs = None
    if "outputs" in request:
        outputs = {}
        for index, item in enumerate(_field(request, "outputs", list, "request")):
            where = f"outputs[{index}]"
            if not isinstance(item, dict):
                raise ApiError(f"{where}: expected an object with a name")
            params = _field(item, "parameters", dict, where, {})
            wanted = _field(params, "binary_data", bool, f"{where}.parameters", binary_output)
            outputs[_field(item, "name", str, where)] = wanted
    request_id = _field(request, "id", str, "request", None)
    return InferRequest(inputs, request_id, outputs, binary_output, parameters)


def encode_infer_response(
    model: str, version: int, request: InferRequest, outputs: dict[str, np.ndarray]
) -> tuple[bytes, dict[str, str]]:
    """Body and headers of a v2 infer response; binary outputs follow the JSON header."""
    wanted = request.outputs or {name: request.binary_output for name in outputs}
    unknown = sorted(set(wanted) - set(outputs))
    if unknown:
        raise ApiError(f"unknown output(s) {unknown}; this model has {sorted(outputs)}")
    described, blobs = [], []
    for name, binary in wanted.items():
        array = np.ascontiguousarray(outputs[name])
        tensor = {"name": name, "datatype": datatype_of(array.dtype), "shape": list(array.shape)}
        if binary:
            blob = array.astype(array.dtype.newbyteorder("<")).tobytes()
            tensor["parameters"] = {"binary_data_size": len(blob)}
            blobs.append(blob)
        else:
            tensor["data"] = array.ravel().tolist()
        described.append(tensor)
    body = {"model_name": model, "model_version": str(version), "outputs": described}
    if request.id is not None:
        body["id"] = request.id
    header = json.dumps(body, separators=(",", ":")).encode()
    if not blobs:
        return header, {"Content-Type": "application/json"}
    headers = {"Content-Type": "application/octet-stream", HEADER_LENGTH: str(len(header))}
    return header + b"".join(blobs), headers


def tensor_metadata(tensor: TensorInfo) -> dict[str, Any]:
    """A card's tensor as v2 metadata: ``{"name", "datatype", "shape"}`` with -1 for dynamic."""
    shape = [-1 if d is None else d for d in tensor.shape]
    return {"name": tensor.name, "datatype": datatype_of(tensor.dtype), "shape": shape}
