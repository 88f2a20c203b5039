"""Lesson 04's cross-checks: the converters' scales and zero points are read back correctly, and
the lesson's figures draw what they are given."""

from __future__ import annotations

import logging

import matplotlib.pyplot as plt
import numpy as np
import pytest

from mlops_course import quantization as qz
from mlops_course import quantization_check as check
from mlops_course import quantization_plots as qplots

RNG = np.random.default_rng(3)
W = RNG.normal(size=(6, 3)).astype(np.float32) * np.array([1.0, 0.1, 3.0], dtype=np.float32)
B = np.array([0.5, -0.2, 0.0], dtype=np.float32)
CALIB = RNG.uniform(0, 1, size=(40, 6)).astype(np.float32)


@pytest.fixture(scope="module")
def interpreter():
    from ai_edge_litert.interpreter import Interpreter

    return Interpreter(model_content=check.dense_tflite_int8(W, B, CALIB))


def test_tflite_weights_are_per_channel_symmetric(interpreter):
    kernel = next(d for d in interpreter.get_tensor_details() if tuple(d["shape"]) == (3, 6))
    scales, zero_points, axis = check.tflite_quant_params(kernel)
    np.testing.assert_allclose(scales, np.abs(W).max(axis=0) / 127, rtol=1e-6)
    assert axis == 0 and not zero_points.any()


def test_tflite_input_is_affine_int8_from_the_calibration_range(interpreter):
    (scale,), (zero_point,), _ = check.tflite_quant_params(interpreter.get_input_details()[0])
    _, s_ours, z_ours = qz.quantize_affine(CALIB, signed=True)
    np.testing.assert_allclose(scale, s_ours, rtol=1e-5)
    assert zero_point == int(z_ours)


def test_ort_static_dynamic_and_uint8_scales():
    model = check.dense_onnx(W, B)
    static = check.ort_quantized_initializers(model, CALIB)
    dynamic = check.ort_quantized_initializers(model)
    unsigned = check.ort_quantized_initializers(model, CALIB, activation_type="QUInt8")
    for found in (static, dynamic):
        np.testing.assert_allclose(found["W_scale"], np.abs(W).max() / 127, rtol=1e-6)
    _, s_x, z_x = qz.quantize_affine(CALIB, signed=True)
    np.testing.assert_allclose(static["x_scale"], s_x, rtol=1e-5)
    assert int(static["x_zero_point"]) == int(z_x) and static["x_zero_point"].dtype == np.int8
    assert unsigned["x_zero_point"].dtype == np.uint8 and "x_scale" not in dynamic


def test_quantizing_leaves_the_root_logger_level_as_it_was(caplog):
    """Silencing ORT's advice must not silence every later warning in the process."""
    caplog.set_level(logging.WARNING)  # restored by pytest after the test
    check.ort_quantized_initializers(check.dense_onnx(W, B))
    assert logging.getLogger().level == logging.WARNING


def test_converting_leaves_the_tensorflow_logger_level_as_it_was(caplog):
    """Hiding the converter's notes must not hide TensorFlow's later warnings in the notebook."""
    caplog.set_level(logging.INFO, logger="tensorflow")  # restored by pytest after the test
    check.dense_tflite_int8(W, B, CALIB)
    assert logging.getLogger("tensorflow").level == logging.INFO


@pytest.mark.parametrize(
    "call",
    [
        lambda: check.dense_onnx(W, B[:2]),
        lambda: check.dense_tflite_int8(W, B, CALIB[:, :5]),
        lambda: check.tflite_quant_params({"name": "x"}),
        lambda: check.ort_quantized_initializers(check.dense_onnx(W, B), CALIB, "int4"),
    ],
)
def test_bad_input_raises_a_one_line_value_error(call):
    with pytest.raises(ValueError, match=r"shape|quantization_parameters|activation_type"):
        call()


def test_figures_have_labelled_axes_and_refuse_mismatched_lengths():
    x = np.linspace(0.1, 0.3, 50)
    s = 0.0268
    bits = np.arange(2, 6)
    figures = [
        qplots.round_trip_error(x, x - np.round(x / s) * s, s, marked=0.2),
        qplots.column_errors(np.ones(3), np.ones(3) / 2),
        qplots.bit_width_curves(bits, {"a": 1 / bits}, {"a": bits / 10}, 1 / bits, 0.5),
    ]
    axes = [ax for fig in figures for ax in fig.axes]
    assert len(axes) == 4 and all(ax.get_xlabel() and ax.get_ylabel() for ax in axes)
    with pytest.raises(ValueError, match="same length"):
        qplots.column_errors(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="same length"):
        qplots.bit_width_curves(bits, {"a": 1 / bits}, {"a": bits[:2]}, 1 / bits, 0.5)
    plt.close("all")
