"""The serving benchmark's compute-heavy model: MobileNetV2 (α=0.35) on upsampled digits.

The digits CNN needs little arithmetic per image, so a server in front of it mostly
measures HTTP. ``models/mobilenet/1/`` holds a model where inference dominates: Keras'
MobileNetV2 with width multiplier α=0.35, a 96×96×3 input and 10 classes, built with
``weights=None`` (no download) and trained for a few epochs on the course's digits, each 8×8
image blown up to 96×96 (every pixel a 12×12 block) and copied into three channels. It is a
stand-in for a real vision model, not a better digit classifier; its card says how good it is.

Like most served vision models it takes pixels as bytes: a uint8 input of the digits' own grey
levels (0–16), divided by 16 inside the graph. A batch of eight is then a 221 KB request body
instead of 885 KB as float32, which the server, its client and the network all pay for.

``make model`` builds it (``python -m mlops_course.export all`` calls :func:`export_mobilenet`);
``python -m mlops_course.mobilenet --out models`` builds only this one. About 1.7 MB as ONNX.

Introduced in notebooks/08_measuring_a_server.ipynb (``benchmarks/serving.py`` measures it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

from mlops_course.convert import keras_to_onnx
from mlops_course.data import DIGITS_LABELS, DIGITS_PIXEL_MAX, Split, load_digits_split
from mlops_course.evaluate import classification_metrics, predict_batched
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
from mlops_course.runtime import OnnxRunner, import_tensorflow

NAME = "mobilenet"
ALPHA = 0.35
UPSCALE = 12  # 8×8 digits → 96×96
SHAPE = (8 * UPSCALE, 8 * UPSCALE, 3)
DEFAULT_EPOCHS = 4
BATCH_SIZE = 64
LEARNING_RATE = 3e-3
# Keras' MobileNetV2 uses 0.999: its moving statistics would still be near their initial values
# after the ~60 steps of a short run, and the exported (inference-mode) model would guess.
BN_MOMENTUM = 0.9
# The card's batch limit. A 4 MiB request holds 150 uint8 images, and running that many takes
# about 360 MiB of server memory (measured); 32 stay near what float32 bodies allowed (36).
MAX_BATCH = 32


def upsample_digits(x: np.ndarray, dtype: str = "float32") -> np.ndarray:
    """Digits as NHWC ``(n, 8, 8, 1)`` in [0, 1] → ``(n, 96, 96, 3)``.

    Nearest-neighbour upsampling (each pixel becomes a 12×12 block), grey copied to RGB.
    ``float32`` keeps the values (what the network trains on); ``uint8`` gives the grey levels
    0–16 that the exported model takes. Introduced in notebooks/08_measuring_a_server.ipynb;
    the model card records this recipe.
    """
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 4 or x.shape[1:] != (8, 8, 1):
        raise ValueError(f"expected digits shaped (n, 8, 8, 1), got {x.shape}")
    if np.dtype(dtype) == np.uint8:
        x = np.rint(x * DIGITS_PIXEL_MAX).astype(np.uint8)
    elif np.dtype(dtype) != np.float32:
        raise ValueError(f"dtype must be float32 or uint8, got {dtype}")
    big = x.repeat(UPSCALE, axis=1).repeat(UPSCALE, axis=2)
    return np.ascontiguousarray(np.broadcast_to(big, (*big.shape[:3], SHAPE[2])))


def build_mobilenet(seed: int = 0, alpha: float = ALPHA):
    """MobileNetV2 (``weights=None``, 96×96×3, 10 classes, softmax), seeded.

    Introduced in notebooks/08_measuring_a_server.ipynb. About 423k parameters at α=0.35
    (the last 1×1 convolution keeps 1280 channels whatever α is).
    """
    tf = import_tensorflow()
    tf.keras.utils.set_random_seed(seed)
    model = tf.keras.applications.MobileNetV2(
        input_shape=SHAPE,
        alpha=alpha,
        weights=None,
        classes=len(DIGITS_LABELS),
        classifier_activation="softmax",
        name=f"mobilenetv2_{alpha:g}_{SHAPE[0]}".replace(".", ""),
    )
    for layer in model.layers:
        if isinstance(layer, tf.keras.layers.BatchNormalization):
            layer.momentum = BN_MOMENTUM
    return model


def train_mobilenet(
    split: Split, seed: int = 0, epochs: int = DEFAULT_EPOCHS
) -> tuple[Any, dict[str, list[float]]]:
    """Train briefly on the upsampled digits; return ``(model, history)``.

    Introduced in notebooks/08_measuring_a_server.ipynb. Seeded, with TensorFlow's op
    determinism on, as :func:`mlops_course.train.train_digits_cnn`.
    """
    tf = import_tensorflow()
    tf.config.experimental.enable_op_determinism()
    model = build_mobilenet(seed)
    model.compile(
        optimizer=tf.keras.optimizers.Adam(LEARNING_RATE),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=False,  # XLA would spend longer compiling than this short run trains
    )
    history = model.fit(
        upsample_digits(split.x_train),
        split.y_train,
        epochs=epochs,
        batch_size=BATCH_SIZE,
        verbose=0,
    )
    return model, {k: [float(v) for v in vs] for k, vs in history.history.items()}


def with_pixel_input(model: Any) -> Any:
    """``model`` behind a uint8 input of grey levels 0–16, scaled to [0, 1] inside the graph.

    Introduced in notebooks/08_measuring_a_server.ipynb. Keras' ``Rescaling`` layer casts and
    divides, so clients send one byte per pixel and never scale anything themselves.
    """
    tf = import_tensorflow()
    pixels = tf.keras.Input(SHAPE, dtype="uint8")
    scaled = tf.keras.layers.Rescaling(1.0 / DIGITS_PIXEL_MAX)(pixels)
    return tf.keras.Model(pixels, model(scaled))


def mobilenet_to_onnx(model: Any, path: str | Path) -> Path:
    """ONNX via tf2onnx: input ``images`` (batch, 96, 96, 3) uint8, output ``probabilities``.

    Introduced in notebooks/08_measuring_a_server.ipynb; :func:`mlops_course.convert.keras_to_onnx`
    for the trained float model behind :func:`with_pixel_input` (its names do not depend on
    earlier conversions: :func:`mlops_course.convert.canonical_names`).
    """
    return keras_to_onnx(
        with_pixel_input(model),
        path,
        input_shape=SHAPE,
        producer="mlops_course.mobilenet via tf2onnx",
        input_dtype="uint8",
    )


def mobilenet_card(
    folder: Path,
    split: Split,
    training: dict[str, Any],
    metrics: dict[str, float],
    version: int,
    entry_point: str = "python -m mlops_course.mobilenet",
) -> ModelCard:
    """The validated card for ``folder`` (``model.onnx`` with its test-split accuracy)."""
    source = f"sklearn.datasets.load_digits, upsampled {UPSCALE}× to {SHAPE[0]}×{SHAPE[1]}×3"
    file = describe_file(folder, "model.onnx", "fp32", metrics)
    file["input"].update(scale=1.0 / DIGITS_PIXEL_MAX, zero_point=0)  # value = pixel / 16
    return validate_card(
        {
            "schema_version": 1,
            "name": NAME,
            "version": version,
            "task": "classification",
            "description": f"MobileNetV2 (α={ALPHA}, {SHAPE[0]}×{SHAPE[1]}×3, 10 classes, "
            "weights=None) trained briefly on upsampled digits: a compute-heavy model for "
            "serving benchmarks, not a better digit classifier.",
            "created": created_timestamp(),
            "default_file": "model.onnx",
            "max_batch": MAX_BATCH,
            "preprocessing": {
                "layout": "NHWC",
                "scale": 1.0,
                "input_range": [0, int(DIGITS_PIXEL_MAX)],
                "upsample": UPSCALE,
                "description": "8×8 load_digits pixels (0–16) as they are, each pixel repeated "
                f"as a {UPSCALE}×{UPSCALE} block, the grey value copied to 3 channels: "
                f"(batch, {SHAPE[0]}, {SHAPE[1]}, 3) uint8; the model divides by 16 "
                "(mlops_course.mobilenet.upsample_digits with dtype='uint8')",
            },
            "labels": list(DIGITS_LABELS),
            "features": None,
            "training_data": split_info(source, split, stratified=True),
            "training": training,
            "code": code_info(entry_point),
            "files": [file],
        }
    )


def export_mobilenet(
    out: str | Path,
    version: int = 1,
    seed: int = 0,
    epochs: int = DEFAULT_EPOCHS,
    log=print,
) -> ModelCard:
    """Train and write ``out/mobilenet/<version>/{model.onnx, card.json}``.

    Introduced in notebooks/08_measuring_a_server.ipynb (``make model`` calls it). The folder
    is built beside the target and swapped in only when complete.
    """
    tf = import_tensorflow()
    split = load_digits_split()
    model, history = train_mobilenet(split, seed=seed, epochs=epochs)
    with staged_folder(Path(out) / NAME / str(version)) as staging:
        mobilenet_to_onnx(model, staging / "model.onnx")
        runner = OnnxRunner(staging / "model.onnx")
        pixels = upsample_digits(split.x_test, "uint8")
        probabilities = predict_batched(runner, pixels, batch_size=64)
        metrics = classification_metrics(probabilities, split.y_test)
        training = {
            "framework": f"tensorflow {tf.__version__} (keras {tf.keras.__version__})",
            "architecture": f"tf.keras.applications.MobileNetV2(alpha={ALPHA}, weights=None)",
            "seed": seed,
            "epochs": epochs,
            "batch_size": BATCH_SIZE,
            "optimizer": f"adam (learning rate {LEARNING_RATE})",
            "batch_norm_momentum": BN_MOMENTUM,
            "parameters": int(model.count_params()),
            "final_train_accuracy": round(history["accuracy"][-1], 6),
        }
        command = f"python -m mlops_course.mobilenet --seed {seed} --epochs {epochs}"
        card = mobilenet_card(
            staging, split, training, metrics, version, f"{command} --version {version}"
        )
        write_card(card, staging / "card.json")
    entry = card.file()
    log(
        f"{NAME}/{version}/{entry.path}: {entry.size_bytes:,} B, "
        f"accuracy {entry.metrics['accuracy']:.4f} after {epochs} epochs"
    )
    return card


def main(argv: list[str] | None = None) -> int:
    """``python -m mlops_course.mobilenet --out models``: build only this model."""
    parser = argparse.ArgumentParser(
        prog="python -m mlops_course.mobilenet", description=__doc__.splitlines()[0]
    )
    add_repository_arguments(parser, DEFAULT_EPOCHS, "training epochs")
    args = parser.parse_args(argv)
    check_repository_arguments(parser, args)
    export_mobilenet(args.out, args.version, args.seed, args.epochs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
