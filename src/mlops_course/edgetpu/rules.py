"""Coral's documented rules for the Edge TPU compiler, as data the preflight checks against.

- Coral, "TensorFlow models on the Edge TPU", sections "Model requirements" and "Supported
  operations": https://coral.ai/docs/edgetpu/models-intro/ (the table below transcribes the
  operations and their known limitations; mirrored for the same chip by Axis, ARTPEC-7
  "Supported ops").
- Whole-model refusals (the compiler writes no file): Coral's "Model requirements" say "Tensor
  sizes are constant at compile-time (no dynamic sizes)"; compiler 16 stops on an open batch
  (``-1``) with :data:`DYNAMIC_SHAPES_ERROR` then "Compilation failed" (log in ISSUES + "829").
  A float body stops it with "Model not quantized" (the models-intro page: "supports only
  TensorFlow Lite models that are fully 8-bit quantized").
- Float input/output around a full-int8 body: the compiler maps the body and leaves the
  QUANTIZE at the input and the DEQUANTIZE at the output on the CPU. Its operation log (see
  https://coral.ai/docs/edgetpu/compiler/, "-s, --show_operations") reads, for such a model,
  "QUANTIZE 1 Operation is otherwise supported, but not mapped due to some unspecified
  limitation" and "DEQUANTIZE 1 Operation is working on an unsupported data type", every other
  operation "Mapped to Edge TPU" (logs in https://github.com/f0cal/google-coral/issues/20 and
  ISSUES + "659").
- Operator versions: the current (and last) public compiler, 16.0.384591198, was built against
  an older TFLite; models from newer converters fail to parse with "Didn't find op for builtin
  opcode 'X' version 'N'". Reported cases are listed in ``REJECTED_VERSIONS`` with their issue.

Introduced in notebooks/12_edge_tpu.ipynb.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The Edge TPU compiler whose limits the version table describes (the latest public release).
COMPILER_VERSION = "16.0.384591198"
ISSUES = "https://github.com/google-coral/edgetpu/issues/"


@dataclass(frozen=True)
class OpRule:
    """One row of Coral's supported-operations table, keyed by the TFLite builtin name."""

    coral_name: str
    limits: str = ""


#: Coral's supported-operations table (https://coral.ai/docs/edgetpu/models-intro/), by TFLite
#: builtin operator name, with the documented known limitations (paraphrased).
SUPPORTED_OPS: dict[str, OpRule] = {
    "ADD": OpRule("Add"),
    "AVERAGE_POOL_2D": OpRule("AveragePool2d", "no fused activation function"),
    "CONCATENATION": OpRule(
        "Concatenation",
        "no fused activation function; a constant input must be all zeros, with 2 inputs",
    ),
    "CONV_2D": OpRule("Conv2d", "same dilation in x and y"),
    "DEPTHWISE_CONV_2D": OpRule("DepthwiseConv2d", "same dilation in x and y"),
    "EXPAND_DIMS": OpRule("ExpandDims"),
    "FULLY_CONNECTED": OpRule("FullyConnected", "default weights format only"),
    "L2_NORMALIZATION": OpRule("L2Normalization"),
    "LOGISTIC": OpRule("Logistic"),
    "LSTM": OpRule("LSTM", "unidirectional only"),
    "UNIDIRECTIONAL_SEQUENCE_LSTM": OpRule("LSTM", "unidirectional only"),
    "MAXIMUM": OpRule("Maximum"),
    "MAX_POOL_2D": OpRule("MaxPool2d", "no fused activation function"),
    "MEAN": OpRule("Mean", "no reduction in the batch dimension"),
    "MINIMUM": OpRule("Minimum"),
    "MUL": OpRule("Mul"),
    "PACK": OpRule("Pack", "no packing in the batch dimension"),
    "PAD": OpRule("Pad", "no padding in the batch dimension"),
    "PRELU": OpRule("PReLU", "alpha is 1-dimensional"),
    "QUANTIZE": OpRule("Quantize"),
    "REDUCE_MAX": OpRule("ReduceMax", "not on the batch dimension"),
    "REDUCE_MIN": OpRule("ReduceMin", "not on the batch dimension"),
    "RELU": OpRule("ReLU"),
    "RELU6": OpRule("ReLU6"),
    "RELU_N1_TO_1": OpRule("ReLUN1To1"),
    "RESHAPE": OpRule("Reshape", "large reshapes may stay on the CPU"),
    "RESIZE_BILINEAR": OpRule("ResizeBilinear", "3-D input/output; may stay on the CPU"),
    "RESIZE_NEAREST_NEIGHBOR": OpRule("ResizeNearestNeighbor", "3-D input/output"),
    "RSQRT": OpRule("Rsqrt"),
    "SLICE": OpRule("Slice"),
    "SOFTMAX": OpRule("Softmax", "1-D input, at most 16,000 elements"),
    "SPACE_TO_DEPTH": OpRule("SpaceToDepth"),
    "SPLIT": OpRule("Split", "no splitting in the batch dimension"),
    "SQUARED_DIFFERENCE": OpRule("SquaredDifference"),
    "SQUEEZE": OpRule("Squeeze"),
    "STRIDED_SLICE": OpRule("StridedSlice", "all strides 1, no ellipsis or new-axis mask"),
    "SUB": OpRule("Sub"),
    "SUM": OpRule("Sum", "not on the batch dimension"),
    "TANH": OpRule("Tanh"),
    "TRANSPOSE": OpRule("Transpose"),
    "TRANSPOSE_CONV": OpRule("TransposeConv"),
}

#: Operator versions compiler 16 cannot parse (the whole model is then rejected), as
#: ``op: (first rejected version, where it is reported)``.
REJECTED_VERSIONS: dict[str, tuple[int, str]] = {
    "CONV_2D": (6, ISSUES + "631"),
    "QUANTIZE": (3, ISSUES + "879"),
    "TRANSPOSE_CONV": (4, ISSUES + "845"),
    "REVERSE_V2": (3, ISSUES + "340"),
    "EXP": (2, "https://github.com/google-coral/libedgetpu/issues/71"),
}

#: 8-bit integer data is all the Edge TPU computes with; int32 appears only as constants (biases,
#: shapes, axes), which the compiler folds into the operations that use them.
EDGE_TPU_DTYPES = ("INT8", "UINT8")
FLOAT_DTYPES = ("FLOAT32", "FLOAT16", "FLOAT64", "BFLOAT16")
EDGETPU_CUSTOM_OP = "edgetpu-custom-op"
#: What compiler 16 prints before "Compilation failed" for a model with an unknown dimension.
DYNAMIC_SHAPES_ERROR = (
    "Attempting to use a delegate that only supports static-sized tensors with a graph that has "
    "dynamic-sized tensors"
)
