"""Train the course's models and export them into a model repository (``models/``).

``make model`` runs ``python -m mlops_course.export all --out models``, which writes

- ``models/digits/1/``: a small Keras CNN on the bundled digits: the trained network itself
  (``model.keras``), then ONNX (fp32, int8 dynamic, int8 static QDQ) and TFLite (fp32, dynamic
  range, full int8 with int8 input/output) made from it;
- ``models/diabetes/1/``: a scikit-learn regressor (scaler + ridge) as ONNX via skl2onnx;
- ``models/mobilenet/1/``: MobileNetV2 for the serving benchmark (``all`` only; see
  :mod:`mlops_course.heavy_model`);

each version folder with a ``card.json`` (see :mod:`mlops_course.model_card`). The SavedModel is
an intermediate: it goes to a temporary folder (or ``--saved-model DIR``), never into models/.

Training is seeded and TensorFlow's op determinism is on, so one machine repeats itself; another
CPU or core count trains different weights. So the network is trained once, kept as
``model.keras`` with its sha256 in the card, and every later lesson loads it (:func:`load_keras`).
TensorFlow is imported only by the functions that need it.

Introduced in notebooks/05_train_and_export.ipynb; the quantized variants in
notebooks/06_optimize_models.ipynb.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from mlops_course import __version__
from mlops_course.data import (
    DIGITS_LABELS,
    DIGITS_PIXEL_MAX,
    DIGITS_SHAPE,
    Split,
    load_diabetes_split,
    load_digits_split,
)
from mlops_course.model_card import ModelCard, read_card, sha256_file, validate_card, write_card
from mlops_course.runtime import (
    ONNX_DTYPES,
    KerasRunner,
    OnnxRunner,
    import_tensorflow,
    load_runner,
)

INPUT_NAME = "images"
OUTPUT_NAME = "probabilities"
TABULAR_INPUT = "features"
TABULAR_OUTPUT = "prediction"
OPSET = 17
DEFAULT_EPOCHS = 20
BATCH_SIZE = 32
TFLITE_MODES = ("fp32", "dynamic", "int8")

#: file name → (format, precision) of every digits variant, in the order they are made.
DIGITS_FILES = {
    "model.keras": ("keras", "fp32"),
    "model.onnx": ("onnx", "fp32"),
    "model_int8_dynamic.onnx": ("onnx", "int8-dynamic"),
    "model_int8_static.onnx": ("onnx", "int8-static-qdq"),
    "model_fp32.tflite": ("tflite", "fp32"),
    "model_dynamic.tflite": ("tflite", "int8-dynamic-range"),
    "model_int8.tflite": ("tflite", "int8-full"),
}


# --- the digits CNN -----------------------------------------------------------------------


def build_digits_cnn(conv: tuple[int, int] = (32, 64), dense: int = 128):
    """The course CNN: two 3×3 convolutions, 2×2 max-pool, a dense layer, softmax over 10 digits.

    Introduced in notebooks/05_train_and_export.ipynb. About 151k parameters with the defaults,
    so weights dominate the exported file and quantization's size saving is visible.
    """
    tf = import_tensorflow()
    layers = tf.keras.layers
    return tf.keras.Sequential(
        [
            tf.keras.Input(shape=DIGITS_SHAPE, name=INPUT_NAME),
            layers.Conv2D(conv[0], 3, padding="same", activation="relu", name="conv1"),
            layers.Conv2D(conv[1], 3, padding="same", activation="relu", name="conv2"),
            layers.MaxPooling2D(2, name="pool"),
            layers.Flatten(name="flatten"),
            layers.Dense(dense, activation="relu", name="dense"),
            layers.Dropout(0.2, name="dropout"),
            layers.Dense(len(DIGITS_LABELS), activation="softmax", name=OUTPUT_NAME),
        ],
        name="digits_cnn",
    )


def train_digits_cnn(
    split: Split, seed: int = 0, epochs: int = DEFAULT_EPOCHS, verbose: int = 0
) -> tuple[Any, dict[str, list[float]]]:
    """Train the CNN reproducibly; return ``(model, history)`` (per-epoch loss and accuracy).

    Introduced in notebooks/05_train_and_export.ipynb. Seeds Python, NumPy and TensorFlow with
    ``seed`` and turns on op determinism, so the same seed gives the same weights on one machine;
    another CPU or core count gives others (``make model`` keeps one result: :func:`load_keras`).
    The last 15% of the training split is held out for the validation curve.
    """
    tf = import_tensorflow()
    tf.keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    model = build_digits_cnn()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(
        split.x_train,
        split.y_train,
        epochs=epochs,
        batch_size=BATCH_SIZE,
        validation_split=0.15,
        verbose=verbose,
    )
    return model, {k: [float(v) for v in vs] for k, vs in history.history.items()}


def save_keras(model: Any, path: str | Path) -> Path:
    """Save the trained network as a ``.keras`` file without its optimizer state (a third of
    the size; nothing later trains it further). Introduced in notebooks/05_train_and_export.ipynb.
    """
    uncompiled = type(model).from_config(model.get_config())  # same layers, no compile config
    uncompiled.set_weights(model.get_weights())
    uncompiled.save(path)
    return Path(path)


def keras_to_onnx(
    model: Any,
    path: str | Path,
    opset: int = OPSET,
    input_shape: tuple[int, ...] = DIGITS_SHAPE,
    rename: Callable[[Any], None] | None = None,
    producer: str = "mlops_course.export via tf2onnx",
    input_dtype: str = "float32",
) -> Path:
    """Convert a Keras model to ONNX with tf2onnx, input ``images``, output ``probabilities``.

    Introduced in notebooks/05_train_and_export.ipynb. Uses ``from_function`` with an explicit
    input signature (``from_keras`` fails on Keras 3 models); the batch dimension is named
    ``batch`` so tools show something meaningful. ``rename`` may rewrite the graph's names
    before saving (lesson 07's heavy model makes them independent of earlier conversions).
    ``input_dtype`` is the model's input dtype (lesson 07's heavy model takes uint8 pixels).
    """
    tf = import_tensorflow()
    import onnx
    import tf2onnx

    spec = (tf.TensorSpec((None, *input_shape), tf.as_dtype(input_dtype), name=INPUT_NAME),)

    @tf.function(input_signature=spec)
    def serve(images):
        return {OUTPUT_NAME: model(images, training=False)}

    proto, _ = tf2onnx.convert.from_function(serve, input_signature=spec, opset=opset)
    _canonical_constant_names(proto.graph)
    if rename is not None:
        rename(proto.graph)
    for tensor in (*proto.graph.input, *proto.graph.output):
        tensor.type.tensor_type.shape.dim[0].dim_param = "batch"
    proto.producer_name = producer
    onnx.save(proto, str(path))
    return Path(path)


def _canonical_constant_names(graph: Any) -> None:
    """Rename tf2onnx's helper constants by order of first use and sort the initializers.

    tf2onnx deduplicates equal constants and keeps whichever name it meets first, which varies
    between runs; renaming makes ``make model`` produce the same bytes for the same weights.
    """
    initializers = {t.name: t for t in graph.initializer}
    order = list(dict.fromkeys(n for node in graph.node for n in node.input if n in initializers))
    order += [n for n in initializers if n not in order]
    rename = {}
    for name in order:
        if "/" not in name:  # weights keep their Keras names, e.g. digits_cnn_1/dense_1/...
            rename[name] = f"const_{len(rename)}"
    for node in graph.node:
        node.input[:] = [rename.get(n, n) for n in node.input]
    for name, tensor in initializers.items():
        tensor.name = rename.get(name, name)
    ordered = [initializers[n] for n in order]
    del graph.initializer[:]
    graph.initializer.extend(ordered)


def export_saved_model(model: Any, folder: str | Path) -> Path:
    """Write a TensorFlow SavedModel with ``model.export`` (serving signature ``serve``).

    Introduced in notebooks/05_train_and_export.ipynb. It is the input to the TFLite converter.
    """
    tf = import_tensorflow()
    logger, level = tf.get_logger(), tf.get_logger().level
    logger.setLevel("ERROR")  # silence "INFO: Assets written to ..."
    try:
        model.export(str(folder), verbose=False)
    finally:
        logger.setLevel(level)
    return Path(folder)


# --- quantization -------------------------------------------------------------------------


def calibration_reader(images: np.ndarray, batch_size: int = 64, input_name: str = INPUT_NAME):
    """An ONNX Runtime ``CalibrationDataReader`` that feeds ``images`` in batches.

    Introduced in notebooks/06_optimize_models.ipynb.
    """
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
    from onnxruntime.quantization.shape_inference import quant_pre_process

    target = workdir / f"{src.stem}_preprocessed.onnx"
    quant_pre_process(str(src), str(target))
    return target


def quantize_onnx_dynamic(src: str | Path, dst: str | Path) -> Path:
    """int8 weights, activations quantized at run time (``quantize_dynamic``), after pre-processing.

    Introduced in notebooks/06_optimize_models.ipynb.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as work:
        pre = _preprocessed(Path(src), Path(work))
        quantize_dynamic(str(pre), str(dst), weight_type=QuantType.QInt8)
    return Path(dst)


def quantize_onnx_static(src: str | Path, dst: str | Path, calibration_images: np.ndarray) -> Path:
    """int8 weights (per channel) and activations (calibrated min/max), QDQ format.

    Introduced in notebooks/06_optimize_models.ipynb.
    """
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


# --- the diabetes regressor ---------------------------------------------------------------


def train_diabetes_regressor(split: Split, alpha: float = 1.0):
    """A scikit-learn pipeline: StandardScaler (fitted once, on training data) → Ridge.

    Introduced in notebooks/05_train_and_export.ipynb. Seed 003's server refits a scaler on every
    request's payload; exporting the fitted scaler with the model is the fix.
    """
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), Ridge(alpha=alpha)).fit(split.x_train, split.y_train)


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


# --- metrics and cards --------------------------------------------------------------------


def predict_batched(runner: Any, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Predictions for ``x`` in batches (a runner from :mod:`mlops_course.runtime`)."""
    return np.concatenate(
        [runner.predict(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
    )


def classification_metrics(probabilities: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Accuracy of the arg-max class, rounded to 6 digits. Introduced in 05_train_and_export."""
    return {"accuracy": round(float(np.mean(probabilities.argmax(axis=1) == labels)), 6)}


def regression_metrics(predictions: np.ndarray, targets: np.ndarray) -> dict[str, float]:
    """R², MAE and RMSE, rounded to 6 digits. Introduced in 05_train_and_export."""
    from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error

    y, p = np.asarray(targets, np.float64).ravel(), np.asarray(predictions, np.float64).ravel()
    return {
        "r2": round(float(r2_score(y, p)), 6),
        "mae": round(float(mean_absolute_error(y, p)), 6),
        "rmse": round(float(root_mean_squared_error(y, p)), 6),
    }


def _tensor_entry(runner: Any, which: str) -> dict[str, Any]:
    """Name, shape (null = any batch), dtype and quantization of a runner's input or output."""
    if isinstance(runner, KerasRunner):
        tensor = runner.model.inputs[0] if which == "input" else runner.model.outputs[0]
        name = runner.input_name if which == "input" else runner.output_name
        return {"name": name, "shape": list(tensor.shape), "dtype": np.dtype(tensor.dtype).name}
    if isinstance(runner, OnnxRunner):
        meta = (runner.session.get_inputs() if which == "input" else runner.session.get_outputs())[
            0
        ]
        shape = [d if isinstance(d, int) else None for d in meta.shape]
        return {"name": meta.name, "shape": shape, "dtype": ONNX_DTYPES[meta.type]}
    details = (
        runner.interpreter.get_input_details()
        if which == "input"
        else runner.interpreter.get_output_details()
    )[0]
    shape = [None if d < 0 else int(d) for d in details["shape_signature"]]
    entry = {"name": details["name"], "shape": shape, "dtype": np.dtype(details["dtype"]).name}
    if np.dtype(details["dtype"]).kind in "iu":
        scale, zero_point = details["quantization"]
        entry.update(scale=float(scale), zero_point=int(zero_point))
    return entry


def describe_file(folder: Path, name: str, precision: str, metrics: dict[str, float]) -> dict:
    """A card's ``files[]`` entry for ``folder/name``: format, size, sha256, tensors, metrics.

    Introduced in notebooks/05_train_and_export.ipynb.
    """
    path = folder / name
    runner = load_runner(path)
    return {
        "path": name,
        "format": path.suffix.lstrip("."),
        "precision": precision,
        "size_bytes": path.stat().st_size,
        "sha256": sha256_file(path),
        "input": _tensor_entry(runner, "input"),
        "output": _tensor_entry(runner, "output"),
        "metrics": metrics,
    }


def git_commit(root: str | Path | None = None) -> str | None:
    """The current git commit of the course checkout, or None (no git, no commit yet)."""
    root = Path(root) if root else Path(__file__).resolve().parent
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = result.stdout.strip()
    return commit if result.returncode == 0 and len(commit) == 40 else None


def created_timestamp() -> str:
    """UTC now as ISO 8601, or ``SOURCE_DATE_EPOCH`` when set (reproducible builds)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = datetime.fromtimestamp(int(epoch), UTC) if epoch else datetime.now(UTC)
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def code_info(entry_point: str) -> dict[str, Any]:
    """The producing code's version: package version, git commit (or null), entry point."""
    return {
        "package": "mlops_course",
        "package_version": __version__,
        "git_commit": git_commit(),
        "entry_point": entry_point,
    }


def digits_card(
    folder: Path,
    files: dict[str, dict[str, float]],
    split: Split,
    training: dict[str, Any],
    version: int = 1,
    entry_point: str = "python -m mlops_course.export digits",
) -> ModelCard:
    """The validated card for a digits version folder; ``files`` maps file name → metrics.

    Introduced in notebooks/05_train_and_export.ipynb.
    """
    card = {
        "schema_version": 1,
        "name": "digits",
        "version": version,
        "task": "classification",
        "description": "Handwritten digit classifier (8×8 grey images) — a small Keras CNN.",
        "created": created_timestamp(),
        "default_file": "model.onnx",
        "preprocessing": {
            "layout": "NHWC",
            "scale": 1.0 / DIGITS_PIXEL_MAX,
            "input_range": [0.0, 1.0],
            "description": "8×8 pixels with values 0–16 (as in load_digits), divided by 16, "
            "shaped (batch, 8, 8, 1) float32",
        },
        "labels": list(DIGITS_LABELS),
        "features": None,
        "training_data": _split_info("sklearn.datasets.load_digits", split, stratified=True),
        "training": training,
        "code": code_info(entry_point),
        "files": [
            describe_file(folder, name, DIGITS_FILES.get(name, ("", "fp32"))[1], metrics)
            for name, metrics in files.items()
        ],
    }
    return validate_card(card)


def load_keras(folder: str | Path, name: str = "model.keras") -> Any:
    """The trained Keras network kept in a model version folder, after checking its sha256.

    Introduced in notebooks/06_optimize_models.ipynb: lessons after 05 load this network instead
    of retraining, because training gives different weights on another CPU or core count.
    """
    folder = Path(folder)
    entry = read_card(folder / "card.json").file(name)
    digest = sha256_file(folder / name)
    if digest != entry.sha256:
        raise ValueError(
            f"{folder / name}: sha256 {digest[:12]}… is not the card's {entry.sha256[:12]}…"
        )
    return KerasRunner(folder / name).model


def _split_info(source: str, split: Split, stratified: bool) -> dict[str, Any]:
    return {
        "source": source,
        "n_train": len(split.x_train),
        "n_test": len(split.x_test),
        "test_size": split.test_size,
        "split_seed": split.seed,
        "stratified": stratified,
    }


# --- whole version folders ----------------------------------------------------------------


def _replace_folder(staging: Path, final: Path) -> None:
    if final.exists():
        shutil.rmtree(final)
    staging.rename(final)


def export_digits(
    out: str | Path,
    version: int = 1,
    seed: int = 0,
    epochs: int = DEFAULT_EPOCHS,
    saved_model: str | Path | None = None,
    log=print,
) -> ModelCard:
    """Train and write ``out/digits/<version>/``: seven model files and ``card.json``.

    Introduced in notebooks/05_train_and_export.ipynb (``make model`` calls it). The folder is
    built beside the target and swapped in only when complete.
    """
    tf = import_tensorflow()
    split = load_digits_split()
    model, history = train_digits_cnn(split, seed=seed, epochs=epochs)
    parent = Path(out) / "digits"
    parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        staging = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=parent))
        staging.chmod(0o755)
        try:
            save_keras(model, staging / "model.keras")
            sm = export_saved_model(model, saved_model or Path(work) / "saved_model")
            keras_to_onnx(model, staging / "model.onnx")
            quantize_onnx_dynamic(staging / "model.onnx", staging / "model_int8_dynamic.onnx")
            quantize_onnx_static(
                staging / "model.onnx", staging / "model_int8_static.onnx", split.x_train
            )
            tflite_files = [name for name, (fmt, _) in DIGITS_FILES.items() if fmt == "tflite"]
            for name, mode in zip(tflite_files, TFLITE_MODES, strict=True):
                (staging / name).write_bytes(convert_tflite(sm, mode, split.x_train))
            metrics = {
                name: classification_metrics(
                    predict_batched(load_runner(staging / name), split.x_test), split.y_test
                )
                for name in DIGITS_FILES
            }
            training = {
                "framework": f"tensorflow {tf.__version__} (keras {tf.keras.__version__})",
                "seed": seed,
                "epochs": epochs,
                "batch_size": BATCH_SIZE,
                "optimizer": "adam",
                "parameters": int(model.count_params()),
                "final_train_accuracy": round(history["accuracy"][-1], 6),
                "final_val_accuracy": round(history["val_accuracy"][-1], 6),
            }
            card = digits_card(
                staging,
                metrics,
                split,
                training,
                version,
                f"python -m mlops_course.export digits --seed {seed} "
                f"--epochs {epochs} --version {version}",
            )
            write_card(card, staging / "card.json")
            _replace_folder(staging, parent / str(version))
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    for entry in card.files:
        log(
            f"digits/{version}/{entry.path}: {entry.size_bytes:,} B, "
            f"accuracy {entry.metrics['accuracy']:.4f}"
        )
    return card


def export_diabetes(out: str | Path, version: int = 1, seed: int = 0, log=print) -> ModelCard:
    """Fit the regressor and write ``out/diabetes/<version>/{model.onnx, card.json}``.

    Introduced in notebooks/05_train_and_export.ipynb (``make model`` calls it).
    """
    split = load_diabetes_split()
    pipeline = train_diabetes_regressor(split)
    parent = Path(out) / "diabetes"
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=parent))
    staging.chmod(0o755)
    try:
        sklearn_to_onnx(pipeline, staging / "model.onnx", len(split.feature_names))
        runner = OnnxRunner(staging / "model.onnx")
        metrics = regression_metrics(runner.predict(split.x_test), split.y_test)
        import sklearn

        card = validate_card(
            {
                "schema_version": 1,
                "name": "diabetes",
                "version": version,
                "task": "regression",
                "description": "Disease progression one year after baseline (a score), "
                "from ten baseline measurements — scikit-learn StandardScaler + Ridge.",
                "created": created_timestamp(),
                "default_file": "model.onnx",
                "preprocessing": {
                    "layout": "NC",
                    "scale": 1.0,
                    "description": "raw load_diabetes(scaled=False) values in the order of "
                    "'features', float32; the model standardises them itself",
                },
                "labels": None,
                "features": list(split.feature_names),
                "target": {
                    "name": "disease_progression",
                    "description": "quantitative measure of "
                    "disease progression one year after baseline (25–346 in the data)",
                },
                "training_data": _split_info(
                    "sklearn.datasets.load_diabetes(scaled=False)", split, stratified=False
                ),
                "training": {
                    "framework": f"scikit-learn {sklearn.__version__}",
                    "seed": seed,
                    "estimator": "make_pipeline(StandardScaler(), Ridge(alpha=1.0))",
                },
                "code": code_info(f"python -m mlops_course.export diabetes --version {version}"),
                "files": [describe_file(staging, "model.onnx", "fp32", metrics)],
            }
        )
        write_card(card, staging / "card.json")
        _replace_folder(staging, parent / str(version))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log(f"diabetes/{version}/model.onnx: R² {metrics['r2']:.4f}, MAE {metrics['mae']:.2f}")
    return card


# --- command line -------------------------------------------------------------------------


def _whole_number(minimum: int):
    """An argparse type: a whole number >= ``minimum``, with a readable error otherwise."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            got = text if value is None else value
            raise argparse.ArgumentTypeError(f"expected a whole number >= {minimum}, got {got!r}")
        return value

    return parse


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse and check the command line (before TensorFlow is imported, so errors are fast)."""
    parser = argparse.ArgumentParser(
        prog="python -m mlops_course.export",
        description="Train the course models and write them, with model cards, into a model "
        "repository laid out as <out>/<name>/<version>/.",
    )
    parser.add_argument(
        "target", choices=("all", "digits", "diabetes"), help="which model(s) to build"
    )
    add_repository_arguments(parser, DEFAULT_EPOCHS, "digits CNN epochs")
    parser.add_argument(
        "--saved-model",
        type=Path,
        default=None,
        help="also keep the digits SavedModel here (default: a temp folder)",
    )
    args = parser.parse_args(argv)
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"--out {args.out} exists and is not a folder")
    if args.saved_model is not None and args.saved_model.exists():
        parser.error(f"--saved-model {args.saved_model} already exists; choose a new folder")
    return args


def add_repository_arguments(parser: argparse.ArgumentParser, epochs: int, what: str) -> None:
    """``--out``, ``--version``, ``--seed`` and ``--epochs``, for each model-building CLI."""
    parser.add_argument("--out", type=Path, required=True, help="model repository folder")
    parser.add_argument("--version", type=_whole_number(1), default=1, help="version folder (>= 1)")
    parser.add_argument("--seed", type=_whole_number(0), default=0, help="training seed")
    parser.add_argument(
        "--epochs", type=_whole_number(1), default=epochs, help=f"{what} (default {epochs})"
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m mlops_course.export`` (and ``make model``)."""
    args = parse_args(argv)
    if args.target in ("all", "diabetes"):
        export_diabetes(args.out, args.version, args.seed)
    if args.target in ("all", "digits"):
        export_digits(args.out, args.version, args.seed, args.epochs, args.saved_model)
    if args.target == "all":  # the serving benchmark's compute-heavy model
        from mlops_course.heavy_model import export_mobilenet

        export_mobilenet(args.out, args.version, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
