"""Write and read a model repository laid out as ``<out>/<name>/<version>/`` (``models/``).

Every writer builds a version folder with :func:`staged_folder` (built beside the target,
swapped in only when complete, so a server never sees half a version), describes its files
(:func:`describe_file`) and records provenance (:func:`created_timestamp`, :func:`code_info`)
in the card (:mod:`mlops_course.model_card`). :func:`load_keras` gives later lessons the trained
network ``make model`` kept; :func:`add_repository_arguments` is the CLI every builder shares.

Introduced in notebooks/05_train_and_export.ipynb.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlops_course import __version__
from mlops_course.data import Split
from mlops_course.evaluate import tensor_details
from mlops_course.model_card import read_card, sha256_file
from mlops_course.project import git_commit
from mlops_course.runtime import KerasRunner, load_runner

PACKAGE_DIR = Path(__file__).resolve().parent


@contextmanager
def staged_folder(target: str | Path) -> Iterator[Path]:
    """Build ``target`` in a staging folder beside it; swap it in when the block succeeds.

    Yields the (empty) staging folder ``<parent>/.<name>-XXXX``. On success the old ``target``,
    if any, is moved aside, the staging folder renamed to ``target`` (same file system, so each
    rename is atomic) and the old one deleted; if that rename fails the old one is put back. On
    failure ``target`` is untouched. No staging folder is left behind either way.
    Introduced in notebooks/05_train_and_export.ipynb (``make model`` writes every version so).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    staging.chmod(0o755)
    try:
        yield staging
        _swap_in(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _swap_in(staging: Path, target: Path) -> None:
    if not target.exists():
        staging.rename(target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}-old-", dir=target.parent))
    old.rmdir()
    target.rename(old)
    try:
        staging.rename(target)
    except OSError:
        old.rename(target)
        raise
    shutil.rmtree(old, ignore_errors=True)


# --- provenance and file entries -----------------------------------------------------------


def created_timestamp() -> str:
    """UTC now as ISO 8601, or ``SOURCE_DATE_EPOCH`` when set (reproducible builds)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = datetime.fromtimestamp(int(epoch), UTC) if epoch else datetime.now(UTC)
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def code_info(entry_point: str) -> dict[str, Any]:
    """The producing code's version: package version, git commit (or null), entry point."""
    return {
        "package": "mlops_course",
        "package_version": __version__,
        "git_commit": git_commit(PACKAGE_DIR),
        "entry_point": entry_point,
    }


def split_info(source: str, split: Split, stratified: bool) -> dict[str, Any]:
    """A card's ``training_data``: where the data came from and how it was split."""
    return {
        "source": source,
        "n_train": len(split.x_train),
        "n_test": len(split.x_test),
        "test_size": split.test_size,
        "split_seed": split.seed,
        "stratified": stratified,
    }


def describe_file(folder: Path, name: str, precision: str, metrics: dict[str, float]) -> dict:
    """A card's ``files[]`` entry for ``folder/name``: format, size, sha256, tensors, metrics.

    Introduced in notebooks/05_train_and_export.ipynb.
    """
    path = folder / name
    runner = load_runner(path)
    return {
        "path": name,
        "format": path.suffix.lstrip("."),
        "precision": precision,
        "size_bytes": path.stat().st_size,
        "sha256": sha256_file(path),
        "input": tensor_details(runner, "input"),
        "output": tensor_details(runner, "output"),
        "metrics": metrics,
    }


def load_keras(folder: str | Path, name: str = "model.keras") -> Any:
    """The trained Keras network kept in a model version folder, after checking its sha256.

    Introduced in notebooks/06_optimize_models.ipynb: lessons after 05 load this network instead
    of retraining, because training gives different weights on another CPU or core count.
    """
    folder = Path(folder)
    entry = read_card(folder / "card.json").file(name)
    digest = sha256_file(folder / name)
    if digest != entry.sha256:
        raise ValueError(
            f"{folder / name}: sha256 {digest[:12]}… is not the card's {entry.sha256[:12]}…"
        )
    return KerasRunner(folder / name).model


# --- the command line every model builder shares --------------------------------------------


def whole_number(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number >= ``minimum``, with a readable error otherwise."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            got = text if value is None else value
            raise argparse.ArgumentTypeError(f"expected a whole number >= {minimum}, got {got!r}")
        return value

    return parse


def add_repository_arguments(parser: argparse.ArgumentParser, epochs: int, what: str) -> None:
    """``--out``, ``--version``, ``--seed`` and ``--epochs``, for each model-building CLI."""
    parser.add_argument("--out", type=Path, required=True, help="model repository folder")
    parser.add_argument("--version", type=whole_number(1), default=1, help="version folder (>= 1)")
    parser.add_argument("--seed", type=whole_number(0), default=0, help="training seed")
    parser.add_argument(
        "--epochs", type=whole_number(1), default=epochs, help=f"{what} (default {epochs})"
    )


def check_repository_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse (``parser.error``, exit 2) an ``--out`` that exists and is not a folder."""
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"--out {args.out} exists and is not a folder")
