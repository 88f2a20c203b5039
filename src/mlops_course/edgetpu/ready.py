"""The digits model as the Edge TPU compiler wants it, kept in the model repository.

``models/digits/1/model_int8.tflite`` is full-int8 but keeps its batch open (``-1``) for the
server, which the compiler refuses. :data:`READY_FILE` beside it is the same trained network
(``model.keras``) converted with a fixed batch of 1: int8 input and output, static shapes, every
operation on Coral's list. ``make model`` writes it with the rest of the version
(:func:`write_ready_model`); :func:`add_ready_model` (re)builds just this file and its card
entry from the committed ``model.keras``, without retraining::

    python -m mlops_course.export digits-edgetpu --out models --version 1

Introduced in notebooks/12_edge_tpu.ipynb.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from mlops_course.data import Split, load_digits_split
from mlops_course.edgetpu.convert import convert_for_edgetpu
from mlops_course.evaluate import classification_metrics, predict_batched
from mlops_course.model_card import ModelCard, validate_card, write_card
from mlops_course.model_repository import describe_file, load_keras
from mlops_course.runtime import load_runner

#: The Edge-TPU-ready file; the compiler names its output ``model_int8_batch1_edgetpu.tflite``.
READY_FILE = "model_int8_batch1.tflite"
READY_PRECISION = "int8-full-batch1"


def write_ready_model(model: Any, folder: str | Path, split: Split) -> Path:
    """Write ``folder/READY_FILE``: full int8, batch 1, calibrated on ``split.x_train``.

    Introduced in notebooks/12_edge_tpu.ipynb (``make model`` calls it).
    """
    path = Path(folder) / READY_FILE
    data = convert_for_edgetpu(model, split.x_train)
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".part", delete=False) as part:
        part.write(data)
    os.replace(part.name, path)  # never a half-written model beside the card
    os.chmod(path, 0o644)
    return path


def ready_entry(folder: str | Path, split: Split) -> dict:
    """The card's ``files[]`` entry for ``READY_FILE``, its accuracy measured on the test split."""
    runner = load_runner(Path(folder) / READY_FILE)
    metrics = classification_metrics(predict_batched(runner, split.x_test), split.y_test)
    return describe_file(Path(folder), READY_FILE, READY_PRECISION, metrics)


def add_ready_model(folder: str | Path, log=print) -> ModelCard:
    """(Re)build ``READY_FILE`` from ``folder/model.keras`` and put its entry in the card.

    Introduced in notebooks/12_edge_tpu.ipynb. ``model.keras`` is checked against the card's
    sha256 first; the other files and entries are left as they are.
    """
    folder = Path(folder)
    card_path = folder / "card.json"
    if not card_path.is_file():
        raise FileNotFoundError(f"{card_path}: no model card (run `make model` first)")
    data = json.loads(card_path.read_text(encoding="utf-8"))
    split = load_digits_split(
        data["training_data"]["test_size"], data["training_data"]["split_seed"]
    )
    write_ready_model(load_keras(folder), folder, split)
    entry = ready_entry(folder, split)
    files = [f for f in data["files"] if f["path"] != READY_FILE]
    data["files"] = [*files, entry]
    card = validate_card(data, source=str(card_path))
    write_card(card, card_path)
    log(
        f"{folder.as_posix()}/{READY_FILE}: {entry['size_bytes']:,} B, "
        f"accuracy {entry['metrics']['accuracy']:.4f}"
    )
    return card
