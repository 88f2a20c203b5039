"""Build one Dense layer ``x @ W + b`` as int8 TFLite and as quantized ONNX, and read back the
scales and zero points the converters chose.

notebooks/04_quantization_math.ipynb compares these with its own formulas; the plumbing (a Keras
model, the converter's options, an ONNX graph, temporary files) lives here so that each lesson cell
shows one comparison. TensorFlow and ONNX Runtime are imported only when a function needs them.
"""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from mlops_course.convert import calibration_reader
from mlops_course.quiet import quiet_logger, quiet_stderr
from mlops_course.runtime import import_onnxruntime, import_tensorflow

BATCH = 20  # calibration batch size; min/max calibration gives the same ranges for any batch


def _dense_weights(W: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    W, b = np.asarray(W, dtype=np.float32), np.asarray(b, dtype=np.float32)
    if W.ndim != 2 or b.shape != (W.shape[1],):
        raise ValueError(f"need W of shape (k, n) and b of shape (n,), got {W.shape}, {b.shape}")
    return W, b


def _batches(calib: np.ndarray) -> Iterator[list[np.ndarray]]:
    for i in range(0, len(calib), BATCH):
        yield [calib[i : i + BATCH]]


@contextlib.contextmanager
def _quiet(tf: Any) -> Iterator[None]:
    """Hide the converter's notes: Python warnings and logs, stdout, C++ lines on stderr."""
    with (
        quiet_logger(tf.get_logger()),
        warnings.catch_warnings(),
        contextlib.redirect_stdout(io.StringIO()),
        quiet_stderr(),
    ):
        warnings.simplefilter("ignore")
        yield


def dense_tflite_int8(W: np.ndarray, b: np.ndarray, calib: np.ndarray) -> bytes:
    """A one-layer Keras model with weights ``W``, ``b``, converted to full-integer int8 TFLite.

    ``calib`` (float32 rows of ``W.shape[0]`` features) is the representative dataset.
    Introduced in notebooks/04_quantization_math.ipynb.
    """
    W, b = _dense_weights(W, b)
    calib = np.asarray(calib, dtype=np.float32)
    if calib.ndim != 2 or calib.shape[1] != W.shape[0] or len(calib) == 0:
        raise ValueError(f"calib must have shape (m, {W.shape[0]}), got {calib.shape}")
    tf = import_tensorflow()
    tf.keras.utils.set_random_seed(0)
    dense = tf.keras.Sequential([tf.keras.Input((W.shape[0],)), tf.keras.layers.Dense(W.shape[1])])
    dense.layers[0].set_weights([W, b])
    converter = tf.lite.TFLiteConverter.from_keras_model(dense)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: _batches(calib)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.int8
    with _quiet(tf):
        return converter.convert()


def tflite_quant_params(detail: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, int]:
    """``(scales, zero_points, quantized_dimension)`` of one interpreter tensor detail.

    Introduced in notebooks/04_quantization_math.ipynb.
    """
    params = detail.get("quantization_parameters")
    if params is None:
        raise ValueError("not a TFLite tensor detail: it has no 'quantization_parameters'")
    return params["scales"], params["zero_points"], int(params["quantized_dimension"])


def dense_onnx(W: np.ndarray, b: np.ndarray) -> Any:
    """The same layer as an ONNX graph: ``MatMul(x, W)`` then ``Add(b)``, opset 17.

    Tensors are named ``x``, ``W``, ``xW``, ``b`` and ``logits``. Introduced in lesson 04.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    W, b = _dense_weights(W, b)
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "W"], ["xW"]),
            helper.make_node("Add", ["xW", "b"], ["logits"]),
        ],
        "dense",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, W.shape[0]])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [None, W.shape[1]])],
        [numpy_helper.from_array(W, "W"), numpy_helper.from_array(b, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    return model


def ort_quantized_initializers(
    model: Any, calib: np.ndarray | None = None, activation_type: str = "QInt8"
) -> dict[str, np.ndarray]:
    """Quantize ``model`` with ONNX Runtime's defaults and return the stored initializers by name.

    With ``calib``: ``quantize_static`` (MinMax calibration, QDQ) with ``activation_type``
    (``"QInt8"`` or ``"QUInt8"``); without: ``quantize_dynamic``. Scales and zero points appear
    as ``<tensor>_scale`` and ``<tensor>_zero_point``. Introduced in lesson 04.
    """
    import onnx
    from onnx import numpy_helper

    import_onnxruntime()  # telemetry off before ONNX Runtime loads
    from onnxruntime import quantization as ortq

    if activation_type not in ("QInt8", "QUInt8"):
        raise ValueError(f"activation_type must be 'QInt8' or 'QUInt8', got {activation_type!r}")
    # ORT logs "consider pre-processing" advice through the root logger.
    with quiet_logger(logging.getLogger()), tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "float.onnx", Path(tmp) / "quantized.onnx"
        onnx.save(model, src)
        if calib is None:
            ortq.quantize_dynamic(src, dst)
        else:
            reader = calibration_reader(np.asarray(calib, dtype=np.float32), BATCH, "x")
            kind = getattr(ortq.QuantType, activation_type)
            ortq.quantize_static(src, dst, reader, activation_type=kind)
        return {t.name: numpy_helper.to_array(t) for t in onnx.load(dst).graph.initializer}
