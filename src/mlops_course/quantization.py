"""Integer quantization from first principles: scales, zero points and int8 matrix products.

Introduced in notebooks/04_quantization_math.ipynb, which derives every formula here step by
step and checks the scales against the ones TFLite's converter and ONNX Runtime's quantizer choose.

Conventions (the same as TFLite and ONNX Runtime):

* real value ``r`` and integer ``q`` are related by ``r ≈ scale · (q − zero_point)``;
* symmetric quantization uses the narrow signed range ``[−(2^(b−1) − 1), 2^(b−1) − 1]`` (int8:
  −127…127) with ``zero_point = 0`` and ``scale = max|r| / (2^(b−1) − 1)``;
* affine quantization uses the unsigned range ``[0, 2^b − 1]`` (uint8: 0…255), stretches the
  real range to include 0 and picks an integer zero point, so real 0 is represented exactly;
* rounding is NumPy's round-half-to-even (TFLite rounds halves away from zero; the two differ
  only for values exactly halfway between two integers);
* a tensor whose range is zero (all zeros) gets ``scale = 1`` instead of a division by zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_BITS = 2
MAX_BITS = 16

INT32_MAX = 2**31 - 1
# Worst product of two int8 values: (−128)·(−128) = 2^14. A sum of K of them stays within int32
# while K · 2^14 ≤ 2^31 − 1, so K ≤ 131071 = 2^17 − 1. (With narrow-range operands in −127…127,
# as quantize_symmetric produces, K · 127 · 127 ≤ 2^31 − 1 would allow K ≤ 133144; we use
# the bound that holds for every int8 value.)
MAX_INT8_PRODUCT = 128 * 128
MAX_K = INT32_MAX // MAX_INT8_PRODUCT


def _check_bits(bits: int) -> int:
    if isinstance(bits, bool) or not isinstance(bits, int | np.integer):
        raise ValueError(f"bits must be an integer in {MIN_BITS}..{MAX_BITS}, got {bits!r}")
    if not MIN_BITS <= bits <= MAX_BITS:
        raise ValueError(f"bits must be in {MIN_BITS}..{MAX_BITS}, got {bits}")
    return int(bits)


def _as_finite_float(x: np.ndarray) -> np.ndarray:
    """``x`` as float64, or a ValueError naming the problem when it holds NaN or ±inf."""
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"expected a real-valued numeric array, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if arr.size == 0:
        raise ValueError("cannot quantize an empty array")
    if not np.all(np.isfinite(arr)):
        bad = "NaN" if np.isnan(arr).any() else "inf"
        raise ValueError(f"cannot quantize a tensor that contains {bad}: the scale would be {bad}")
    return arr


def _channel_axis(arr: np.ndarray, axis: int | None) -> int | None:
    if axis is None:
        return None
    if not -arr.ndim <= axis < arr.ndim:
        raise ValueError(f"axis {axis} is out of range for an array with {arr.ndim} dimensions")
    return axis % arr.ndim


def _reduce(arr: np.ndarray, func, axis: int | None) -> np.ndarray:
    """Reduce over every axis except the channel axis (over everything when axis is None)."""
    if axis is None:
        return np.asarray(func(arr))
    others = tuple(i for i in range(arr.ndim) if i != axis)
    return np.asarray(func(arr, axis=others)) if others else arr.copy()


def _broadcast(param: np.ndarray | float, ndim: int, axis: int | None) -> np.ndarray:
    """Shape a per-channel parameter so it broadcasts along ``axis`` of an ``ndim`` array."""
    param = np.asarray(param)
    if axis is None or param.ndim == 0:
        return param
    shape = [1] * ndim
    shape[axis] = param.size
    return param.reshape(shape)


def _safe_scale(span: np.ndarray, levels: int) -> np.ndarray:
    """``span / levels``, with 1.0 for an all-zero range and no scale below the smallest normal."""
    scale = span / levels
    if not np.all(np.isfinite(scale)):
        raise ValueError("the tensor's range overflows float64; rescale the data first")
    scale = np.where(span > 0, np.maximum(scale, np.finfo(np.float64).tiny), 1.0)
    return scale


def _int_dtype(bits: int, signed: bool) -> np.dtype:
    if bits <= 8:
        return np.dtype(np.int8 if signed else np.uint8)
    return np.dtype(np.int16 if signed else np.uint16)


def qrange(bits: int = 8, *, signed: bool = True, narrow: bool = False) -> tuple[int, int]:
    """The integer range ``(qmin, qmax)`` of a ``bits``-bit type.

    Signed: ``[−2^(b−1), 2^(b−1) − 1]``, or ``[−(2^(b−1) − 1), 2^(b−1) − 1]`` when ``narrow``;
    unsigned: ``[0, 2^b − 1]``. Introduced in notebooks/04_quantization_math.ipynb.
    """
    bits = _check_bits(bits)
    if signed:
        qmax = 2 ** (bits - 1) - 1
        return (-qmax if narrow else -qmax - 1), qmax
    return 0, 2**bits - 1


def quantize_symmetric(
    x: np.ndarray, bits: int = 8, axis: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric quantization: ``S = max|x| / (2^(b−1) − 1)``, ``q = round(x / S)``.

    Returns ``(q, scale)``: ``q`` is int8 (bits ≤ 8) or int16 in the narrow range
    ``[−(2^(b−1) − 1), 2^(b−1) − 1]``; ``scale`` is a float64 scalar array, or one scale per slice
    along ``axis`` (per-channel). Zero point is 0. Introduced in
    notebooks/04_quantization_math.ipynb.
    """
    bits = _check_bits(bits)
    arr = _as_finite_float(x)
    axis = _channel_axis(arr, axis)
    qmin, qmax = qrange(bits, signed=True, narrow=True)
    scale = _safe_scale(_reduce(np.abs(arr), np.max, axis), qmax)
    q = np.clip(np.rint(arr / _broadcast(scale, arr.ndim, axis)), qmin, qmax)
    return q.astype(_int_dtype(bits, signed=True)), scale


def affine_params(
    rmin: np.ndarray | float, rmax: np.ndarray | float, bits: int = 8, *, signed: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Scale and zero point for the real range ``[rmin, rmax]`` (stretched to include 0).

    ``S = (rmax − rmin) / (qmax − qmin)`` and ``Z = round(qmin − rmin / S)`` clipped to the range,
    so that real 0 maps to the integer ``Z`` exactly. Unsigned (uint8-like) by default; with
    ``signed=True`` the range is ``[−2^(b−1), 2^(b−1) − 1]`` as TFLite and ONNX Runtime use for
    int8 activations (same scale, zero point shifted by ``2^(b−1)``). Introduced in
    notebooks/04_quantization_math.ipynb.
    """
    bits = _check_bits(bits)
    rmin, rmax = _as_finite_float(rmin), _as_finite_float(rmax)
    if np.any(rmin > rmax):
        raise ValueError("rmin must not exceed rmax")
    lo, hi = np.minimum(rmin, 0.0), np.maximum(rmax, 0.0)
    qmin, qmax = qrange(bits, signed=signed)
    with np.errstate(over="ignore"):  # an overflowing span becomes inf: _safe_scale rejects it
        span = hi - lo
    scale = _safe_scale(span, qmax - qmin)
    zero_point = np.clip(np.rint(qmin - lo / scale), qmin, qmax).astype(np.int64)
    return scale, zero_point


def quantize_affine(
    x: np.ndarray, bits: int = 8, axis: int | None = None, *, signed: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Affine (zero-point) quantization: ``q = clip(round(x / S) + Z, 0, 2^b − 1)``.

    Returns ``(q, scale, zero_point)``: ``q`` is uint8 (bits ≤ 8) or uint16, ``zero_point`` an
    integer (int64) that represents real 0 exactly; both are per-channel along ``axis`` when it is
    given. ``signed=True`` gives the int8-style range instead (see :func:`affine_params`).
    Introduced in notebooks/04_quantization_math.ipynb.
    """
    bits = _check_bits(bits)
    arr = _as_finite_float(x)
    axis = _channel_axis(arr, axis)
    scale, zero_point = affine_params(
        _reduce(arr, np.min, axis), _reduce(arr, np.max, axis), bits, signed=signed
    )
    qmin, qmax = qrange(bits, signed=signed)
    s = _broadcast(scale, arr.ndim, axis)
    z = _broadcast(zero_point, arr.ndim, axis)
    q = np.clip(np.rint(arr / s) + z, qmin, qmax)
    return q.astype(_int_dtype(bits, signed=signed)), scale, zero_point


def quantize(x: np.ndarray, scale: float, zero_point: int, dtype: np.dtype) -> np.ndarray:
    """Real values → integers with given parameters: ``clip(round(x / scale) + zero_point)``.

    Computed in float32 and clipped to ``dtype``'s range, as a TFLite model's int8/uint8 input
    expects (its scale and zero point are stored in the file). Introduced in
    notebooks/06_optimize_models.ipynb (the runners and lesson 12's Edge TPU helpers use it).
    """
    info = np.iinfo(dtype)
    q = np.round(np.asarray(x, dtype=np.float32) / scale) + zero_point
    return np.clip(q, info.min, info.max).astype(dtype)


def dequantize(
    q: np.ndarray,
    scale: np.ndarray | float,
    zero_point: np.ndarray | int = 0,
    axis: int | None = None,
    dtype: np.dtype | type = np.float64,
) -> np.ndarray:
    """Back to real values: ``r* = scale · (q − zero_point)``, computed in ``dtype``.

    ``scale`` and ``zero_point`` are scalars, or one value per slice along ``axis``. float64 by
    default; the runners ask for float32 (a model's outputs). Introduced in
    notebooks/04_quantization_math.ipynb.
    """
    q = np.asarray(q)
    axis = _channel_axis(q, axis)
    s = _broadcast(np.asarray(scale, dtype=dtype), q.ndim, axis)
    z = _broadcast(np.asarray(zero_point, dtype=np.int64).astype(dtype), q.ndim, axis)
    return s * (q.astype(dtype) - z)


@dataclass(frozen=True)
class Int8MatmulResult:
    """What :func:`int8_matmul` computed, kept so each stage can be inspected.

    ``acc``: the int32 accumulator ``a_q @ b_q``; ``real``: the real value it stands for,
    ``acc · s_a · s_b`` (the float product of the dequantized inputs, exact in float64);
    ``q``: the int8 output after requantization; ``scale``: the output scale;
    ``multiplier``: the real multiplier ``M = s_a · s_b / s_out`` applied to ``acc``.
    Introduced in notebooks/04_quantization_math.ipynb.
    """

    acc: np.ndarray
    real: np.ndarray
    q: np.ndarray
    scale: float
    multiplier: np.ndarray

    def dequantized(self) -> np.ndarray:
        """The int8 output mapped back to real values, ``q · s_out``."""
        return self.q.astype(np.float64) * self.scale


def int8_matmul(
    a_q: np.ndarray,
    a_scale: float,
    b_q: np.ndarray,
    b_scale: np.ndarray | float,
    out_scale: float | None = None,
) -> Int8MatmulResult:
    """Symmetric int8 × int8 matrix product with int32 accumulation and int8 requantization.

    ``a_q`` (M, K) and ``b_q`` (K, N) are int8 with zero point 0; ``a_scale`` is one scale,
    ``b_scale`` one scale or one per output column (per-channel weights, shape (N,)). The
    product is accumulated in int32, which cannot overflow because K ≤ ``MAX_K`` = 131071
    (K · 128 · 128 ≤ 2^31 − 1; a larger K raises ValueError). The accumulator is requantized to
    int8 with the real multiplier ``M = s_a · s_b / s_out``: ``q = clip(round(M · acc), −127,
    127)``. ``out_scale`` defaults to ``max|real| / 127`` (symmetric, from this very product).
    Introduced in notebooks/04_quantization_math.ipynb.
    """
    a_q, b_q = np.asarray(a_q), np.asarray(b_q)
    if a_q.dtype != np.int8 or b_q.dtype != np.int8:
        raise ValueError(f"int8_matmul needs int8 operands, got {a_q.dtype} and {b_q.dtype}")
    if a_q.ndim != 2 or b_q.ndim != 2 or a_q.shape[1] != b_q.shape[0]:
        raise ValueError(f"shapes {a_q.shape} and {b_q.shape} do not form a matrix product")
    k = a_q.shape[1]
    if k > MAX_K:
        raise ValueError(
            f"K={k} could overflow the int32 accumulator: K · 128 · 128 must stay ≤ 2^31 − 1, "
            f"so K ≤ {MAX_K}; split the product into chunks"
        )
    s_a = _as_finite_float(a_scale)
    s_b = _as_finite_float(b_scale)
    if s_a.ndim != 0 or s_b.ndim > 1 or (s_b.ndim == 1 and s_b.size != b_q.shape[1]):
        raise ValueError("a_scale must be a scalar and b_scale a scalar or one value per column")
    if np.any(s_a <= 0) or np.any(s_b <= 0):
        raise ValueError("scales must be positive")
    acc = np.matmul(a_q.astype(np.int32), b_q.astype(np.int32), dtype=np.int32)
    real = acc.astype(np.float64) * (s_a * s_b)
    if out_scale is None:
        out_scale = float(_safe_scale(np.abs(real).max(initial=0.0), 127))
    out_scale = float(_as_finite_float(out_scale))
    if out_scale <= 0:
        raise ValueError("out_scale must be positive")
    multiplier = s_a * s_b / out_scale
    q = np.clip(np.rint(acc * multiplier), -127, 127).astype(np.int8)
    return Int8MatmulResult(acc=acc, real=real, q=q, scale=out_scale, multiplier=multiplier)
