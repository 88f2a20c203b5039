"""Cards on disk: read and validate, write, and check the files a card describes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from mlops_course.model_card.card import ModelCard, ModelCardError
from mlops_course.model_card.validate import validate_card


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes (read in chunks). Introduced in 05_train_and_export."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_card(path: str | Path) -> ModelCard:
    """Read and validate ``card.json``; errors name the file. Introduced in 05_train_and_export."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ModelCardError([f"not valid JSON: {error}"], str(path)) from None
    return validate_card(data, source=str(path))


def write_card(card: ModelCard | dict[str, Any], path: str | Path) -> Path:
    """Validate, then write a card as indented JSON. Introduced in 05_train_and_export."""
    if isinstance(card, dict):
        card = validate_card(card)
    path = Path(path)
    text = json.dumps(card.to_dict(), indent=2, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def verify_files(card: ModelCard, folder: str | Path) -> list[str]:
    """Problems with the files on disk: missing, wrong size or wrong sha256 ([] when all match).

    Introduced in notebooks/05_train_and_export.ipynb; the server refuses a version that fails.
    """
    problems = []
    for entry in card.files:
        path = Path(folder) / entry.path
        if not path.is_file():
            problems.append(f"{entry.path}: missing from {folder}")
            continue
        if path.stat().st_size != entry.size_bytes:
            problems.append(
                f"{entry.path}: {path.stat().st_size} bytes, card says {entry.size_bytes}"
            )
        digest = sha256_file(path)
        if digest != entry.sha256:
            problems.append(f"{entry.path}: sha256 {digest[:12]}… != card {entry.sha256[:12]}…")
    return problems
