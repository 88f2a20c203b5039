"""pycoral-style classification: the CPU path for real, the Edge TPU path detected (or skipped).

The references: the float32 TFLite model (dequantized int8 scores must agree with it), the raw
int8 output tensor with ``scale * (q - zero_point)`` written out here, and the accuracy the
model card records for the same file and test split.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import pytest

from mlops_course import environment
from mlops_course.data import load_digits_split
from mlops_course.edgetpu import (
    backend_of,
    classify_image,
    edgetpu_support,
    get_classes,
    get_scores,
    inference_times_ms,
    make_interpreter,
    set_input,
)
from mlops_course.edgetpu import classify as cls
from mlops_course.model_card import read_card
from mlops_course.quantization import quantize

FOLDER = Path(__file__).resolve().parents[1] / "models" / "digits" / "1"
INT8, FP32 = FOLDER / "model_int8.tflite", FOLDER / "model_fp32.tflite"


@pytest.fixture(scope="module")
def split():
    return load_digits_split()


@pytest.fixture(scope="module")
def int8():
    interpreter = make_interpreter(INT8, device="cpu")
    interpreter.allocate_tensors()
    return interpreter


def scores_of(interpreter, images) -> np.ndarray:
    rows = []
    for image in images:
        set_input(interpreter, image)
        interpreter.invoke()
        rows.append(get_scores(interpreter))
    return np.array(rows)


# --- backend selection --------------------------------------------------------------------


def test_lesson_00_and_lesson_10_ask_the_same_probes():
    """One probe each for pycoral and the runtime library, in environment (lesson 00)."""
    assert cls.pycoral_found is environment.pycoral_found
    assert cls.edgetpu_library_loads is environment.edgetpu_library_loads


def test_without_pycoral_and_delegate_the_cpu_runs_and_says_why(monkeypatch):
    monkeypatch.setattr(cls, "pycoral_found", lambda: False)
    monkeypatch.setattr(
        cls, "edgetpu_library_loads", lambda library=cls.EDGETPU_LIB: (False, "no lib")
    )
    interpreter = make_interpreter(INT8)
    backend = backend_of(interpreter)
    assert backend.name == "CPU (LiteRT)"
    assert "pycoral is not installed" in backend.reason and "no lib" in backend.reason
    assert type(interpreter).__module__.startswith("ai_edge_litert")


def test_pycoral_alone_is_not_enough(monkeypatch):
    monkeypatch.setattr(cls, "pycoral_found", lambda: True)
    monkeypatch.setattr(cls, "_delegate_loads", lambda library=cls.EDGETPU_LIB: (False, "no TPU"))
    ok, reason = edgetpu_support()
    assert not ok and reason == "no TPU"
    assert backend_of(make_interpreter(INT8)).name == "CPU (LiteRT)"


def test_a_named_device_that_is_not_there_is_an_error(monkeypatch):
    monkeypatch.setattr(cls, "pycoral_found", lambda: False)
    with pytest.raises(ValueError, match="'usb' requested but not usable"):
        make_interpreter(INT8, device="usb")


def test_with_pycoral_and_the_delegate_pycoral_makes_the_interpreter(monkeypatch):
    # A FAKE pycoral module: proves the selection logic hands over to pycoral when both exist.
    made = []

    class FakeInterpreter:
        pass

    def fake_make_interpreter(path, device=None):
        made.append((path, device))
        return FakeInterpreter()

    fake = types.ModuleType("pycoral.utils.edgetpu")
    fake.make_interpreter = fake_make_interpreter
    utils = types.ModuleType("pycoral.utils")
    utils.edgetpu = fake
    monkeypatch.setitem(sys.modules, "pycoral", types.ModuleType("pycoral"))
    monkeypatch.setitem(sys.modules, "pycoral.utils", utils)
    monkeypatch.setitem(sys.modules, "pycoral.utils.edgetpu", fake)
    monkeypatch.setattr(cls, "edgetpu_support", lambda: (True, "fake: both present"))
    interpreter = make_interpreter(INT8, device=":0")
    assert made == [(str(INT8), ":0")]
    assert backend_of(interpreter).name == "Edge TPU"


def test_the_real_edge_tpu_path_runs_only_where_one_exists():
    ok, reason = edgetpu_support()
    if not ok:
        pytest.skip(f"no Edge TPU on this machine: {reason}")
    interpreter = make_interpreter(INT8)
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
    q = scores_of(int8, split.x_test[:150])
    f = scores_of(float_model, split.x_test[:150])
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
