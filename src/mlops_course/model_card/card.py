"""The model card's types: a validated card, its files and their tensors."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA_VERSION = 1
TASKS = ("classification", "regression")
FORMATS = ("onnx", "tflite", "keras")
DTYPES = ("float32", "int8", "uint8", "int64")
LAYOUTS = ("NHWC", "NC")


class ModelCardError(ValueError):
    """A card that does not follow the schema; the message lists every problem found."""

    def __init__(self, problems: list[str], source: str = "model card") -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"{source} is not a valid model card ({len(problems)} problem(s)):\n{lines}"
        )


@dataclass(frozen=True)
class TensorInfo:
    """One input or output tensor: ``None`` in ``shape`` marks a dynamic (batch) dimension."""

    name: str
    shape: tuple[int | None, ...]
    dtype: str
    scale: float | None = None  # int8/uint8 tensors: real = scale * (q - zero_point)
    zero_point: int | None = None


@dataclass(frozen=True)
class ModelFile:
    """One model file in the version folder, with its checksum and its own test-split metrics."""

    path: str
    format: str
    precision: str
    size_bytes: int
    sha256: str
    input: TensorInfo
    output: TensorInfo
    metrics: dict[str, float]


@dataclass(frozen=True)
class ModelCard:
    """A validated model card. Build one with :func:`validate_card` or :func:`read_card`."""

    name: str
    version: int
    task: str
    description: str
    created: str
    default_file: str
    preprocessing: dict[str, Any]
    labels: tuple[str, ...] | None
    features: tuple[str, ...] | None
    training_data: dict[str, Any]
    training: dict[str, Any]
    code: dict[str, Any]
    files: tuple[ModelFile, ...]
    schema_version: int = SCHEMA_VERSION
    # The largest batch a server should run (optional): a limit that the request size limit does
    # not give, e.g. for a model whose small inputs need a lot of working memory. Lesson 07.
    max_batch: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def file(self, path: str | None = None) -> ModelFile:
        """The entry for ``path`` (default: the card's ``default_file``)."""
        wanted = path or self.default_file
        for entry in self.files:
            if entry.path == wanted:
                return entry
        raise KeyError(f"{self.name}/{self.version}: no file {wanted!r} in the card")

    @property
    def input(self) -> TensorInfo:
        """The default file's input tensor (what a server feeds)."""
        return self.file().input

    @property
    def output(self) -> TensorInfo:
        """The default file's output tensor."""
        return self.file().output

    @property
    def metrics(self) -> dict[str, float]:
        """The default file's metrics on the test split."""
        return self.file().metrics

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict in the schema's key order (tuples become lists)."""
        data = asdict(self)
        extra = data.pop("extra")
        for entry in data["files"]:
            for key in ("input", "output"):  # float tensors have no quantization parameters
                entry[key] = {k: v for k, v in entry[key].items() if v is not None}
        if data["max_batch"] is None:  # optional: cards without one stay as they were
            del data["max_batch"]
        ordered = {"schema_version": data.pop("schema_version"), **data, **extra}
        return json.loads(json.dumps(ordered))
