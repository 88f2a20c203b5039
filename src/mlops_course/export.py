"""Build the course's model repository (``models/``): ``make model`` runs
``python -m mlops_course.export all --out models``, which writes

- ``models/digits/1/``: a small Keras CNN on the bundled digits: the trained network itself
  (``model.keras``), then ONNX (fp32, int8 dynamic, int8 static QDQ) and TFLite (fp32, dynamic
  range, full int8 with int8 input/output) made from it, and the same full int8 with a fixed
  batch of 1, ready for the Edge TPU compiler (:mod:`mlops_course.edgetpu.ready`, lesson 12);
- ``models/diabetes/1/``: a scikit-learn regressor (scaler + ridge) as ONNX via skl2onnx;
- ``models/mobilenet/1/``: MobileNetV2 for the serving benchmark (``all`` only; see
  :mod:`mlops_course.mobilenet`);

each version folder with a ``card.json`` (see :mod:`mlops_course.model_card`). The SavedModel is
an intermediate: it goes to a temporary folder (or ``--saved-model DIR``), never into models/.
The steps live in :mod:`mlops_course.train`, :mod:`mlops_course.convert`,
:mod:`mlops_course.evaluate` and :mod:`mlops_course.model_repository`; this module puts them
together. Introduced in notebooks/05_train_and_export.ipynb.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from mlops_course import mobilenet
from mlops_course.convert import (
    TFLITE_MODES,
    convert_tflite,
    export_saved_model,
    keras_to_onnx,
    quantize_onnx_dynamic,
    quantize_onnx_static,
    sklearn_to_onnx,
)
from mlops_course.data import (
    DIGITS_LABELS,
    DIGITS_PIXEL_MAX,
    Split,
    load_diabetes_split,
    load_digits_split,
)
from mlops_course.edgetpu.ready import (
    READY_FILE,
    READY_PRECISION,
    add_ready_model,
    write_ready_model,
)
from mlops_course.evaluate import classification_metrics, predict_batched, regression_metrics
from mlops_course.model_card import ModelCard, validate_card, write_card
from mlops_course.model_repository import (
    add_repository_arguments,
    check_repository_arguments,
    code_info,
    created_timestamp,
    describe_file,
    split_info,
    staged_folder,
)
from mlops_course.runtime import OnnxRunner, import_tensorflow, load_runner
from mlops_course.train import (
    BATCH_SIZE,
    DEFAULT_EPOCHS,
    save_keras,
    train_diabetes_regressor,
    train_digits_cnn,
)

#: file name → (format, precision) of every digits variant, in the order they are made.
DIGITS_FILES = {
    "model.keras": ("keras", "fp32"),
    "model.onnx": ("onnx", "fp32"),
    "model_int8_dynamic.onnx": ("onnx", "int8-dynamic"),
    "model_int8_static.onnx": ("onnx", "int8-static-qdq"),
    "model_fp32.tflite": ("tflite", "fp32"),
    "model_dynamic.tflite": ("tflite", "int8-dynamic-range"),
    "model_int8.tflite": ("tflite", "int8-full"),
    READY_FILE: ("tflite", READY_PRECISION),
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
        "training_data": split_info("sklearn.datasets.load_digits", split, stratified=True),
        "training": training,
        "code": code_info(entry_point),
        "files": [
            describe_file(folder, name, DIGITS_FILES.get(name, ("", "fp32"))[1], metrics)
            for name, metrics in files.items()
        ],
    }
    return validate_card(card)


def export_digits(
    out: str | Path,
    version: int = 1,
    seed: int = 0,
    epochs: int = DEFAULT_EPOCHS,
    saved_model: str | Path | None = None,
    log=print,
) -> ModelCard:
    """Train and write ``out/digits/<version>/``: eight model files and ``card.json``.

    Introduced in notebooks/05_train_and_export.ipynb (``make model`` calls it). The folder is
    built beside the target and swapped in only when complete.
    """
    tf = import_tensorflow()
    split = load_digits_split()
    model, history = train_digits_cnn(split, seed=seed, epochs=epochs)
    target = Path(out) / "digits" / str(version)
    with tempfile.TemporaryDirectory() as work, staged_folder(target) as staging:
        save_keras(model, staging / "model.keras")
        sm = export_saved_model(model, saved_model or Path(work) / "saved_model")
        keras_to_onnx(model, staging / "model.onnx")
        quantize_onnx_dynamic(staging / "model.onnx", staging / "model_int8_dynamic.onnx")
        quantize_onnx_static(
            staging / "model.onnx", staging / "model_int8_static.onnx", split.x_train
        )
        tflite_files = [n for n, (fmt, _) in DIGITS_FILES.items() if fmt == "tflite"]
        for name, mode in zip(tflite_files[: len(TFLITE_MODES)], TFLITE_MODES, strict=True):
            (staging / name).write_bytes(convert_tflite(sm, mode, split.x_train))
        write_ready_model(model, staging, split)
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
        command = f"python -m mlops_course.export digits --seed {seed} --epochs {epochs}"
        card = digits_card(
            staging, metrics, split, training, version, f"{command} --version {version}"
        )
        write_card(card, staging / "card.json")
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
    import sklearn

    split = load_diabetes_split()
    pipeline = train_diabetes_regressor(split)
    with staged_folder(Path(out) / "diabetes" / str(version)) as staging:
        sklearn_to_onnx(pipeline, staging / "model.onnx", len(split.feature_names))
        runner = OnnxRunner(staging / "model.onnx")
        metrics = regression_metrics(runner.predict(split.x_test), split.y_test)
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
                "training_data": split_info(
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
    log(f"diabetes/{version}/model.onnx: R² {metrics['r2']:.4f}, MAE {metrics['mae']:.2f}")
    return card


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse and check the command line (before TensorFlow is imported, so errors are fast)."""
    parser = argparse.ArgumentParser(
        prog="python -m mlops_course.export",
        description="Train the course models and write them, with model cards, into a model "
        "repository laid out as <out>/<name>/<version>/.",
    )
    parser.add_argument(
        "target",
        choices=("all", "digits", "diabetes", "digits-edgetpu"),
        help="which model(s) to build; digits-edgetpu: only the Edge-TPU-ready file of an "
        "existing digits version, from its model.keras (no training)",
    )
    add_repository_arguments(parser, DEFAULT_EPOCHS, "digits CNN epochs")
    parser.add_argument(
        "--saved-model",
        type=Path,
        default=None,
        help="also keep the digits SavedModel here (default: a temp folder)",
    )
    args = parser.parse_args(argv)
    check_repository_arguments(parser, args)
    card = args.out / "digits" / str(args.version) / "card.json"
    if args.target == "digits-edgetpu" and not card.is_file():
        parser.error(f"digits-edgetpu: {card} does not exist (build the version first)")
    if args.saved_model is not None and args.saved_model.exists():
        parser.error(f"--saved-model {args.saved_model} already exists; choose a new folder")
    return args


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m mlops_course.export`` (and ``make model``)."""
    args = parse_args(argv)
    if args.target in ("all", "diabetes"):
        export_diabetes(args.out, args.version, args.seed)
    if args.target == "digits-edgetpu":
        add_ready_model(args.out / "digits" / str(args.version))
    if args.target in ("all", "digits"):
        export_digits(args.out, args.version, args.seed, args.epochs, args.saved_model)
    if args.target == "all":  # the serving benchmark's compute-heavy model
        mobilenet.export_mobilenet(args.out, args.version, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
