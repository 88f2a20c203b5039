"""The figures of notebooks/04_quantization_math.ipynb, so each lesson cell reads as one idea.

Every function draws one labelled figure from numbers the lesson computed and returns it; the
lesson calls ``plt.show()``.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure


def _same_length(*arrays: np.ndarray) -> None:
    lengths = [len(a) for a in arrays]
    if len(set(lengths)) != 1:
        raise ValueError(f"the arrays must have the same length, got lengths {lengths}")


def round_trip_error(x: np.ndarray, error: np.ndarray, scale: float, marked: float) -> Figure:
    """The saw-tooth R − R* over ``x``, the ±S/2 bound, the multiples of S, and the value
    ``marked``. Introduced in notebooks/04_quantization_math.ipynb.
    """
    _same_length(x, error)
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale}")
    fig, ax = plt.subplots(figsize=(8, 3.4), layout="constrained")
    ax.plot(x, error, lw=1, label="$R - R^*$")
    ax.axhline(scale / 2, color="red", ls="--", label="$\\pm S/2$")
    ax.axhline(-scale / 2, color="red", ls="--")
    steps = np.arange(np.ceil(x.min() / scale), np.floor(x.max() / scale) + 1) * scale
    ax.vlines(steps, -scale / 2, scale / 2, color="grey", lw=0.5, label="multiples of S")
    code = round(marked / scale)
    ax.plot(marked, marked - code * scale, "ko", label=f"R = {marked} → Q = {code}")
    ax.set(
        xlabel="real value R",
        ylabel="round-trip error R − R*",
        title=f"Symmetric int8 round-trip error, zoomed in (S = {scale:.4f})",
    )
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), fontsize=8, ncols=4)
    return fig


def column_errors(per_tensor: np.ndarray, per_channel: np.ndarray) -> Figure:
    """Mean |W − W*| per output column, one scale against one scale per column, as bars.

    Introduced in notebooks/04_quantization_math.ipynb.
    """
    _same_length(per_tensor, per_channel)
    fig, ax = plt.subplots(figsize=(8, 3))
    cols = np.arange(len(per_tensor))
    ax.bar(cols - 0.2, per_tensor, width=0.4, label="per-tensor scale")
    ax.bar(cols + 0.2, per_channel, width=0.4, label="per-channel scales")
    ax.set(
        xlabel="output column (digit class)",
        ylabel="mean |W - W*|",
        xticks=cols,
        title="int8 weight error per column: one scale vs one scale per column",
        ylim=(0, 1.35 * max(np.max(per_tensor), np.max(per_channel))),
    )
    ax.legend(loc="upper center", ncols=2)
    return fig


def bit_width_curves(
    bits: np.ndarray,
    rmse: dict[str, np.ndarray],
    accuracy: dict[str, np.ndarray],
    theory: np.ndarray,
    float_accuracy: float,
) -> Figure:
    """Left: weight RMSE per bit width (log scale), one curve per entry of ``rmse``, and the
    ``theory`` S/√12 dashed; right: test accuracy per entry of ``accuracy``, and the float32
    accuracy dashed. Introduced in notebooks/04_quantization_math.ipynb.
    """
    _same_length(bits, theory, *rmse.values(), *accuracy.values())
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    for (label, values), marker in zip(rmse.items(), "os^", strict=False):
        left.semilogy(bits, values, marker=marker, label=label)
    left.semilogy(bits, theory, "k--", lw=1, label="$S/\\sqrt{12}$ (per-tensor)")
    left.set(xlabel="bits", ylabel="RMSE of the weights (log scale)")
    left.set_title("Weight error halves with every bit")
    for (label, values), marker in zip(accuracy.items(), "os^", strict=False):
        right.plot(bits, values, marker=marker, label=label)
    right.axhline(float_accuracy, color="k", ls="--", lw=1, label="float32")
    right.set(
        xlabel="bits", ylabel="test accuracy", title="Digit classifier with quantized weights"
    )
    left.legend()
    right.legend(loc="lower right")
    return fig
