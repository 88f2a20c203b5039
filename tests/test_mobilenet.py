"""The serving benchmark's compute-heavy model (mlops_course.mobilenet): input recipe, the
committed model, the command line, and (slow) a complete export."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from paths import MODELS

from mlops_course import mobilenet
from mlops_course.data import load_digits_split
from mlops_course.model_card import read_card, verify_files
from mlops_course.runtime import OnnxRunner


def test_upsample_digits_turns_each_pixel_into_a_block_in_three_channels():
    x = load_digits_split().x_test[:3]
    big = mobilenet.upsample_digits(x)
    assert big.shape == (3, 96, 96, 3) and big.dtype == np.float32 and big.flags.c_contiguous
    np.testing.assert_array_equal(big[:, ::12, ::12, 0], x[..., 0])  # block corners
    np.testing.assert_array_equal(big[:, 11::12, 11::12, 0], x[..., 0])  # opposite corners
    np.testing.assert_array_equal(big[..., 0], big[..., 2])
    assert big.min() == x.min() and big.max() == x.max()


def test_upsample_digits_as_uint8_gives_the_grey_levels_0_to_16():
    x = load_digits_split().x_test[:3]
    pixels = mobilenet.upsample_digits(x, "uint8")
    assert pixels.dtype == np.uint8 and pixels.shape == (3, 96, 96, 3) and pixels.max() == 16
    np.testing.assert_array_equal(pixels / np.float32(16), mobilenet.upsample_digits(x))


def test_upsample_digits_refuses_other_shapes_and_dtypes():
    with pytest.raises(ValueError, match=r"\(n, 8, 8, 1\)"):
        mobilenet.upsample_digits(np.zeros((2, 8, 8)))
    with pytest.raises(ValueError, match="float32 or uint8"):
        mobilenet.upsample_digits(np.zeros((2, 8, 8, 1)), "int8")


def test_committed_model_is_a_mobilenet_with_the_promised_input():
    card_path = MODELS / mobilenet.NAME / "1" / "card.json"
    card = read_card(card_path)
    assert verify_files(card, card_path.parent) == []
    assert card.input.shape == (None, *mobilenet.SHAPE)
    assert (card.input.dtype, card.input.scale, card.input.zero_point) == ("uint8", 1 / 16, 0)
    assert card.max_batch == mobilenet.MAX_BATCH
    assert card.file().size_bytes < 3 * 2**20
    graph = onnx.load(card_path.parent / card.default_file).graph
    convolutions = sum(node.op_type == "Conv" for node in graph.node)
    assert convolutions >= 50, f"{convolutions} convolutions: not MobileNetV2"
    assert card.training["parameters"] > 400_000


def test_command_line_errors_are_short_messages(tmp_path, capsys):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    with pytest.raises(SystemExit) as exit_:
        mobilenet.main(["--out", str(not_a_folder)])
    assert exit_.value.code == 2 and "is not a folder" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        mobilenet.main(["--out", str(tmp_path), "--epochs", "0"])
    assert "whole number >= 1" in capsys.readouterr().err


@pytest.mark.slow
def test_export_writes_a_verified_version_folder(tmp_path):
    card = mobilenet.export_mobilenet(tmp_path, version=3, epochs=1, log=lambda _: None)
    folder = tmp_path / "mobilenet" / "3"
    assert sorted(p.name for p in folder.iterdir()) == ["card.json", "model.onnx"]
    assert verify_files(card, folder) == [] and card.version == 3
    assert card.training["epochs"] == 1 and 0.0 <= card.metrics["accuracy"] <= 1.0
    x = mobilenet.upsample_digits(load_digits_split().x_test[:16], "uint8")
    probabilities = OnnxRunner(folder / "model.onnx").predict(x)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_the_committed_model_takes_pixels_and_refuses_scaled_floats():
    """The graph divides by 16 itself: pixels in, the float network's answer out."""
    runner = OnnxRunner(MODELS / mobilenet.NAME / "1" / "model.onnx")
    x = load_digits_split().x_test[:8]
    assert runner.input_dtype == np.uint8
    with pytest.raises(ValueError, match="takes uint8 input; got float32"):
        runner.predict(mobilenet.upsample_digits(x))
    graph = onnx.load(MODELS / mobilenet.NAME / "1" / "model.onnx").graph
    assert [n.op_type for n in graph.node[:2]] == ["Cast", "Mul"]
    probabilities = runner.predict(mobilenet.upsample_digits(x, "uint8"))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
