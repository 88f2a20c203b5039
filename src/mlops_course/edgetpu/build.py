"""``make edgetpu``: convert the digits model for the Edge TPU and compile it where possible.

``python -m mlops_course.edgetpu build`` (what ``make edgetpu`` runs) converts the trained
network kept in ``models/digits/1/model.keras`` (checked against its card) into
``build/edgetpu/model_int8_batch1.tflite`` (full int8, batch 1: the same conversion as the
committed file), runs the preflight, then ``edgetpu_compiler`` on PATH or in the course's
compiler image, which writes ``build/edgetpu/model_int8_batch1_edgetpu.tflite`` and its log.

Exit status: 0 when compiled, and also 0 when no compiler exists here (the compiler is an
optional x86-64 tool: the one-line reason and the commands to run elsewhere are printed, as
``make test-one-core`` skips without taskset); 1 when the preflight says the compiler would
refuse the model or the compiler ran and wrote nothing. Introduced in notebooks/12_edge_tpu.ipynb.
"""

from __future__ import annotations

from pathlib import Path

from mlops_course.data import load_digits_split
from mlops_course.edgetpu.compiler import IMAGE, compile_model
from mlops_course.edgetpu.preflight import preflight
from mlops_course.edgetpu.ready import write_ready_model
from mlops_course.model_card import read_card
from mlops_course.model_repository import load_keras

BUILD_DIR = Path("build/edgetpu")
DIGITS = Path("models/digits/1")


def build(
    out: str | Path = BUILD_DIR, models: str | Path = DIGITS, image: str = IMAGE, log=print
) -> int:
    """Convert into ``out`` and compile where a compiler exists; returns the exit status.

    Introduced in notebooks/12_edge_tpu.ipynb (``make edgetpu``).
    """
    out, models = Path(out), Path(models)
    card = read_card(models / "card.json")
    split = load_digits_split(card.training_data["test_size"], card.training_data["split_seed"])
    out.mkdir(parents=True, exist_ok=True)
    path = write_ready_model(load_keras(models), out, split)
    report = preflight(path)
    log(f"edgetpu: converted {path.as_posix()}; preflight: {report.verdict()}")
    if not report.compiles:
        log("edgetpu: not compiled: the compiler would refuse this model (see the preflight)")
        return 1
    result = compile_model(path, image=image)
    if not result.ran:
        log(f"edgetpu: not compiled: {result.reason} (exit 0: the compiler is optional here)")
        for route, commands in result.commands.items():
            log(f"  # where {'it is on PATH' if route == 'path' else 'Docker runs'}:")
            for command in commands:
                log(f"  {command}")
        return 0
    log(f"edgetpu: {result.summary()}")
    return 0 if result.output is not None else 1
