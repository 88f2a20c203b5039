"""Check a card dict against the schema, listing every problem at once."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

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

_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_REQUIRED_METRICS = {"classification": ("accuracy",), "regression": ("r2", "mae", "rmse")}


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
