"""Model cards: the JSON file beside every model in ``models/<name>/<version>/card.json``.

A card says what the model expects (input name, shape, dtype, preprocessing), what it answers
(labels or target), how good it is on the test split, what data and code produced it, and the
sha256 of every file it describes. The model server reads the card instead of hard-coding any of
this, so a card is validated strictly: a bad card is rejected with every problem listed.

``card`` holds the types, ``validate`` the schema check, ``files`` reading, writing and checksums.
Introduced in notebooks/05_train_and_export.ipynb.
"""

from mlops_course.model_card.card import (
    DTYPES,
    FORMATS,
    LAYOUTS,
    SCHEMA_VERSION,
    TASKS,
    ModelCard,
    ModelCardError,
    ModelFile,
    TensorInfo,
)
from mlops_course.model_card.files import read_card, sha256_file, verify_files, write_card
from mlops_course.model_card.validate import validate_card

__all__ = [
    "DTYPES",
    "FORMATS",
    "LAYOUTS",
    "SCHEMA_VERSION",
    "TASKS",
    "ModelCard",
    "ModelCardError",
    "ModelFile",
    "TensorInfo",
    "read_card",
    "sha256_file",
    "validate_card",
    "verify_files",
    "write_card",
]
