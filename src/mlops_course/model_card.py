"""Model cards: the JSON file beside every model in ``models/<name>/<version>/card.json``.

A card says what the model expects (input name, shape, dtype, preprocessing), what it answers
(labels or target), how good it is on the test split, what data and code produced it, and the
sha256 of every file it describes. The model server reads the card instead of hard-coding any of
this, so a card is validated strictly: a bad card is rejected with every problem listed.

Introduced in notebooks/05_train_and_export.ipynb.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
TASKS = ("classification", "regression")
FORMATS = ("onnx", "tflite", "keras")
DTYPES = ("float32", "int8", "uint8", "int64")
LAYOUTS = ("NHWC", "NC")
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_REQUIRED_METRICS = {"classification": ("accuracy",), "regression": ("r2", "mae", "rmse")}


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


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes (read in chunks). Introduced in 05_train_and_export."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class _Checker:
    """Collects problems with a path prefix so one error lists all of them."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def get(self, data: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
        if not isinstance(data, dict):
            return None
        if key not in data:
            self.fail(f"{where}{key}", "missing")
            return None
        value = data[key]
        bad_bool = isinstance(value, bool) and bool not in _as_tuple(kind)
        if bad_bool or not isinstance(value, kind):
            names = " or ".join(k.__name__ for k in _as_tuple(kind))
            self.fail(f"{where}{key}", f"expected {names}, got {type(value).__name__} {value!r}")
            return None
        return value

    def choice(self, data: Any, key: str, options: tuple[str, ...], where: str) -> str | None:
        value = self.get(data, key, str, where)
        if value is not None and value not in options:
            self.fail(f"{where}{key}", f"must be one of {list(options)}, got {value!r}")
            return None
        return value


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _number(check: _Checker, data: Any, key: str, where: str) -> float | None:
    value = check.get(data, key, (int, float), where)
    if value is not None and not math.isfinite(value):
        check.fail(f"{where}{key}", f"must be a finite number, got {value!r}")
        return None
    return value


def _tensor(check: _Checker, data: Any, where: str) -> TensorInfo | None:
    if not isinstance(data, dict):
        check.fail(where.rstrip("."), f"expected an object, got {type(data).__name__}")
        return None
    name = check.get(data, "name", str, where)
    shape = check.get(data, "shape", list, where)
    dtype = check.choice(data, "dtype", DTYPES, where)
    if shape is not None and not all(
        d is None or (isinstance(d, int) and not isinstance(d, bool) and d > 0) for d in shape
    ):
        check.fail(f"{where}shape", f"dimensions must be positive integers or null, got {shape}")
        shape = None
    scale = zero_point = None
    if dtype in ("int8", "uint8"):  # a quantized tensor is useless without its parameters
        scale = _number(check, data, "scale", where)
        zero_point = check.get(data, "zero_point", int, where)
        if scale is not None and scale <= 0:
            check.fail(f"{where}scale", f"must be > 0, got {scale}")
    if None in (name, shape, dtype):
        return None
    return TensorInfo(name, tuple(shape), dtype, scale, zero_point)


def _file(check: _Checker, data: Any, where: str, task: str | None) -> ModelFile | None:
    if not isinstance(data, dict):
        check.fail(where.rstrip("."), f"expected an object, got {type(data).__name__}")
        return None
    path = check.get(data, "path", str, where)
    if path is not None and (Path(path).name != path or path.startswith(".")):
        check.fail(f"{where}path", f"must be a plain file name inside the version folder: {path!r}")
    fmt = check.choice(data, "format", FORMATS, where)
    if path is not None and fmt is not None and not path.endswith(f".{fmt}"):
        check.fail(f"{where}path", f"{path!r} does not end in .{fmt}")
    precision = check.get(data, "precision", str, where)
    size = check.get(data, "size_bytes", int, where)
    if size is not None and size <= 0:
        check.fail(f"{where}size_bytes", f"must be > 0, got {size}")
    sha = check.get(data, "sha256", str, where)
    if sha is not None and not _SHA256.match(sha):
        check.fail(f"{where}sha256", f"expected 64 lowercase hex characters, got {sha!r}")
    tensors = [
        _tensor(check, data.get(k), f"{where}{k}.") if k in data else None
        for k in ("input", "output")
    ]
    for key in ("input", "output"):
        if key not in data:
            check.fail(f"{where}{key}", "missing")
    metrics = check.get(data, "metrics", dict, where) or {}
    for key in _REQUIRED_METRICS.get(task or "", ()):
        _number(check, metrics, key, f"{where}metrics.")
    for key, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            check.fail(f"{where}metrics.{key}", f"expected a number, got {value!r}")
    accuracy = metrics.get("accuracy")
    if isinstance(accuracy, (int, float)) and not 0.0 <= accuracy <= 1.0:
        check.fail(f"{where}metrics.accuracy", f"must be within [0, 1], got {accuracy}")
    if None in (path, fmt, precision, size, sha, *tensors):
        return None
    return ModelFile(path, fmt, precision, size, sha, tensors[0], tensors[1], dict(metrics))


def validate_card(data: Any, source: str = "model card") -> ModelCard:
    """Check a card dict against the schema; return a :class:`ModelCard` or raise.

    Introduced in notebooks/05_train_and_export.ipynb. Raises :class:`ModelCardError` listing
    every problem (path in the card, what was expected, what was found).
    """
    check = _Checker()
    if not isinstance(data, dict):
        raise ModelCardError([f"expected a JSON object, got {type(data).__name__}"], source)
    schema = check.get(data, "schema_version", int, "")
    if schema is not None and schema != SCHEMA_VERSION:
        check.fail("schema_version", f"this code reads version {SCHEMA_VERSION}, got {schema}")
    name = check.get(data, "name", str, "")
    if name is not None and not _NAME.match(name):
        check.fail(
            "name", f"use lowercase letters, digits, '-' or '_' (a folder name), got {name!r}"
        )
    version = check.get(data, "version", int, "")
    if version is not None and version < 1:
        check.fail("version", f"versions are integers starting at 1, got {version}")
    task = check.choice(data, "task", TASKS, "")
    description = check.get(data, "description", str, "")
    created = check.get(data, "created", str, "")
    if created is not None and not re.match(
        r"^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2}))?$", created
    ):
        check.fail(
            "created", f"expected an ISO 8601 date like 2025-01-31T12:00:00Z, got {created!r}"
        )
    prep = check.get(data, "preprocessing", dict, "")
    if prep is not None:
        check.choice(prep, "layout", LAYOUTS, "preprocessing.")
        scale = _number(check, prep, "scale", "preprocessing.")
        if scale is not None and scale <= 0:
            check.fail("preprocessing.scale", f"must be > 0, got {scale}")
    labels = data.get("labels")
    features = data.get("features")
    if task == "classification" and not (
        isinstance(labels, list) and labels and all(isinstance(x, str) for x in labels)
    ):
        check.fail(
            "labels", f"a classifier needs a non-empty list of label strings, got {labels!r}"
        )
    for key, value in (("labels", labels), ("features", features)):
        if value is not None and not (
            isinstance(value, list) and all(isinstance(x, str) for x in value)
        ):
            check.fail(key, f"expected a list of strings or null, got {value!r}")
    max_batch = data.get("max_batch")
    if max_batch is not None and (
        not isinstance(max_batch, int) or isinstance(max_batch, bool) or max_batch < 1
    ):
        check.fail("max_batch", f"a whole number >= 1 or null, got {max_batch!r}")
    training_data = check.get(data, "training_data", dict, "")
    if training_data is not None:
        check.get(training_data, "source", str, "training_data.")
        for key in ("n_train", "n_test", "split_seed"):
            check.get(training_data, key, int, "training_data.")
    training = check.get(data, "training", dict, "")
    code = check.get(data, "code", dict, "")
    if code is not None:
        check.get(code, "package_version", str, "code.")
        check.get(code, "git_commit", (str, type(None)), "code.")
    raw_files = check.get(data, "files", list, "")
    files = []
    for index, item in enumerate(raw_files or []):
        entry = _file(check, item, f"files[{index}].", task)
        if entry is not None:
            files.append(entry)
    if raw_files == []:
        check.fail("files", "a card describes at least one model file")
    paths = [f.path for f in files]
    if len(set(paths)) != len(paths):
        check.fail("files", f"file names repeat: {paths}")
    default = check.get(data, "default_file", str, "")
    if default is not None and files and default not in paths:
        check.fail("default_file", f"{default!r} is not one of the files {paths}")
    if labels and task == "classification":
        for entry in files:
            dims = entry.output.shape
            if dims and dims[-1] not in (None, len(labels)):
                check.fail(
                    f"files[{paths.index(entry.path)}].output.shape",
                    f"last dimension {dims[-1]} != number of labels {len(labels)}",
                )
    if check.problems:
        raise ModelCardError(check.problems, source)
    known = {f for f in ModelCard.__dataclass_fields__ if f != "extra"}
    return ModelCard(
        name=name,
        version=version,
        task=task,
        description=description,
        created=created,
        default_file=default,
        preprocessing=dict(prep),
        labels=tuple(labels) if labels else None,
        features=tuple(features) if features else None,
        training_data=dict(training_data),
        training=dict(training),
        code=dict(code),
        files=tuple(files),
        schema_version=schema,
        max_batch=max_batch,
        extra={k: v for k, v in data.items() if k not in known},
    )


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
