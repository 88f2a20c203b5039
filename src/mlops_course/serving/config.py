"""The server's settings: one frozen dataclass, read from the environment for gunicorn.

Introduced in notebooks/07_serving_with_flask.ipynb.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path


@dataclass(frozen=True)
class ServingConfig:
    """Limits and runtime settings; every limit exists so bad input cannot exhaust the server."""

    model_repository: Path = Path("models")
    default_model: str = "digits"
    # Pins the version of ``default_model`` that requests without a version get (default: the
    # newest). A Deployment sets it, so a canary can serve version 2 from the same image.
    default_version: int | None = None
    max_content_length: int = 4 * 1024 * 1024  # bytes per request body; larger → 413
    max_batch: int = 256  # instances per request; larger → 400
    max_image_pixels: int = 4_000_000  # width × height of an upload, checked before decoding
    threads: int = 1  # ONNX Runtime intra-op threads per model (per gunicorn worker)
    # ONNX Runtime execution providers in order of preference; the GPU image asks for CUDA first.
    providers: tuple[str, ...] = ("CPUExecutionProvider",)
    # Overload protection (see :mod:`.overload`): gunicorn's threads per worker, and how many of
    # them may run inference at once (default: half, the rest kept free for probes and refusals);
    # beyond it a request is answered 503 at once, with ``Retry-After: retry_after`` seconds.
    http_threads: int = 4
    max_inflight: int | None = None
    retry_after: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "model_repository", Path(self.model_repository))
        limits = ["max_content_length", "max_batch", "max_image_pixels", "threads", "http_threads"]
        limits += ["retry_after"] + ([] if self.max_inflight is None else ["max_inflight"])
        for name in limits:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.providers:
            raise ValueError("providers must name at least one ONNX Runtime execution provider")

    @property
    def inflight_limit(self) -> int:
        """Inference requests a worker runs at once: ``max_inflight``, else half the threads."""
        return max(1, self.http_threads // 2) if self.max_inflight is None else self.max_inflight


#: environment variable → field; e.g. ``MAX_BATCH=64 make serve``.
ENVIRONMENT = {
    "MODEL_REPOSITORY": "model_repository",
    "DEFAULT_MODEL": "default_model",
    "DEFAULT_MODEL_VERSION": "default_version",
    "MAX_CONTENT_LENGTH": "max_content_length",
    "MAX_BATCH": "max_batch",
    "MAX_IMAGE_PIXELS": "max_image_pixels",
    "ORT_THREADS": "threads",
    "ORT_PROVIDERS": "providers",  # comma-separated: CUDAExecutionProvider,CPUExecutionProvider
    "GUNICORN_THREADS": "http_threads",  # gunicorn_conf sets it to the threads really used
    "MAX_INFLIGHT": "max_inflight",
    "RETRY_AFTER": "retry_after",
}


def config_from_env(environ: dict[str, str] | None = None) -> ServingConfig:
    """A :class:`ServingConfig` with the defaults overridden by ``ENVIRONMENT`` variables."""
    environ = os.environ if environ is None else environ
    types = {f.name: f.type for f in fields(ServingConfig)}
    changes: dict = {}
    for variable, name in ENVIRONMENT.items():
        if variable in environ:
            value = environ[variable]
            if types[name].startswith("int"):
                if not value.strip().isdecimal():
                    raise ValueError(f"{variable} must be a whole number, got {value!r}")
                changes[name] = int(value)
            elif types[name].startswith("tuple"):
                changes[name] = tuple(part.strip() for part in value.split(",") if part.strip())
            else:
                changes[name] = value
    return replace(ServingConfig(), **changes)
