"""Edge TPU preflight: float models fail ("Model not quantized"), the full-int8 batch-1 course
model passes, unsupported operators and too-new operator versions are named, unreadable files
give a clear error and exit status 2, and the command line prints the table.

Fast tests read the committed model repository; tests marked ``slow`` build tiny models with
TensorFlow's converter (the same conversion the course uses) to exercise each rule.
"""

from __future__ import annotations

from pathlib import Path

import flatbuffers
import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema

from mlops_course.edgetpu import __main__ as cli
from mlops_course.edgetpu.preflight import PreflightError, preflight, read_model

FOLDER = Path(__file__).resolve().parents[1] / "models" / "digits" / "1"
FP32, DYNAMIC, INT8 = (FOLDER / f"model_{v}.tflite" for v in ("fp32", "dynamic", "int8"))


def check(report, name: str):
    return next(c for c in report.checks if c.name == name)


def rewrite(src: Path, dst: Path, edit) -> Path:
    """Copy a .tflite file through the schema's object API, applying ``edit(model)`` on the way."""
    model = schema.ModelT.InitFromPackedBuf(src.read_bytes(), 0)
    edit(model)
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    dst.write_bytes(bytes(builder.Output()))
    return dst


def set_version(op: str, version: int):
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}

    def edit(model):
        for code in model.operatorCodes:
            if names[max(code.builtinCode, code.deprecatedBuiltinCode)] == op:
                code.version = version

    return edit


# --- the committed model repository -------------------------------------------------------


@pytest.mark.parametrize("path", [FP32, DYNAMIC], ids=["fp32", "dynamic-range"])
def test_float_models_fail_with_model_not_quantized(path):
    report = preflight(path)
    assert not report.compatible
    quantized = check(report, "every tensor quantized")
    assert not quantized.ok and "Model not quantized" in quantized.detail
    conv = report.ops[0]
    assert (conv.name, conv.maps) == ("CONV_2D", False) and "FLOAT32" in conv.why


def test_the_servers_int8_model_is_quantized_but_its_open_batch_does_not_map():
    report = preflight(INT8)
    assert check(report, "every tensor quantized").ok
    assert not check(report, "static shapes").ok
    batch = check(report, "batch size 1")
    assert not batch.ok and "[-1, 8, 8, 1]" in batch.detail
    whys = {o.name: o.why for o in report.ops}
    assert whys["SHAPE"] == "not in Coral's supported-operations table"
    assert whys["PACK"] == "works on INT32 data (not 8-bit)"
    assert [o.version for o in report.ops if o.name == "CONV_2D"] == [3, 3]
    assert not report.compatible
    # The real compiler refuses an open batch outright: no "k of N map" partial compile.
    assert not report.compiles and "REFUSED" in report.verdict()
    assert "dynamic-sized tensors" in check(report, "static shapes").detail
    assert " of 10 map" not in report.table()


def test_an_operator_version_the_compiler_cannot_parse_is_named(tmp_path):
    path = rewrite(INT8, tmp_path / "conv_v6.tflite", set_version("CONV_2D", 6))
    report = preflight(path)
    versions = check(report, "operator versions the compiler parses")
    assert not versions.ok
    assert "Didn't find op for builtin opcode 'CONV_2D' version '6'" in versions.detail
    assert report.ops[0].why == "v6 is newer than compiler 16 can parse"
    # The same file at the version the converter wrote is not flagged for its version.
    assert check(preflight(INT8), "operator versions the compiler parses").ok


def test_cli_prints_the_table_and_exits_1_when_not_compatible(capsys):
    assert cli.main(["preflight", str(FP32)]) == cli.EXIT_NOT_COMPATIBLE
    out = capsys.readouterr().out
    assert "operator" in out and "version" in out and "Edge TPU" in out
    assert "CONV_2D" in out and "FULLY_CONNECTED" in out
    assert "Model not quantized" in out and "verdict: REFUSED" in out


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("empty.tflite", lambda: b"", "the file is empty"),
        ("card.tflite", lambda: (FOLDER / "card.json").read_bytes(), "not a TensorFlow Lite"),
        ("model.onnx", lambda: (FOLDER / "model.onnx").read_bytes(), "not a TensorFlow Lite"),
        ("cut.tflite", lambda: INT8.read_bytes()[:3000], "corrupt or truncated"),
        ("noise.tflite", lambda: b"\0\0\0\0TFL3" + bytes(range(256)) * 4, "no subgraphs"),
    ],
)
def test_unreadable_files_give_a_clear_error_and_exit_2(tmp_path, capsys, name, make, message):
    path = _write(tmp_path, name, make())
    with pytest.raises(PreflightError, match=message):
        preflight(path)
    assert cli.main(["preflight", str(path)]) == cli.EXIT_UNREADABLE
    captured = capsys.readouterr()
    assert captured.err.startswith("error: ") and message in captured.err
    assert "Traceback" not in captured.err + captured.out


def test_a_missing_file_is_reported_not_raised(tmp_path, capsys):
    assert cli.main(["preflight", str(tmp_path / "nope.tflite")]) == cli.EXIT_UNREADABLE
    assert "cannot read the file" in capsys.readouterr().err


def test_random_corruption_never_escapes_as_another_exception(tmp_path):
    rng = np.random.default_rng(0)
    data = bytearray(INT8.read_bytes())
    for trial in range(60):
        broken = bytearray(data)
        for i in rng.integers(0, len(broken), size=16):
            broken[int(i)] = int(rng.integers(0, 256))
        path = _write(tmp_path, f"broken{trial}.tflite", bytes(broken))
        try:
            preflight(path).table()
        except PreflightError:
            pass


def test_read_model_returns_the_object_api():
    model = read_model(INT8)
    assert len(model.subgraphs) == 1 and len(model.subgraphs[0].operators) == 10


# --- tiny models built with the TFLite converter (slow: TensorFlow) -----------------------


@pytest.fixture(scope="module")
def tf():
    from mlops_course.runtime import import_tensorflow

    return import_tensorflow()


def representative(shape: tuple[int, ...], seed: int = 0, n: int = 8) -> np.ndarray:
    return np.random.default_rng(seed).random((n, *shape), dtype=np.float32)


def tiny(tf, layers: list, shape: tuple[int, ...]):
    tf.keras.utils.set_random_seed(0)
    return tf.keras.Sequential([tf.keras.Input(shape, batch_size=1), *layers])


@pytest.fixture(scope="module")
def course_model(tf, tmp_path_factory):
    """The course CNN, briefly trained, converted for the Edge TPU; with its Keras original."""
    from mlops_course.data import load_digits_split
    from mlops_course.edgetpu.convert import convert_for_edgetpu
    from mlops_course.train import train_digits_cnn

    split = load_digits_split()
    model, _ = train_digits_cnn(split, seed=0, epochs=4)
    path = tmp_path_factory.mktemp("edge") / "digits_edgetpu.tflite"
    path.write_bytes(convert_for_edgetpu(model, split.x_train))
    return path, model, split


@pytest.mark.slow
def test_the_full_int8_course_model_passes(course_model, capsys):
    path, _, _ = course_model
    report = preflight(path)
    assert report.compatible, report.table()
    assert [o.name for o in report.ops] == [
        "CONV_2D",
        "CONV_2D",
        "MAX_POOL_2D",
        "RESHAPE",
        "FULLY_CONNECTED",
        "FULLY_CONNECTED",
        "SOFTMAX",
    ]
    assert cli.main(["preflight", str(path)]) == cli.EXIT_COMPATIBLE
    assert "verdict: compatible: all 7 operations map" in capsys.readouterr().out


@pytest.mark.slow
def test_the_edge_conversion_keeps_the_models_predictions(course_model):
    from mlops_course.edgetpu import get_scores, make_interpreter, set_input

    path, model, split = course_model
    interpreter = make_interpreter(path, device="cpu")
    interpreter.allocate_tensors()
    details = interpreter.get_input_details()[0]
    assert details["dtype"] == np.int8 and list(details["shape"]) == [1, 8, 8, 1]
    assert interpreter.get_output_details()[0]["dtype"] == np.int8
    keras = model.predict(split.x_test, verbose=0)
    edge = []
    for image in split.x_test:
        set_input(interpreter, image)
        interpreter.invoke()
        edge.append(get_scores(interpreter))
    edge = np.array(edge)
    assert (edge.argmax(1) == keras.argmax(1)).mean() >= 0.97
    accuracy = {
        name: (s.argmax(1) == split.y_test).mean() for name, s in [("e", edge), ("k", keras)]
    }
    assert abs(accuracy["e"] - accuracy["k"]) <= 0.02 and accuracy["e"] >= 0.9
    assert np.abs(edge - keras).mean() < 0.01


@pytest.mark.slow
def test_an_unsupported_operator_is_named_and_everything_after_it_stays_on_the_cpu(tf, tmp_path):
    from mlops_course.edgetpu.convert import convert_for_edgetpu

    layers = tf.keras.layers
    model = tiny(
        tf, [layers.Conv2D(4, 3), layers.LeakyReLU(), layers.Flatten(), layers.Dense(3)], (6, 6, 2)
    )
    path = _write(tmp_path, "leaky.tflite", convert_for_edgetpu(model, representative((6, 6, 2))))
    report = preflight(path)
    names = [(o.name, o.maps) for o in report.ops]
    assert names == [
        ("CONV_2D", True),
        ("LEAKY_RELU", False),
        ("RESHAPE", False),
        ("FULLY_CONNECTED", False),
    ]
    assert report.ops[1].why == "not in Coral's supported-operations table"
    assert "after #1 LEAKY_RELU" in report.ops[2].why
    mapped = check(report, "every operation maps to the Edge TPU")
    assert not mapped.ok and "first unmapped: #1 LEAKY_RELU" in mapped.detail
    assert check(report, "every tensor quantized").ok and not report.compatible


@pytest.mark.slow
def test_an_op_without_int8_kernel_leaves_float_tensors(tf, tmp_path):
    from mlops_course.edgetpu.convert import convert_for_edgetpu

    model = tiny(tf, [tf.keras.layers.Dense(4, activation="elu")], (8,))
    path = _write(tmp_path, "elu.tflite", convert_for_edgetpu(model, representative((8,))))
    report = preflight(path)
    assert "DEQUANTIZE" in [o.name for o in report.ops]
    assert not check(report, "every tensor quantized").ok


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Statistics for quantized inputs")
def test_uint8_io_quantize_passes_until_its_version_is_too_new(tf, tmp_path):
    layers = tf.keras.layers
    model = tiny(
        tf, [layers.Conv2D(4, 3, activation="relu"), layers.Flatten(), layers.Dense(3)], (6, 6, 1)
    )
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    images = representative((6, 6, 1))
    converter.representative_dataset = lambda: ([images[i : i + 1]] for i in range(len(images)))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.uint8
    path = _write(tmp_path, "uint8.tflite", converter.convert())
    report = preflight(path)
    assert [o.name for o in report.ops].count("QUANTIZE") == 2
    assert report.compatible, report.table()
    newer = preflight(rewrite(path, tmp_path / "quantize_v3.tflite", set_version("QUANTIZE", 3)))
    versions = check(newer, "operator versions the compiler parses")
    assert "'QUANTIZE' version '3'" in versions.detail and "issues/879" in versions.detail
    assert not newer.compatible


@pytest.mark.slow
def test_transpose_conv_v4_is_rejected_like_the_real_compiler_does(tf, tmp_path):
    from mlops_course.edgetpu.convert import convert_for_edgetpu

    model = tiny(tf, [tf.keras.layers.Conv2DTranspose(4, 3, strides=2, padding="same")], (4, 4, 2))
    path = _write(tmp_path, "tconv.tflite", convert_for_edgetpu(model, representative((4, 4, 2))))
    assert preflight(path).compatible
    newer = preflight(rewrite(path, tmp_path / "tconv_v4.tflite", set_version("TRANSPOSE_CONV", 4)))
    assert newer.ops[0].why == "v4 is newer than compiler 16 can parse" and not newer.compatible


@pytest.mark.slow
def test_mobilenet_v2_full_int8_passes(tf, tmp_path):
    from mlops_course.edgetpu.convert import convert_for_edgetpu

    tf.keras.utils.set_random_seed(0)
    model = tf.keras.applications.MobileNetV2(
        weights=None, input_shape=(96, 96, 3), alpha=0.35, classes=10
    )
    path = _write(tmp_path, "mnv2.tflite", convert_for_edgetpu(model, representative((96, 96, 3))))
    report = preflight(path)
    assert report.compatible, report.problems
    counts = {(r["op"], r["count"]) for r in report.op_counts()}
    assert {("DEPTHWISE_CONV_2D", 17), ("ADD", 10), ("MEAN", 1)} <= counts


def tiny_conv(tf, batch: int | None):
    layers = tf.keras.layers
    tf.keras.utils.set_random_seed(0)
    return tf.keras.Sequential(
        [
            tf.keras.Input((6, 6, 1), batch_size=batch),
            layers.Conv2D(4, 3, activation="relu"),
            layers.Flatten(),
            layers.Dense(3),
        ]
    )


def convert_int8(tf, model, int8_io: bool) -> bytes:
    """Full-int8 body; int8 input/output only when ``int8_io`` (else the converter keeps float)."""
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    images = representative((6, 6, 1))
    converter.representative_dataset = lambda: ([images[i : i + 1]] for i in range(len(images)))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if int8_io:
        converter.inference_input_type = converter.inference_output_type = tf.int8
    return converter.convert()


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Statistics for quantized inputs")
def test_float_io_around_an_int8_body_compiles_with_the_edges_on_the_cpu(tf, tmp_path):
    path = _write(tmp_path, "float_io.tflite", convert_int8(tf, tiny_conv(tf, 1), int8_io=False))
    report = preflight(path)
    ops = [(o.name, o.maps) for o in report.ops]
    assert ops[0] == ("QUANTIZE", False) and ops[-1] == ("DEQUANTIZE", False)
    assert all(maps for _, maps in ops[1:-1]), report.table()
    assert "float input: runs on the CPU" in report.ops[0].why
    assert check(report, "every tensor quantized").ok
    mapped = check(report, "every operation maps to the Edge TPU")
    assert f"{len(ops) - 2} of {len(ops)} map" in mapped.detail
    assert report.compiles and not report.compatible
    assert "compiles, partly on the CPU" in report.verdict() and "QUANTIZE, DEQUANTIZE" in (
        report.verdict()
    )
    assert "Model not quantized" not in report.table()


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Statistics for quantized inputs")
def test_an_open_batch_is_refused_and_the_same_model_with_batch_1_passes(tf, tmp_path):
    fixed = _write(tmp_path, "fixed.tflite", convert_int8(tf, tiny_conv(tf, 1), int8_io=True))
    open_ = _write(tmp_path, "open.tflite", convert_int8(tf, tiny_conv(tf, None), int8_io=True))
    assert preflight(fixed).compatible, preflight(fixed).table()
    report = preflight(open_)
    assert not report.compiles and report.verdict().startswith("REFUSED")
    assert "static-sized tensors" in check(report, "static shapes").detail
    assert check(report, "every operation maps to the Edge TPU").detail.startswith("none:")
    assert not any("where mapping stopped" in o.why for o in report.ops)
