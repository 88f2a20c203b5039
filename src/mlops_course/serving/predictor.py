"""Load every model version in a model repository once, check inputs against its card, predict.

The repository layout is ``<root>/<name>/<version>/card.json`` plus the files the card lists
(see :mod:`mlops_course.model_card`). Each version's default file is opened once, at start, in
an ONNX Runtime session with explicit providers and thread counts (:func:`runtime.onnx_session`);
a request never loads anything. A version whose files do not match its card stops the start:
serving a model nobody can vouch for is worse than not starting.

Introduced in notebooks/07_serving_with_flask.ipynb.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlops_course.model_card import ModelCard, TensorInfo, read_card, verify_files
from mlops_course.runtime import CPU, OnnxRunner
from mlops_course.serving.errors import ApiError, NotFound, PayloadTooLarge

log = logging.getLogger("mlops_course.serving")


def _is_number(text: str) -> bool:
    """ASCII digits only ("²".isdigit() is True, but int("²") fails)."""
    return text.isascii() and text.isdecimal() and len(text) <= 9


class RepositoryError(RuntimeError):
    """The model repository cannot be served (missing, empty, or a card that does not match)."""


def check_batch(
    x: Any, tensor: TensorInfo, max_batch: int, value_range: tuple[float, float] | None = None
) -> np.ndarray:
    """``x`` as a contiguous array of the card's dtype, or an :class:`ApiError` saying why not.

    Checks, in order: numeric dtype, rank, empty and oversized batch, every non-batch
    dimension, NaN/inf, and the card's ``input_range`` when it gives one.
    Introduced in notebooks/07_serving_with_flask.ipynb.
    """
    x = np.asarray(x)
    if x.dtype.kind not in "iuf":
        raise ApiError(f"input must be numbers; got values of type {x.dtype}")
    expected = tuple(d if d is not None else -1 for d in tensor.shape)
    if x.ndim != len(expected):
        raise ApiError(
            f"input must have shape {list(expected)} (-1: any batch size); got {list(x.shape)}"
        )
    if x.shape[0] == 0:
        raise ApiError("empty batch: send at least one instance")
    if x.shape[0] > max_batch:
        raise PayloadTooLarge(f"batch of {x.shape[0]} instances exceeds the limit of {max_batch}")
    if any(e not in (-1, d) for e, d in zip(expected[1:], x.shape[1:], strict=True)):
        raise ApiError(
            f"input must have shape {list(expected)} (-1: any batch size); got {list(x.shape)}"
        )
    with np.errstate(over="ignore", invalid="ignore"):
        x = np.ascontiguousarray(x, dtype=np.dtype(tensor.dtype))
    if not x.flags.aligned:  # binary tensors start wherever the JSON header ends
        x = x.copy()
    if x.dtype.kind != "f" and value_range is None:
        return x
    # Two passes and no temporary array: NaN propagates through min and max, and an infinity
    # is the min or the max, so both are finite exactly when every value is.
    smallest, largest = x.min(), x.max()
    if x.dtype.kind == "f" and not (np.isfinite(smallest) and np.isfinite(largest)):
        raise ApiError(f"input contains NaN or infinity (or values too large for {tensor.dtype})")
    if value_range is not None:
        low, high = value_range
        if smallest < low or largest > high:
            raise ApiError(
                f"input values must lie in [{low}, {high}] (see the model card's "
                f"preprocessing); got [{smallest:.4g}, {largest:.4g}]"
            )
    return x


@dataclass
class LoadedModel:
    """One model version, ready to serve: its card, its folder and an open runtime session."""

    card: ModelCard
    folder: Path
    runner: OnnxRunner

    @property
    def name(self) -> str:
        return self.card.name

    @property
    def version(self) -> int:
        return self.card.version

    @property
    def value_range(self) -> tuple[float, float] | None:
        bounds = self.card.preprocessing.get("input_range")
        return (float(bounds[0]), float(bounds[1])) if bounds else None

    def check(self, x: Any, max_batch: int) -> np.ndarray:
        """The batch ``x`` validated against this model's card (see :func:`check_batch`).

        The batch limit is the server's ``max_batch`` or the card's own, whichever is lower.
        """
        limit = min(max_batch, self.card.max_batch or max_batch)
        return check_batch(x, self.card.input, limit, self.value_range)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Run an already checked batch as one call into ONNX Runtime."""
        return self.runner.predict(x)


def load_version(folder: Path, threads: int = 1, providers: tuple[str, ...] = CPU) -> LoadedModel:
    """Read, validate and verify one version folder, then open its default ONNX file."""
    card = read_card(folder / "card.json")
    problems = verify_files(card, folder)
    if card.name != folder.parent.name or str(card.version) != folder.name:
        problems.append(
            f"card says {card.name}/{card.version}, folder is {folder.parent.name}/{folder.name}"
        )
    if card.file().format != "onnx":
        problems.append(f"default file {card.default_file} is not ONNX")
    if problems:
        raise RepositoryError(f"{folder}: refusing to serve:\n  " + "\n  ".join(problems))
    return LoadedModel(card, folder, OnnxRunner(folder / card.default_file, threads, providers))


class ModelRepository:
    """Every version of every model under ``root``, loaded once. Introduced in lesson 07."""

    def __init__(
        self,
        root: str | Path,
        threads: int = 1,
        pinned: dict[str, int] | None = None,
        providers: tuple[str, ...] = CPU,
    ) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise RepositoryError(f"model repository {self.root} is not a folder")
        self.models: dict[str, dict[int, LoadedModel]] = {}
        for card in sorted(self.root.glob("*/*/card.json")):
            if not _is_number(card.parent.name):
                continue
            model = load_version(card.parent, threads, providers)
            self.models.setdefault(model.name, {})[model.version] = model
            log.info("loaded %s/%s from %s", model.name, model.version, card.parent)
        if not self.models:
            raise RepositoryError(f"no <name>/<version>/card.json under {self.root}")
        self.pinned = dict(pinned or {})
        for name, version in self.pinned.items():
            if version not in self.models.get(name, {}):
                raise RepositoryError(
                    f"pinned {name}/{version} is not in {self.root} "
                    f"(it has {sorted(self.models.get(name, {}))})"
                )

    def names(self) -> list[str]:
        """Model names, sorted."""
        return sorted(self.models)

    def versions(self, name: str) -> list[int]:
        """The versions of ``name``, ascending (404 when the model is unknown)."""
        if name not in self.models:
            raise NotFound(f"unknown model {name!r}; this server has {self.names()}")
        return sorted(self.models[name])

    def get(self, name: str, version: str | int | None = None) -> LoadedModel:
        """``name`` at ``version`` (default: the pinned one, else the newest); 404 when unknown."""
        versions = self.versions(name)
        if version is None or version == "":
            return self.models[name][self.pinned.get(name, versions[-1])]
        if not _is_number(str(version)) or int(version) not in versions:
            raise NotFound(
                f"model {name!r} has no version {str(version)[:20]!r}; versions: {versions}"
            )
        return self.models[name][int(version)]
