"""Tests for mlops_course.quantization: worked example, properties, edge cases, TFLite/ORT."""

from __future__ import annotations

import contextlib
import io
import os
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mlops_course.quantization import (
    MAX_K,
    dequantize,
    int8_matmul,
    qrange,
    quantize,
    quantize_affine,
    quantize_symmetric,
)

# Finite values over a wide but float64-safe range (subnormals included), so that max − min
# cannot overflow. 1e-9 of a step absorbs the float64 rounding in x / S and S · q.
FINITE = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, allow_subnormal=True)
ARRAYS = hnp.arrays(
    np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=6), elements=FINITE
)
BITS = st.integers(2, 16)
SLACK = 1e-9


def _max_error_in_steps(x, q, scale, zero_point=0, axis=None) -> float:
    """Largest |x − dequantize(q)| measured in units of the (per-channel) step S."""
    err = np.abs(x - dequantize(q, scale, zero_point, axis))
    step = (
        scale
        if axis is None
        else np.expand_dims(scale, tuple(i for i in range(x.ndim) if i != axis % x.ndim))
    )
    return float(np.max(err / step))


# --- the worked example of lesson 04: R = [-0.9, 1.2, 3.4, 0.2, -2.5] ----------------------------


def test_worked_example_matches_the_lesson():
    r = np.array([-0.9, 1.2, 3.4, 0.2, -2.5])
    q, scale = quantize_symmetric(r)
    assert scale == pytest.approx(3.4 / 127)
    assert round(float(scale), 4) == 0.0268
    np.testing.assert_array_equal(q, [-34, 45, 127, 7, -93])
    assert q.dtype == np.int8
    np.testing.assert_allclose(dequantize(q, scale).round(3), [-0.910, 1.205, 3.400, 0.187, -2.490])


def test_affine_uint8_example_zero_is_exact():
    r = np.array([-0.9, 1.2, 3.4, 0.2, -2.5, 0.0])
    q, scale, zp = quantize_affine(r)
    assert q.dtype == np.uint8
    assert scale == pytest.approx((3.4 + 2.5) / 255)
    assert zp == round(2.5 / scale) == 108
    assert q[-1] == zp and dequantize(q, scale, zp)[-1] == 0.0


# --- properties --------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(x=ARRAYS, bits=BITS)
def test_symmetric_round_trip_within_half_a_step(x, bits):
    q, scale = quantize_symmetric(x, bits)
    qmin, qmax = qrange(bits, signed=True, narrow=True)
    assert q.min() >= qmin and q.max() <= qmax
    assert np.all(scale > 0)
    assert _max_error_in_steps(x, q, scale) <= 0.5 + SLACK


@settings(max_examples=200, deadline=None)
@given(x=ARRAYS, bits=BITS)
def test_affine_round_trip_within_half_a_step_and_zero_exact(x, bits):
    q, scale, zp = quantize_affine(x, bits)
    assert q.dtype == (np.uint8 if bits <= 8 else np.uint16)
    assert 0 <= q.min() and q.max() <= 2**bits - 1
    assert 0 <= zp <= 2**bits - 1 and isinstance(int(zp), int)
    assert dequantize(np.array([zp]), scale, zp)[0] == 0.0  # real 0 is exactly representable
    assert _max_error_in_steps(x, q, scale, zp) <= 0.5 + SLACK


@settings(max_examples=100, deadline=None)
@given(
    x=hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=3, max_side=5), elements=FINITE),
    data=st.data(),
)
def test_per_channel_scales_follow_the_axis(x, data):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    q, scale = quantize_symmetric(x, axis=axis)
    assert scale.shape == (x.shape[axis],)
    assert _max_error_in_steps(x, q, scale, 0, axis) <= 0.5 + SLACK
    for c in range(x.shape[axis]):  # each channel equals quantizing that slice on its own
        q_c, s_c = quantize_symmetric(np.take(x, c, axis=axis))
        np.testing.assert_array_equal(np.take(q, c, axis=axis), q_c)
        assert scale[c] == s_c
    qa, sa, za = quantize_affine(x, axis=axis)
    assert sa.shape == za.shape == (x.shape[axis],)
    assert _max_error_in_steps(x, qa, sa, za, axis) <= 0.5 + SLACK


def test_per_channel_is_never_worse_than_per_tensor():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(64, 10)) * np.geomspace(0.01, 10, 10)  # columns with very different ranges
    q_t, s_t = quantize_symmetric(w)
    q_c, s_c = quantize_symmetric(w, axis=1)
    err_t = np.abs(w - dequantize(q_t, s_t)).mean(axis=0)
    err_c = np.abs(w - dequantize(q_c, s_c, axis=1)).mean(axis=0)
    assert np.all(err_c <= err_t + 1e-15) and err_c[0] < err_t[0] / 100


# --- edge cases --------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(1,), (7,), (3, 4)])
def test_all_zero_tensor(shape):
    x = np.zeros(shape)
    q, scale = quantize_symmetric(x)
    assert scale == 1.0 and not q.any()
    qa, sa, za = quantize_affine(x)
    assert sa == 1.0 and za == 0 and not qa.any()
    qc, sc = quantize_symmetric(x.reshape(1, -1), axis=1)
    assert np.all(sc == 1.0) and not qc.any()


@pytest.mark.parametrize("value", [-3.5, -1e-30, 1e-300, 2.0, 5e-324])
def test_constant_tensor(value):
    x = np.full((2, 3), value)
    q, scale = quantize_symmetric(x)
    assert np.isfinite(scale) and scale > 0
    np.testing.assert_allclose(dequantize(q, scale), x, rtol=1e-12, atol=scale / 2)
    qa, sa, za = quantize_affine(x)
    assert np.isfinite(sa) and sa > 0
    np.testing.assert_allclose(dequantize(qa, sa, za), x, rtol=1e-12, atol=sa / 2)


def test_a_zero_channel_among_others():
    w = np.array([[0.0, 1.0], [0.0, -2.0]])
    q, scale = quantize_symmetric(w, axis=1)
    np.testing.assert_allclose(scale, [1.0, 2.0 / 127])
    np.testing.assert_array_equal(q, [[0, 64], [0, -127]])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("func", [quantize_symmetric, quantize_affine])
def test_nan_and_inf_are_rejected(func, bad):
    with pytest.raises(ValueError, match=r"NaN|inf"):
        func(np.array([0.5, bad, -1.0]))


@pytest.mark.parametrize("bits", [0, 1, 17, 32, 8.0, True])
@pytest.mark.parametrize("func", [quantize_symmetric, quantize_affine])
def test_unsupported_bit_widths_are_rejected(func, bits):
    with pytest.raises(ValueError, match="bits"):
        func(np.ones(3), bits=bits)


def test_bad_axis_and_empty_input_are_rejected():
    with pytest.raises(ValueError, match="axis"):
        quantize_symmetric(np.ones((2, 2)), axis=2)
    with pytest.raises(ValueError, match="empty"):
        quantize_affine(np.array([]))


def test_range_that_overflows_is_rejected():
    with pytest.raises(ValueError, match="overflow"):
        quantize_affine(np.array([-1e308, 1e308]))


# --- int8 matmul -------------------------------------------------------------------------------


def test_max_k_is_the_int32_bound():
    assert MAX_K * 128 * 128 <= 2**31 - 1 < (MAX_K + 1) * 128 * 128
    assert MAX_K == 131071


def test_int8_matmul_worst_case_at_max_k_does_not_overflow():
    a = np.full((1, MAX_K), -128, dtype=np.int8)
    b = np.full((MAX_K, 1), -128, dtype=np.int8)
    res = int8_matmul(a, 1.0, b, 1.0)
    assert res.acc.dtype == np.int32
    assert int(res.acc[0, 0]) == MAX_K * 128 * 128  # exact, computed with Python ints
    with pytest.raises(ValueError, match="overflow"):
        int8_matmul(np.zeros((1, MAX_K + 1), np.int8), 1.0, np.zeros((MAX_K + 1, 1), np.int8), 1.0)


@settings(max_examples=100, deadline=None)
@given(
    dims=st.tuples(st.integers(1, 5), st.integers(1, 40), st.integers(1, 5)),
    data=st.data(),
)
def test_int8_matmul_accumulator_is_exact(dims, data):
    m, k, n = dims
    a = data.draw(hnp.arrays(np.int8, (m, k)))
    b = data.draw(hnp.arrays(np.int8, (k, n)))
    res = int8_matmul(a, 0.02, b, 0.01)
    exact = [
        [sum(int(a[i, t]) * int(b[t, j]) for t in range(k)) for j in range(n)] for i in range(m)
    ]
    np.testing.assert_array_equal(res.acc, np.array(exact, dtype=np.int64))
    np.testing.assert_allclose(res.real, res.acc * 0.02 * 0.01, rtol=1e-12)
    assert res.q.dtype == np.int8 and np.abs(res.q.astype(int)).max() <= 127
    # requantization error is at most half an output step
    assert np.max(np.abs(res.dequantized() - res.real)) <= res.scale * (0.5 + SLACK)


def test_int8_matmul_tracks_the_float_product():
    rng = np.random.default_rng(1)
    a, w = rng.normal(size=(32, 64)), rng.normal(size=(64, 16)) * np.linspace(0.1, 2, 16)
    a_q, s_a = quantize_symmetric(a)
    w_q, s_w = quantize_symmetric(w, axis=1)
    res = int8_matmul(a_q, s_a, w_q, s_w)
    ref = a @ w
    assert res.scale == pytest.approx(np.abs(res.real).max() / 127)
    assert np.max(np.abs(res.dequantized() - ref)) < 0.02 * np.abs(ref).max()
    np.testing.assert_allclose(res.multiplier, s_a * s_w / res.scale)


def test_int8_matmul_rejects_wrong_inputs():
    a = np.ones((2, 3), np.int8)
    with pytest.raises(ValueError, match="int8"):
        int8_matmul(a.astype(np.int16), 1.0, a.T.copy(), 1.0)
    with pytest.raises(ValueError, match="shapes"):
        int8_matmul(a, 1.0, a, 1.0)
    with pytest.raises(ValueError, match="positive"):
        int8_matmul(a, 0.0, a.T.copy(), 1.0)
    with pytest.raises(ValueError, match="NaN"):
        int8_matmul(a, np.nan, a.T.copy(), 1.0)


# --- cross-checks against the scales real converters choose ------------------------------------

RNG_SEED = 7


def _dense_weights_and_calibration():
    rng = np.random.default_rng(RNG_SEED)
    w = (rng.normal(size=(16, 4)) * [0.05, 0.5, 1.0, 3.0]).astype(np.float32)
    b = rng.normal(size=4).astype(np.float32)
    calib = (rng.normal(size=(64, 16)) * 2 + 0.7).astype(np.float32)
    return w, b, calib


@pytest.mark.slow
def test_scales_match_onnxruntime_quantizer(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )

    w, b, calib = _dense_weights_and_calibration()
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "W"], ["xw"]),
            helper.make_node("Add", ["xw", "b"], ["y"]),
        ],
        "dense",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 4])],
        [numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    onnx.save(model, tmp_path / "f.onnx")

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.batches = iter([{"x": calib[i : i + 16]} for i in range(0, len(calib), 16)])

        def get_next(self):
            return next(self.batches, None)

    def params(path):
        inits = onnx.load(path).graph.initializer
        return {t.name: numpy_helper.to_array(t) for t in inits}

    for per_channel, act in [(False, QuantType.QInt8), (True, QuantType.QUInt8)]:
        out = tmp_path / f"q_{per_channel}.onnx"
        quantize_static(
            tmp_path / "f.onnx", out, Reader(), per_channel=per_channel, activation_type=act
        )
        p = params(out)
        # weights: symmetric int8, zero point 0, scale = max|w| / 127 (per column if per-channel)
        _, s_w = quantize_symmetric(w, axis=1 if per_channel else None)
        np.testing.assert_allclose(p["W_scale"], s_w, rtol=1e-6)
        assert not p["W_zero_point"].any()
        # activations: asymmetric from the calibration min/max, range stretched to include 0
        _, s_x, z_x = quantize_affine(calib, signed=act == QuantType.QInt8)
        np.testing.assert_allclose(p["x_scale"], s_x, rtol=1e-6)
        assert int(p["x_zero_point"]) == int(z_x)
        y = calib @ w + b
        _, s_y, z_y = quantize_affine(y, signed=act == QuantType.QInt8)
        np.testing.assert_allclose(p["y_scale"], s_y, rtol=1e-5)
        assert abs(int(p["y_zero_point"]) - int(z_y)) <= 0

    quantize_dynamic(tmp_path / "f.onnx", tmp_path / "d.onnx")
    np.testing.assert_allclose(
        params(tmp_path / "d.onnx")["W_scale"], quantize_symmetric(w)[1], rtol=1e-6
    )


@pytest.mark.slow
def test_scales_match_tflite_converter():
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    tf = pytest.importorskip("tensorflow")
    interpreter_mod = pytest.importorskip("ai_edge_litert.interpreter")

    w, b, calib = _dense_weights_and_calibration()
    model = tf.keras.Sequential([tf.keras.Input((16,)), tf.keras.layers.Dense(4)])
    model.layers[0].set_weights([w, b])

    def representative():
        for i in range(0, len(calib), 16):
            yield [calib[i : i + 16]]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = conv.inference_output_type = tf.int8
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        blob = conv.convert()
    interp = interpreter_mod.Interpreter(model_content=blob)
    details = interp.get_tensor_details()
    by_shape = {tuple(d["shape"]): d for d in details}

    x_det = interp.get_input_details()[0]
    _, s_x, z_x = quantize_affine(calib, signed=True)  # int8 activations, range includes 0
    np.testing.assert_allclose(x_det["quantization_parameters"]["scales"], [s_x], rtol=1e-6)
    assert x_det["quantization_parameters"]["zero_points"].tolist() == [int(z_x)]

    y_det = interp.get_output_details()[0]
    _, s_y, z_y = quantize_affine(calib @ w + b, signed=True)
    np.testing.assert_allclose(y_det["quantization_parameters"]["scales"], [s_y], rtol=1e-5)
    assert y_det["quantization_parameters"]["zero_points"].tolist() == [int(z_y)]

    # weights: stored (out, in), symmetric per output channel (quantized_dimension 0), zp 0
    w_det = by_shape[(4, 16)]
    q_w, s_w = quantize_symmetric(w, axis=1)
    qp = w_det["quantization_parameters"]
    assert qp["quantized_dimension"] == 0 and not qp["zero_points"].any()
    np.testing.assert_allclose(qp["scales"], s_w, rtol=1e-6)
    np.testing.assert_array_equal(interp.get_tensor(w_det["index"]), q_w.T)


# --- with given parameters, as a TFLite file stores them (the runners, lesson 12) ----------


def test_quantize_round_trip_is_within_half_a_step():
    x = np.linspace(0, 1, 101, dtype=np.float32)
    scale, zero_point = 1 / 255, -128
    q = quantize(x, scale, zero_point, np.int8)
    assert q.dtype == np.int8 and q.min() == -128 and q.max() == 127
    assert np.abs(dequantize(q, scale, zero_point) - x).max() <= scale / 2 + 1e-7
    assert quantize(np.array([5.0]), scale, zero_point, np.int8)[0] == 127  # clipped


def test_dequantize_in_float32_is_the_float32_formula_bit_for_bit():
    """What the TFLite runner returned before quantization.py was its one home."""
    q = np.arange(-128, 128, dtype=np.int8)
    for scale, zero_point in [(0.00390625, -128), (np.float32(0.0123).item(), 3), (0.1, 0)]:
        ours = dequantize(q, scale, zero_point, dtype=np.float32)
        expected = (scale * (q.astype(np.float32) - zero_point)).astype(np.float32)
        assert ours.dtype == np.float32
        np.testing.assert_array_equal(ours, expected)
    assert dequantize(q, 0.1, 0).dtype == np.float64
