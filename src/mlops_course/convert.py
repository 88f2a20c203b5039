"""Convert trained models: Keras → ONNX (tf2onnx), SavedModel, TFLite; scikit-learn → ONNX
(skl2onnx); and ONNX Runtime's int8 quantization (dynamic, static QDQ).

Introduced in notebooks/05_train_and_export.ipynb (ONNX, SavedModel); the quantized variants in
notebooks/06_optimize_models.ipynb. TensorFlow, tf2onnx, skl2onnx and ONNX Runtime's quantizer
are imported only by the functions that need them.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from mlops_course.data import DIGITS_SHAPE
from mlops_course.quiet import quiet_logger
from mlops_course.runtime import import_onnxruntime, import_tensorflow

INPUT_NAME = "images"
OUTPUT_NAME = "probabilities"
TABULAR_INPUT = "features"
TABULAR_OUTPUT = "prediction"
OPSET = 17
TFLITE_MODES = ("fp32", "dynamic", "int8")
_COUNTER = re.compile(r"__(\d+)")  # tf2onnx's process-wide name counter, e.g. Conv__378


def canonical_names(graph: Any) -> None:
    """Make tf2onnx's names depend on the model only, not on the run or on earlier conversions.

    tf2onnx deduplicates equal constants and keeps whichever name it meets first, numbers
    generated names with a process-wide counter, and names the graph after the traced
    function's id; so the same weights could give different bytes. Here, by order of first use:
    unnamed helper constants become ``const_<k>`` (initializers sorted by first use; weights keep
    their Keras names), numbered constants ``shared_const_<k>``, and counters are renumbered.
    Introduced in notebooks/05_train_and_export.ipynb.
    """
    initializers = {t.name: t for t in graph.initializer}
    order = list(dict.fromkeys(n for node in graph.node for n in node.input if n in initializers))
    order += [n for n in initializers if n not in order]
    used = {n for node in graph.node for n in node.input}
    plain = [n for n in order if "/" not in n]  # weights keep their Keras names (digits_cnn_1/…)
    shared = [n for n in order if "/" in n and n in used and _COUNTER.search(n)]
    rename = {name: f"const_{k}" for k, name in enumerate(plain)}
    rename |= {name: f"shared_const_{k}" for k, name in enumerate(shared)}
    counters: dict[str, str] = {}
    for node in graph.node:
        for name in (*node.input, node.name, *node.output):
            if name not in rename:
                for match in _COUNTER.finditer(name):
                    counters.setdefault(match[1], str(len(counters)))

    def new(name: str) -> str:
        return rename.get(name) or _COUNTER.sub(lambda m: f"__{counters.get(m[1], m[1])}", name)

    for node in graph.node:
        node.name = new(node.name)
        node.input[:] = [new(n) for n in node.input]
        node.output[:] = [new(n) for n in node.output]
    for tensor in (*graph.initializer, *graph.input, *graph.output, *graph.value_info):
        tensor.name = new(tensor.name)
    ordered = [initializers[n] for n in order]
    del graph.initializer[:]
    graph.initializer.extend(ordered)
    graph.doc_string = "converted by tf2onnx from a tf.function"  # it named the function's id


def keras_to_onnx(
    model: Any,
    path: str | Path,
    opset: int = OPSET,
    input_shape: tuple[int, ...] = DIGITS_SHAPE,
    producer: str = "mlops_course.convert via tf2onnx",
    input_dtype: str = "float32",
) -> Path:
    """Convert a Keras model to ONNX with tf2onnx, input ``images``, output ``probabilities``.

    Introduced in notebooks/05_train_and_export.ipynb. Uses ``from_function`` with an explicit
    input signature (``from_keras`` fails on Keras 3 models); the batch dimension is named
    ``batch`` so tools show something meaningful, and names are made canonical
    (:func:`canonical_names`). ``input_dtype`` is the model's input dtype (lesson 07's
    MobileNet takes uint8 pixels).
    """
    tf = import_tensorflow()
    import onnx
    import tf2onnx

    spec = (tf.TensorSpec((None, *input_shape), tf.as_dtype(input_dtype), name=INPUT_NAME),)

    @tf.function(input_signature=spec)
    def serve(images):
        return {OUTPUT_NAME: model(images, training=False)}

    proto, _ = tf2onnx.convert.from_function(serve, input_signature=spec, opset=opset)
    canonical_names(proto.graph)
    for tensor in (*proto.graph.input, *proto.graph.output):
        tensor.type.tensor_type.shape.dim[0].dim_param = "batch"
    proto.producer_name = producer
    onnx.save(proto, str(path))
    return Path(path)


def export_saved_model(model: Any, folder: str | Path) -> Path:
    """Write a TensorFlow SavedModel with ``model.export`` (serving signature ``serve``).

    Introduced in notebooks/05_train_and_export.ipynb. It is the input to the TFLite converter.
    """
    tf = import_tensorflow()
    with quiet_logger(tf.get_logger()):  # silence "INFO: Assets written to ..."
        model.export(str(folder), verbose=False)
    return Path(folder)


def sklearn_to_onnx(pipeline: Any, path: str | Path, n_features: int) -> Path:
    """Convert a fitted scikit-learn regressor with skl2onnx: input ``features`` (float32, n×k).

    Introduced in notebooks/05_train_and_export.ipynb.
    """
    import onnx
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType

    proto = to_onnx(
        pipeline,
        initial_types=[(TABULAR_INPUT, FloatTensorType([None, n_features]))],
        final_types=[(TABULAR_OUTPUT, FloatTensorType([None, 1]))],
        target_opset=OPSET,
    )
    for tensor in (*proto.graph.input, *proto.graph.output):
        tensor.type.tensor_type.shape.dim[0].dim_param = "batch"
    onnx.save(proto, str(path))
    return Path(path)


# --- ONNX Runtime quantization ------------------------------------------------------------


def calibration_reader(images: np.ndarray, batch_size: int = 64, input_name: str = INPUT_NAME):
    """An ONNX Runtime ``CalibrationDataReader`` that feeds ``images`` in batches.

    Introduced in notebooks/06_optimize_models.ipynb.
    """
    import_onnxruntime()  # telemetry off before ONNX Runtime loads (lesson 05)
    from onnxruntime.quantization import CalibrationDataReader

    class _Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._batches = iter(
                [
                    {input_name: images[i : i + batch_size]}
                    for i in range(0, len(images), batch_size)
                ]
            )

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._batches, None)

    return _Reader()


def _preprocessed(src: Path, workdir: Path) -> Path:
    """ORT's recommended step before quantizing: shape inference and graph optimisation."""
    import_onnxruntime()  # telemetry off before ONNX Runtime loads (lesson 05)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    target = workdir / f"{src.stem}_preprocessed.onnx"
    quant_pre_process(str(src), str(target))
    return target


def quantize_onnx_dynamic(src: str | Path, dst: str | Path) -> Path:
    """int8 weights, activations quantized at run time (``quantize_dynamic``), after pre-processing.

    Introduced in notebooks/06_optimize_models.ipynb.
    """
    import_onnxruntime()  # telemetry off before ONNX Runtime loads (lesson 05)
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as work:
        pre = _preprocessed(Path(src), Path(work))
        quantize_dynamic(str(pre), str(dst), weight_type=QuantType.QInt8)
    return Path(dst)


def quantize_onnx_static(src: str | Path, dst: str | Path, calibration_images: np.ndarray) -> Path:
    """int8 weights (per channel) and activations (calibrated min/max), QDQ format.

    Introduced in notebooks/06_optimize_models.ipynb.
    """
    import_onnxruntime()  # telemetry off before ONNX Runtime loads (lesson 05)
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    with tempfile.TemporaryDirectory() as work:
        pre = _preprocessed(Path(src), Path(work))
        quantize_static(
            str(pre),
            str(dst),
            calibration_reader(calibration_images),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QInt8,
            weight_type=QuantType.QInt8,
        )
    return Path(dst)


# --- TFLite -------------------------------------------------------------------------------


def _representative(images: np.ndarray, count: int) -> Iterator[list[np.ndarray]]:
    for i in range(min(count, len(images))):
        yield [images[i : i + 1].astype(np.float32)]


def convert_tflite(
    saved_model: str | Path,
    mode: str,
    representative_images: np.ndarray | None = None,
    samples: int = 256,
) -> bytes:
    """Convert a SavedModel to TFLite: ``fp32``, ``dynamic`` (int8 weights) or ``int8``.

    Introduced in notebooks/06_optimize_models.ipynb. ``int8`` is full-integer post-training
    quantization: a representative dataset fixes activation ranges, every op is int8 and so are
    the input and output (what the Edge TPU needs).
    """
    if mode not in TFLITE_MODES:
        raise ValueError(f"mode must be one of {TFLITE_MODES}, got {mode!r}")
    tf = import_tensorflow()
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model))
    if mode != "fp32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "int8":
        if representative_images is None:
            raise ValueError("full-integer quantization needs representative_images")
        converter.representative_dataset = lambda: _representative(representative_images, samples)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    return converter.convert()
