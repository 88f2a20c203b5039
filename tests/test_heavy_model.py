"""The compute-heavy serving model (mlops_course.heavy_model): input recipe, reproducible ONNX
names, the command line, and (slow) a complete export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from mlops_course import heavy_model
from mlops_course.data import load_digits_split
from mlops_course.model_card import read_card, verify_files
from mlops_course.runtime import OnnxRunner

MODELS = Path(__file__).resolve().parents[1] / "models"


def test_upsample_digits_turns_each_pixel_into_a_block_in_three_channels():
    x = load_digits_split().x_test[:3]
    big = heavy_model.upsample_digits(x)
    assert big.shape == (3, 96, 96, 3) and big.dtype == np.float32 and big.flags.c_contiguous
    np.testing.assert_array_equal(big[:, ::12, ::12, 0], x[..., 0])  # block corners
    np.testing.assert_array_equal(big[:, 11::12, 11::12, 0], x[..., 0])  # opposite corners
    np.testing.assert_array_equal(big[..., 0], big[..., 2])
    assert big.min() == x.min() and big.max() == x.max()


def test_upsample_digits_as_uint8_gives_the_grey_levels_0_to_16():
    x = load_digits_split().x_test[:3]
    pixels = heavy_model.upsample_digits(x, "uint8")
    assert pixels.dtype == np.uint8 and pixels.shape == (3, 96, 96, 3) and pixels.max() == 16
    np.testing.assert_array_equal(pixels / np.float32(16), heavy_model.upsample_digits(x))


def test_upsample_digits_refuses_other_shapes_and_dtypes():
    with pytest.raises(ValueError, match=r"\(n, 8, 8, 1\)"):
        heavy_model.upsample_digits(np.zeros((2, 8, 8)))
    with pytest.raises(ValueError, match="float32 or uint8"):
        heavy_model.upsample_digits(np.zeros((2, 8, 8, 1)), "int8")


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
        heavy_model._canonical_names(graph)
    assert first.SerializeToString() == second.SerializeToString()
    assert [t.name for t in first.initializer] == ["shared_const_0", "shared_const_1"]
    assert first.node[0].output[0] == first.node[1].input[0] == "a__0:0"


def test_committed_model_is_a_mobilenet_with_the_promised_input():
    card_path = MODELS / heavy_model.NAME / "1" / "card.json"
    card = read_card(card_path)
    assert verify_files(card, card_path.parent) == []
    assert card.input.shape == (None, *heavy_model.SHAPE)
    assert (card.input.dtype, card.input.scale, card.input.zero_point) == ("uint8", 1 / 16, 0)
    assert card.max_batch == heavy_model.MAX_BATCH
    assert card.file().size_bytes < 3 * 2**20
    graph = onnx.load(card_path.parent / card.default_file).graph
    convolutions = sum(node.op_type == "Conv" for node in graph.node)
    assert convolutions >= 50, f"{convolutions} convolutions: not MobileNetV2"
    assert card.training["parameters"] > 400_000


def test_command_line_errors_are_short_messages(tmp_path, capsys):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    with pytest.raises(SystemExit) as exit_:
        heavy_model.main(["--out", str(not_a_folder)])
    assert exit_.value.code == 2 and "is not a folder" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        heavy_model.main(["--out", str(tmp_path), "--epochs", "0"])
    assert "whole number >= 1" in capsys.readouterr().err


@pytest.mark.slow
def test_export_writes_a_verified_version_folder(tmp_path):
    card = heavy_model.export_mobilenet(tmp_path, version=3, epochs=1, log=lambda _: None)
    folder = tmp_path / "mobilenet" / "3"
    assert sorted(p.name for p in folder.iterdir()) == ["card.json", "model.onnx"]
    assert verify_files(card, folder) == [] and card.version == 3
    assert card.training["epochs"] == 1 and 0.0 <= card.metrics["accuracy"] <= 1.0
    x = heavy_model.upsample_digits(load_digits_split().x_test[:16], "uint8")
    probabilities = OnnxRunner(folder / "model.onnx").predict(x)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_the_committed_model_takes_pixels_and_refuses_scaled_floats():
    """The graph divides by 16 itself: pixels in, the float network's answer out."""
    runner = OnnxRunner(MODELS / heavy_model.NAME / "1" / "model.onnx")
    x = load_digits_split().x_test[:8]
    assert runner.input_dtype == np.uint8
    with pytest.raises(ValueError, match="takes uint8 input; got float32"):
        runner.predict(heavy_model.upsample_digits(x))
    graph = onnx.load(MODELS / heavy_model.NAME / "1" / "model.onnx").graph
    assert [n.op_type for n in graph.node[:2]] == ["Cast", "Mul"]
    probabilities = runner.predict(heavy_model.upsample_digits(x, "uint8"))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
