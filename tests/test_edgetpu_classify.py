"""pycoral-style classification with LiteRT: the CPU path for real; the Edge TPU path only for a
model that holds the edgetpu-custom-op and only when the delegate starts (faked here).

The references: the float32 TFLite model (dequantized int8 scores must agree with it), the raw
int8 output tensor with ``scale * (q - zero_point)`` written out here, and the accuracy the
model card records for the same file and test split.
"""

from __future__ import annotations

from pathlib import Path

import ai_edge_litert.interpreter as litert
import flatbuffers
import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema

from mlops_course import environment
from mlops_course.data import load_digits_split
from mlops_course.edgetpu import (
    backend_of,
    classify_image,
    edgetpu_ops,
    edgetpu_support,
    get_classes,
    get_scores,
    inference_times_ms,
    make_interpreter,
    score_images,
    set_input,
    top_margin,
)
from mlops_course.edgetpu import classify as cls
from mlops_course.model_card import read_card
from mlops_course.quantization import quantize

FOLDER = Path(__file__).resolve().parents[1] / "models" / "digits" / "1"
INT8, FP32 = FOLDER / "model_int8.tflite", FOLDER / "model_fp32.tflite"
READY = FOLDER / "model_int8_batch1.tflite"


@pytest.fixture(scope="module")
def split():
    return load_digits_split()


@pytest.fixture(scope="module")
def int8():
    interpreter = make_interpreter(INT8, device="cpu")
    interpreter.allocate_tensors()
    return interpreter


# --- backend selection: LiteRT's load_delegate, and only for a compiled model --------------


def compiled_copy(tmp_path: Path) -> Path:
    """A FAKE compiled model: the ready file with its last operator renamed edgetpu-custom-op."""
    model = schema.ModelT.InitFromPackedBuf(READY.read_bytes(), 0)
    code = model.operatorCodes[model.subgraphs[0].operators[-1].opcodeIndex]
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.CUSTOM
    code.customCode = b"edgetpu-custom-op"
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    path = tmp_path / "fake_edgetpu.tflite"
    path.write_bytes(bytes(builder.Output()))
    return path


@pytest.fixture
def fake_delegate(monkeypatch):
    """The delegate 'starts' (a sentinel object); LiteRT's Interpreter records what it gets."""
    sentinel, made = object(), []

    class FakeInterpreter:
        def __init__(self, **kwargs):
            made.append(kwargs)

    monkeypatch.setattr(cls, "load_edgetpu_delegate", lambda device=None: (sentinel, "fake: up"))
    monkeypatch.setattr(litert, "Interpreter", FakeInterpreter)
    return sentinel, made


def test_lesson_00_and_lesson_10_ask_the_same_probe():
    """One probe for the runtime library, in environment (lesson 00)."""
    assert cls.edgetpu_library_loads is environment.edgetpu_library_loads


def test_custom_ops_are_counted_from_the_model_file(tmp_path):
    assert edgetpu_ops(READY) == 0 and edgetpu_ops(INT8) == 0
    assert edgetpu_ops(compiled_copy(tmp_path)) == 1


def test_without_the_delegate_the_cpu_runs_and_says_why(monkeypatch):
    monkeypatch.setattr(
        cls, "edgetpu_library_loads", lambda library=cls.EDGETPU_LIB: (False, "no lib")
    )
    interpreter = make_interpreter(READY)
    backend = backend_of(interpreter)
    assert backend.name == "CPU (LiteRT)"
    assert "not compiled for the Edge TPU (no edgetpu-custom-op)" in backend.reason
    assert backend.reason.endswith("; no lib")
    assert type(interpreter).__module__.startswith("ai_edge_litert")


def test_here_the_delegate_is_absent_and_the_fallback_reason_says_so():
    ok, reason = edgetpu_support()
    if ok:
        pytest.skip("this machine has an Edge TPU")
    backend = backend_of(make_interpreter(READY))
    assert backend.name == "CPU (LiteRT)" and reason in backend.reason
    assert "libedgetpu.so.1" in backend.reason


def test_an_uncompiled_model_is_never_labelled_edge_tpu_even_with_the_delegate(fake_delegate):
    _, made = fake_delegate
    backend = backend_of(make_interpreter(READY))
    assert backend.name == "CPU (LiteRT)" and "not compiled" in backend.reason
    assert "experimental_delegates" not in made[0]
    with pytest.raises(ValueError, match=r"'usb' requested, but .* not compiled"):
        make_interpreter(READY, device="usb")


def test_a_compiled_model_runs_through_load_delegate(fake_delegate, tmp_path):
    sentinel, made = fake_delegate
    interpreter = make_interpreter(compiled_copy(tmp_path), device=":0")
    assert made[-1]["experimental_delegates"] == [sentinel]
    backend = backend_of(interpreter)
    assert backend.name == "Edge TPU" and "holds 1 edgetpu-custom-op" in backend.reason


def test_a_compiled_model_without_its_delegate_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(cls, "load_edgetpu_delegate", lambda device=None: (None, "no runtime"))
    path = compiled_copy(tmp_path)
    with pytest.raises(ValueError, match="compiled for the Edge TPU, but no runtime"):
        make_interpreter(path)
    with pytest.raises(ValueError, match="the CPU cannot run it"):
        make_interpreter(path, device="cpu")


def test_a_named_device_that_is_not_there_is_an_error(monkeypatch):
    monkeypatch.setattr(cls, "load_edgetpu_delegate", lambda device=None: (None, "no TPU"))
    with pytest.raises(ValueError, match="'usb' requested but not usable: no TPU"):
        make_interpreter(INT8, device="usb")


def test_load_delegate_gets_the_library_and_the_device_option(monkeypatch):
    calls = []

    def fake_load_delegate(library, options=None):
        calls.append((library, options))
        if options:
            raise ValueError("Failed to load delegate from libedgetpu.so.1\nmore")
        return "delegate"

    monkeypatch.setattr(cls, "edgetpu_library_loads", lambda library: (True, f"{library} loads"))
    monkeypatch.setattr(litert, "load_delegate", fake_load_delegate)
    assert cls.load_edgetpu_delegate()[0] == "delegate"
    delegate, why = cls.load_edgetpu_delegate("usb:1")
    assert delegate is None and why.endswith("(Failed to load delegate from libedgetpu.so.1)")
    assert calls == [("libedgetpu.so.1", {}), ("libedgetpu.so.1", {"device": "usb:1"})]


def test_the_real_edge_tpu_path_runs_only_where_one_exists():
    ok, reason = edgetpu_support()
    compiled = sorted(Path("build/edgetpu").glob("*_edgetpu.tflite"))
    if not ok or not compiled:
        pytest.skip(f"no Edge TPU or no compiled model here: {reason}")
    interpreter = make_interpreter(compiled[0])
    interpreter.allocate_tensors()
    assert backend_of(interpreter).name == "Edge TPU"


# --- get_classes: top-k, threshold, dequantization ----------------------------------------


def test_top_k_is_sorted_best_first_and_the_threshold_filters(int8, split):
    set_input(int8, split.x_test[0])
    int8.invoke()
    scores = get_scores(int8)
    three = get_classes(int8, top_k=3)
    assert [c.id for c in three] == list(np.argsort(-scores, kind="stable")[:3])
    assert [c.score for c in three] == sorted((c.score for c in three), reverse=True)
    assert three[0].id == split.y_test[0]
    every = get_classes(int8, top_k=10)
    assert len(every) == 10 and abs(sum(c.score for c in every) - 1) < 0.02
    assert get_classes(int8, top_k=10, score_threshold=0.5) == [three[0]]
    assert get_classes(int8, top_k=3, score_threshold=1.01) == []
    # pycoral keeps a score equal to the threshold
    assert get_classes(int8, top_k=3, score_threshold=three[0].score) == [three[0]]
    with pytest.raises(ValueError, match="top_k"):
        get_classes(int8, top_k=0)


def test_ties_keep_the_lower_class_id_first(int8, split):
    set_input(int8, split.x_test[0])
    int8.invoke()
    zeros = [c for c in get_classes(int8, top_k=10) if c.score == 0.0]
    assert len(zeros) > 1 and [c.id for c in zeros] == sorted(c.id for c in zeros)


def test_scores_are_the_dequantized_raw_output(int8, split):
    set_input(int8, split.x_test[5])
    int8.invoke()
    details = int8.get_output_details()[0]
    raw = int8.get_tensor(details["index"])[0]
    scale, zero_point = details["quantization"]
    assert raw.dtype == np.int8 and scale > 0
    np.testing.assert_array_equal(get_scores(int8), scale * (raw.astype(np.float32) - zero_point))


def test_set_input_quantizes_with_the_inputs_own_parameters(int8, split):
    set_input(int8, split.x_test[7])
    details = int8.get_input_details()[0]
    expected = quantize(split.x_test[7][None], *details["quantization"], np.int8)
    np.testing.assert_array_equal(int8.get_tensor(details["index"]), expected)


def test_dequantized_int8_scores_agree_with_the_float_model(int8, split):
    float_model = make_interpreter(FP32, device="cpu")
    float_model.allocate_tensors()
    q = score_images(int8, split.x_test[:150])
    f = score_images(float_model, split.x_test[:150])
    assert np.abs(q - f).max() < 0.06  # a few output steps (1/256) at most
    assert np.abs(q - f).mean() < 0.005
    assert (q.argmax(1) == f.argmax(1)).mean() >= 0.99


def test_cpu_accuracy_on_the_test_split_is_what_the_card_records(int8, split):
    card = read_card(FOLDER / "card.json")
    recorded = next(f.metrics["accuracy"] for f in card.files if f.path == INT8.name)
    top1 = [classify_image(int8, x, top_k=1) for x in split.x_test]
    accuracy = np.mean([c[0].id == y for c, y in zip(top1, split.y_test, strict=True)])
    assert accuracy == pytest.approx(recorded, abs=1e-6)
    top3 = [classify_image(int8, x, top_k=3, score_threshold=0.1) for x in split.x_test]
    in_top3 = np.mean([y in [c.id for c in cs] for cs, y in zip(top3, split.y_test, strict=True)])
    assert in_top3 >= accuracy


def test_inference_times_cover_every_run(int8, split):
    times = inference_times_ms(int8, split.x_test[0], runs=4)
    assert len(times) == 4 and all(t > 0 for t in times)


def test_score_images_gives_every_class_score_of_every_image(int8, split):
    scores = score_images(int8, split.x_test[:20])
    assert scores.shape == (20, 10)
    for image, row in zip(split.x_test[:20], scores, strict=True):
        by_id = {c.id: c.score for c in classify_image(int8, image, top_k=10)}
        assert row.tolist() == [by_id[i] for i in range(10)]


def test_top_margin_is_best_minus_second_best():
    scores = np.array([[0.1, 0.7, 0.2], [0.5, 0.5, 0.0], [0.0, 0.1, 0.9]])
    np.testing.assert_allclose(top_margin(scores), [0.5, 0.0, 0.8])
    assert np.argsort(top_margin(scores), kind="stable").tolist() == [1, 0, 2]
    with pytest.raises(ValueError, match="at least 2 scores"):
        top_margin(np.array([0.2, 0.8]))
