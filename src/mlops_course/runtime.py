"""Run exported models: ONNX Runtime for ``.onnx``, LiteRT for ``.tflite``, Keras for ``.keras``.

Both return float32 outputs. The TFLite runner takes float32 inputs whatever the file stores
inside: a full-integer model gets its input quantized and its output dequantized with the
scale and zero point stored in the file (:mod:`mlops_course.quantization`). The ONNX runner
feeds the input dtype the graph declares: float32 for most models, uint8 pixels for one that
scales them itself (lesson 07's :mod:`mlops_course.mobilenet`); it refuses to round floats into
an integer input. Thread counts are explicit, so latency measurements and servers behave the
same on a laptop and on a shared CI machine.

Only the Keras runner needs TensorFlow (the trained network that ``make model`` keeps, so that
later lessons load it instead of retraining); the server never uses it.

Introduced in notebooks/05_train_and_export.ipynb (ONNX, Keras) and 06_optimize_models.ipynb
(TFLite).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from mlops_course.quantization import dequantize, quantize

CPU = ("CPUExecutionProvider",)
#: ONNX Runtime's type names of the tensor types the course's models use → NumPy dtype names.
ONNX_DTYPES = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(uint8)": "uint8",
    "tensor(int8)": "int8",
    "tensor(int64)": "int64",
}


TELEMETRY_ENV = "ORT_DISABLE_TELEMETRY"


def import_onnxruntime():
    """``onnxruntime``, imported with its usage telemetry off. Introduced in 05_train_and_export.

    On Linux, ONNX Runtime 1.31 records usage events by default (a device id and an event database
    under ``~/.cache/Microsoft/DeveloperTools/.onnxruntime``), and only ``ORT_DISABLE_TELEMETRY=1``
    set *before the first import* stops that. Every course path into ONNX Runtime comes through
    here; the Makefile, the kernel and the images set the variable too, for code that imports
    ``onnxruntime`` directly. A value the user set explicitly is kept.
    """
    os.environ.setdefault(TELEMETRY_ENV, "1")
    import onnxruntime

    return onnxruntime


#: Set to 1 to let a session run on fewer providers than asked for (CPU in place of CUDA), with a
#: warning; by default that is an error. Read here, beside ``ORT_PROVIDERS`` (the server's config).
FALLBACK_ENV = "ORT_ALLOW_CPU_FALLBACK"


class ProviderUnavailable(ValueError):
    """A session would not run on the execution providers asked for; the one-line message says
    which and how to allow the fallback."""


def cpu_fallback_allowed() -> bool:
    """Whether ``ORT_ALLOW_CPU_FALLBACK`` is set to 1 (or true/yes). Introduced in lesson 10."""
    return os.environ.get(FALLBACK_ENV, "").strip().lower() in {"1", "true", "yes"}


def check_session_providers(
    session, requested: tuple[str, ...], allow_fallback: bool | None = None
) -> list[str]:
    """The providers ``session`` really runs on, after checking they include every one requested.

    ONNX Runtime does not fail when a provider it has compiled in cannot start (onnxruntime-gpu on
    a host without a GPU, or a container run without ``--gpus``): it logs a warning and runs on
    the CPU. Only ``session.get_providers()``, after creation, tells. Raise
    :class:`ProviderUnavailable` unless the fallback is allowed (``allow_fallback``, by default
    ``ORT_ALLOW_CPU_FALLBACK``), then warn. Introduced in notebooks/10_publishing_images.ipynb.
    """
    active = list(session.get_providers())
    lost = [provider for provider in requested if provider not in active]
    if lost:
        allowed = cpu_fallback_allowed() if allow_fallback is None else allow_fallback
        message = f"asked for {lost} but the session runs on {active}"
        if not allowed:
            raise ProviderUnavailable(
                f"{message} (no GPU visible? run the container with --gpus all); "
                f"set {FALLBACK_ENV}=1 to serve on what is there"
            )
        warnings.warn(f"{message} ({FALLBACK_ENV}=1)", RuntimeWarning, stacklevel=2)
    return active


def onnx_session(
    path: str | Path,
    threads: int = 1,
    providers: tuple[str, ...] = CPU,
    allow_fallback: bool | None = None,
):
    """An ``onnxruntime.InferenceSession`` with explicit providers and thread counts.

    Introduced in notebooks/05_train_and_export.ipynb. Providers other than the CPU one must be
    compiled into the installed onnxruntime (e.g. ``CUDAExecutionProvider`` in onnxruntime-gpu)
    and must really start (:func:`check_session_providers`); with the fallback allowed
    (``allow_fallback``, by default ``ORT_ALLOW_CPU_FALLBACK=1``) the session runs on what is
    there, with a warning.
    """
    ort = import_onnxruntime()
    allowed = cpu_fallback_allowed() if allow_fallback is None else allow_fallback
    available = ort.get_available_providers()
    missing = [provider for provider in providers if provider not in available]
    if missing and not allowed:
        raise ProviderUnavailable(
            f"onnxruntime {ort.__version__} has no {missing}; it has {available} "
            f"(set {FALLBACK_ENV}=1 to serve on what is there)"
        )
    usable = [provider for provider in providers if provider in available] or list(CPU)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # warnings from graph optimisers are not the student's business
    session = ort.InferenceSession(str(path), options, providers=usable)
    check_session_providers(session, tuple(providers), allowed)
    return session


class OnnxRunner:
    """Run a single-input, single-output ONNX model. Introduced in 05_train_and_export."""

    def __init__(
        self, path: str | Path, threads: int = 1, providers: tuple[str, ...] = CPU
    ) -> None:
        self.path = Path(path)
        self.session = onnx_session(self.path, threads, providers)
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if len(inputs) != 1:
            raise ValueError(f"{self.path}: expected one input, found {[i.name for i in inputs]}")
        self.input_name = inputs[0].name
        self.output_name = outputs[0].name
        if inputs[0].type not in ONNX_DTYPES:
            raise ValueError(f"{self.path}: input type {inputs[0].type} is not {list(ONNX_DTYPES)}")
        self.input_dtype = np.dtype(ONNX_DTYPES[inputs[0].type])

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Outputs of the first output tensor for the batch ``x``, fed as ``input_dtype``."""
        x = np.asarray(x)
        if x.dtype.kind == "f" and self.input_dtype.kind in "iu":
            raise ValueError(
                f"{self.path.name} takes {self.input_dtype} input; got {x.dtype} "
                "(send the integers its card describes, not scaled floats)"
            )
        feed = {self.input_name: np.ascontiguousarray(x, dtype=self.input_dtype)}
        return self.session.run([self.output_name], feed)[0]


class TfliteRunner:
    """Run a ``.tflite`` model with ``ai_edge_litert``'s interpreter (any batch size).

    Introduced in notebooks/06_optimize_models.ipynb. Integer inputs and outputs are
    (de)quantized here with the parameters stored in the model.
    """

    def __init__(self, path: str | Path, threads: int = 1) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.path = Path(path)
        self.interpreter = Interpreter(model_path=str(self.path), num_threads=threads)
        self.interpreter.allocate_tensors()
        self._input = self.interpreter.get_input_details()[0]
        self._output = self.interpreter.get_output_details()[0]
        self.input_name = self._input["name"]
        self.input_dtype = np.dtype(self._input["dtype"])
        self.output_dtype = np.dtype(self._output["dtype"])
        self._batch = int(self._input["shape"][0])
        # A fixed batch in the signature (e.g. the Edge TPU's batch-1 file, lesson 12) cannot be
        # resized: such a model is run ``_batch`` rows at a time instead.
        self._fixed = int(self._input["shape_signature"][0]) > 0

    def input_quantization(self) -> tuple[float, int]:
        """(scale, zero_point) of the input; (0.0, 0) for a float input."""
        scale, zero_point = self._input["quantization"]
        return float(scale), int(zero_point)

    def output_quantization(self) -> tuple[float, int]:
        """(scale, zero_point) of the output; (0.0, 0) for a float output."""
        scale, zero_point = self.interpreter.get_output_details()[0]["quantization"]
        return float(scale), int(zero_point)

    def _resize(self, batch: int) -> None:
        if batch != self._batch:
            shape = [batch, *self._input["shape"][1:]]
            self.interpreter.resize_tensor_input(self._input["index"], shape)
            self.interpreter.allocate_tensors()
            self._batch = batch

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Float32 outputs for the float32 batch ``x``."""
        x = np.asarray(x, dtype=np.float32)
        if self._fixed and len(x) != self._batch:
            step = self._batch
            if len(x) == 0 or len(x) % step:
                raise ValueError(f"this model takes {step} rows at a time; got {len(x)}")
            return np.concatenate([self.predict(x[i : i + step]) for i in range(0, len(x), step)])
        self._resize(len(x))
        if self.input_dtype.kind in "iu":
            x = quantize(x, *self.input_quantization(), self.input_dtype)
        self.interpreter.set_tensor(self._input["index"], np.ascontiguousarray(x))
        self.interpreter.invoke()
        y = self.interpreter.get_tensor(self._output["index"])
        if self.output_dtype.kind in "iu":
            return dequantize(y, *self.output_quantization(), dtype=np.float32)
        return y.astype(np.float32, copy=True)


def import_tensorflow():
    """Import TensorFlow quietly (no oneDNN banner, no INFO logs) and return the module."""
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    return tf


class KerasRunner:
    """Run a ``.keras`` file: the trained network, as ``make model`` keeps it beside its exports.

    Introduced in notebooks/05_train_and_export.ipynb. ``self.model`` is the Keras model itself
    (lessons 06 and 12 load it instead of retraining). TensorFlow's threads are set per process,
    so ``threads`` is accepted for the common interface and ignored.
    """

    def __init__(self, path: str | Path, threads: int = 1) -> None:
        tf = import_tensorflow()
        self.path = Path(path)
        self.model = tf.keras.models.load_model(self.path, compile=False)
        self.input_name = self.model.layers[0].input.name
        self.output_name = self.model.layers[-1].name
        self.input_dtype = np.dtype(self.model.inputs[0].dtype)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Float32 outputs for the batch ``x`` (inference mode: no dropout)."""
        y = self.model(np.asarray(x, dtype=self.input_dtype), training=False)
        return y.numpy().astype(np.float32, copy=False)


def load_runner(path: str | Path, threads: int = 1) -> OnnxRunner | TfliteRunner | KerasRunner:
    """A runner chosen by the file's suffix. Introduced in 06_optimize_models."""
    runners = {".onnx": OnnxRunner, ".tflite": TfliteRunner, ".keras": KerasRunner}
    suffix = Path(path).suffix
    if suffix not in runners:
        raise ValueError(f"{path}: unknown model format {suffix!r} (expected {', '.join(runners)})")
    return runners[suffix](path, threads)
