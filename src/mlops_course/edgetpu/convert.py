"""Convert a Keras model to a TFLite file the Edge TPU compiler accepts: full int8, batch 1.

The course's ``models/digits/1/model_int8.tflite`` is full-integer already, but it keeps the
batch dimension open (``-1``) for the server, and an open batch makes the converter add
SHAPE/STRIDED_SLICE/PACK arithmetic on int32 tensors before the Flatten: none of that maps to
the Edge TPU, which needs fixed shapes. So the Edge TPU file is exported from the same Keras
model with a fixed ``(1, ...)`` input signature and then converted with
:func:`mlops_course.convert.convert_tflite` (representative dataset, ``TFLITE_BUILTINS_INT8``,
int8 input and output), the same conversion the model repository uses.

TensorFlow is imported only inside these functions. Introduced in notebooks/12_edge_tpu.ipynb.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from mlops_course.convert import INPUT_NAME, convert_tflite
from mlops_course.quiet import quiet_logger
from mlops_course.runtime import import_tensorflow


def export_fixed_batch(model: Any, folder: str | Path, batch: int = 1) -> Path:
    """Write a SavedModel whose ``serve`` signature takes exactly ``batch`` inputs.

    Introduced in notebooks/12_edge_tpu.ipynb.
    """
    tf = import_tensorflow()
    spec = tf.TensorSpec((batch, *model.input_shape[1:]), tf.float32, name=INPUT_NAME)
    with quiet_logger(tf.get_logger()):  # silence "INFO: Assets written to ..."
        model.export(str(folder), verbose=False, input_signature=[spec])
    return Path(folder)


def convert_fixed_batch(
    model: Any,
    mode: str = "int8",
    representative_images: np.ndarray | None = None,
    samples: int = 256,
    batch: int = 1,
) -> bytes:
    """A batch-``batch`` TFLite flatbuffer of ``model``: ``fp32``, ``dynamic`` or ``int8``.

    Introduced in notebooks/12_edge_tpu.ipynb. ``int8`` (the default) is what the Edge TPU needs;
    ``representative_images`` (float32, the model's input shape) fix the activation ranges.
    """
    with tempfile.TemporaryDirectory() as work:
        saved = export_fixed_batch(model, Path(work) / "saved_model", batch)
        with warnings.catch_warnings():
            # "Statistics for quantized inputs were expected": harmless, the ranges come from
            # the representative dataset.
            warnings.filterwarnings("ignore", message="Statistics for quantized inputs")
            return convert_tflite(saved, mode, representative_images, samples)


def convert_for_edgetpu(model: Any, representative_images: np.ndarray, samples: int = 256) -> bytes:
    """Full-integer (int8 in, int8 out), batch-1 TFLite flatbuffer for the Edge TPU compiler.

    Introduced in notebooks/12_edge_tpu.ipynb.
    """
    return convert_fixed_batch(model, "int8", representative_images, samples, batch=1)
