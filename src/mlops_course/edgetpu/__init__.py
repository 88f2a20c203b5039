"""The Edge TPU path: full-int8 conversion, a preflight check, the compiler, classification.

- :mod:`~mlops_course.edgetpu.convert`: a Keras model → full-int8, batch-1 ``.tflite``
  (TensorFlow is imported only there, and only when called); ``ready`` keeps that file for the
  digits model in ``models/digits/1/``; ``build`` is ``make edgetpu`` (convert into
  ``build/edgetpu/``, then compile where a compiler exists);
- :mod:`~mlops_course.edgetpu.preflight`: would this ``.tflite`` map onto the Edge TPU?
  (``python -m mlops_course.edgetpu preflight MODEL.tflite``);
- :mod:`~mlops_course.edgetpu.compiler`: run the real ``edgetpu_compiler`` (on PATH or in the
  course's Docker image) or print the exact commands; never a fake compiled file;
- :mod:`~mlops_course.edgetpu.classify`: ``make_interpreter`` / ``get_classes`` in pycoral's
  style, with LiteRT's ``load_delegate`` on the Edge TPU for a compiled model (one holding the
  ``edgetpu-custom-op``), else on the CPU with the reason recorded;
- :mod:`~mlops_course.edgetpu.timing`: the first call of a fresh interpreter against the steady
  state (median, p99).

Introduced in notebooks/12_edge_tpu.ipynb.
"""

from mlops_course.edgetpu.classify import (
    Backend,
    Class,
    backend_of,
    classify_image,
    edgetpu_ops,
    edgetpu_support,
    get_classes,
    get_scores,
    load_edgetpu_delegate,
    make_interpreter,
    score_images,
    set_input,
    top_margin,
)
from mlops_course.edgetpu.compiler import (
    CompileLog,
    CompileResult,
    compile_commands,
    compile_model,
    find_compiler,
    parse_compiler_log,
)
from mlops_course.edgetpu.preflight import Preflight, PreflightError, preflight
from mlops_course.edgetpu.timing import Timings, inference_times_ms, time_inference

__all__ = [
    "Backend",
    "Class",
    "CompileLog",
    "CompileResult",
    "Preflight",
    "PreflightError",
    "Timings",
    "backend_of",
    "classify_image",
    "compile_commands",
    "compile_model",
    "edgetpu_ops",
    "edgetpu_support",
    "find_compiler",
    "get_classes",
    "get_scores",
    "inference_times_ms",
    "load_edgetpu_delegate",
    "make_interpreter",
    "parse_compiler_log",
    "preflight",
    "score_images",
    "set_input",
    "time_inference",
    "top_margin",
]
