"""mlops_course.convert: canonical tf2onnx names, skl2onnx parity, TFLite modes."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from mlops_course import convert
from mlops_course.data import load_diabetes_split
from mlops_course.runtime import OnnxRunner
from mlops_course.train import train_diabetes_regressor


def _graph(counter: int, first_user: str) -> onnx.GraphProto:
    """A Relu6 chain as tf2onnx writes it: shared clip constants named after a user, and
    counters that depend on what the process converted before."""
    low = helper.make_tensor(f"{first_user}/Relu6_min__{counter}", TensorProto.FLOAT, [], [0.0])
    high = helper.make_tensor(
        f"{first_user}/Relu6_max__{counter + 1}", TensorProto.FLOAT, [], [6.0]
    )
    nodes = [
        helper.make_node("Clip", ["x", low.name, high.name], [f"a__{counter + 2}:0"], name="c1"),
        helper.make_node(
            "Clip", [f"a__{counter + 2}:0", low.name, high.name], ["y"], name=f"c__{counter + 3}"
        ),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    graph = helper.make_graph(nodes, "g", [x], [y], [low, high])
    graph.doc_string = f"converted from b'__inference_serve_{counter}'"
    return graph


def test_canonical_names_do_not_depend_on_earlier_conversions():
    first, second = _graph(146, "block_5"), _graph(241, "block_12")
    assert first.SerializeToString() != second.SerializeToString()
    for graph in (first, second):
        convert.canonical_names(graph)
    assert first.SerializeToString() == second.SerializeToString()
    assert [t.name for t in first.initializer] == ["shared_const_0", "shared_const_1"]
    assert first.node[0].output[0] == first.node[1].input[0] == "a__0:0"


def test_helper_constants_are_numbered_by_first_use_and_weights_keep_their_names():
    """tf2onnx names a deduplicated constant after whichever user it met first."""
    weight = helper.make_tensor("net/dense/kernel:0", TensorProto.FLOAT, [1], [2.0])
    unused = helper.make_tensor("Const__9", TensorProto.FLOAT, [1], [0.0])
    shape = helper.make_tensor("Reshape__71_shape", TensorProto.INT64, [1], [1])
    axes = helper.make_tensor("const_axes__3", TensorProto.INT64, [1], [0])
    nodes = [
        helper.make_node("Reshape", ["x", shape.name], ["r"], name="Reshape__71"),
        helper.make_node("Mul", ["r", weight.name], ["m"], name="net/dense/MatMul"),
        helper.make_node("Unsqueeze", ["m", axes.name], ["y"], name="Unsqueeze__40"),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1])
    graph = helper.make_graph(nodes, "g", [x], [y], [unused, axes, weight, shape])
    convert.canonical_names(graph)
    names = [t.name for t in graph.initializer]
    assert names == ["const_0", "net/dense/kernel:0", "const_1", "const_2"]
    assert [n.name for n in graph.node] == ["Reshape__0", "net/dense/MatMul", "Unsqueeze__1"]
    assert list(graph.node[2].input) == ["m", "const_1"]
    onnx.checker.check_graph(graph)


def test_sklearn_to_onnx_matches_scikit_learn(tmp_path):
    split = load_diabetes_split()
    pipeline = train_diabetes_regressor(split)
    runner = OnnxRunner(convert.sklearn_to_onnx(pipeline, tmp_path / "m.onnx", n_features=10))
    assert (runner.input_name, runner.output_name) == ("features", "prediction")
    ours = runner.predict(split.x_test).ravel()
    np.testing.assert_allclose(ours, pipeline.predict(split.x_test), rtol=1e-4, atol=1e-3)


def test_convert_tflite_refuses_an_unknown_mode(tmp_path):
    with pytest.raises(ValueError, match="mode must be one of"):
        convert.convert_tflite(tmp_path, "int4")
