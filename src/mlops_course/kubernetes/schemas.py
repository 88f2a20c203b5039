"""Validate manifests against the Kubernetes API's JSON schemas, for chosen Kubernetes versions.

Introduced in notebooks/11_kubernetes.ipynb. The schemas ship with ``kubernetes-validate``;
KServe's custom resources are checked against the CRD schemas the course vendors
(:mod:`~mlops_course.kubernetes.custom_resources`). :func:`validate` is strict (unknown fields are
errors), and a kind it has no schema for is a failure, not a warning to ignore.
"""

from __future__ import annotations

import importlib.resources
import re
from dataclasses import dataclass

from mlops_course.kubernetes.custom_resources import custom_errors, has_schema
from mlops_course.kubernetes.manifests import Manifest, resource_id

SCHEMAS = "kubernetes-json-schema"

#: The oldest Kubernetes the course's manifests are written for: the PodDisruptionBudget's
#: ``unhealthyPodEvictionPolicy`` is beta and on by default from 1.27 (KEP-3017, GA in 1.31);
#: 1.25's API does not know the field (strict validation fails), 1.26's ignores it (alpha, off).
OLDEST_KUBERNETES = "1.27"


def _schema_file(api_version: str, kind: str, version: str, strict: bool = True) -> str:
    """kubernetes-validate's file name: ``apps/v1`` Deployment → ``deployment-apps-v1.json``."""
    api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    return f"v{version}-local{'-strict' if strict else ''}/{kind.lower()}-{api}.json"


def schema_versions() -> list[str]:
    """Every Kubernetes version kubernetes-validate ships schemas for, oldest first (``1.25``)."""
    from kubernetes_validate.utils import all_versions

    return sorted({v.rsplit(".", 1)[0] for v in all_versions()}, key=_version_key)


def supported_versions(manifests: list[Manifest]) -> list[str]:
    """The Kubernetes versions whose API has every (apiVersion, kind) that ``manifests`` use.

    A custom resource with a vendored CRD schema counts as present in every version (its CRD
    adds it to whichever cluster it is installed in).
    """
    schemas = importlib.resources.files("kubernetes_validate") / SCHEMAS
    kinds = {(m.get("apiVersion", ""), m.get("kind", "")) for m in manifests if not has_schema(m)}
    return [
        version
        for version in schema_versions()
        if all((schemas / _schema_file(api, kind, f"{version}.0")).is_file() for api, kind in kinds)
    ]


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(map(int, version.split(".")))


def course_versions(manifests: list[Manifest]) -> list[str]:
    """:func:`supported_versions` from :data:`OLDEST_KUBERNETES` on: what the course targets."""
    oldest = _version_key(OLDEST_KUBERNETES)
    return [v for v in supported_versions(manifests) if _version_key(v) >= oldest]


@dataclass(frozen=True)
class Validation:
    """One object checked against one Kubernetes version's schema."""

    resource: str
    version: str
    error: str | None = None  # None: it passed

    @property
    def ok(self) -> bool:
        return self.error is None

    def __str__(self) -> str:
        return f"{self.resource} @ {self.version}: {self.error or 'ok'}"


def validate(
    manifests: list[Manifest], versions: list[str] | None = None, strict: bool = True
) -> list[Validation]:
    """Each manifest against each version's schema (default: the oldest and newest supported).

    ``strict`` refuses fields the API does not define (a typo like ``livenesProbe``). A kind with
    no schema (a custom resource the course does not vendor, an API removed in that version)
    fails too: the command line tool only warns about it and exits 0, which would let anything
    through. Vendored custom resources are always checked strictly, the same for every version.
    """
    import kubernetes_validate
    from kubernetes_validate.utils import SchemaNotFoundError, ValidationError

    if versions is None:
        supported = supported_versions(manifests) or schema_versions()
        versions = sorted({supported[0], supported[-1]}, key=supported.index)
    results = []
    for manifest in manifests:
        for version in versions:
            name = resource_id(manifest)
            if has_schema(manifest):
                errors = custom_errors(manifest)
                results.append(Validation(name, version, errors[0] if errors else None))
                continue
            try:
                kubernetes_validate.validate(manifest, version, strict=strict)
                results.append(Validation(name, version))
            except ValidationError as error:
                where = ".".join(str(p) for p in error.path) or "(top level)"
                results.append(Validation(name, version, f"{where}: {error.message}"))
            except SchemaNotFoundError as error:
                results.append(Validation(name, version, f"no schema: {error.message}"))
            except (KeyError, TypeError) as error:  # no apiVersion/kind, or not an object
                results.append(Validation(name, version, f"not a Kubernetes object: {error!r}"))
    return results


def validation_errors(results: list[Validation]) -> list[str]:
    """The failed validations as readable lines (empty: everything passed)."""
    return [str(r) for r in results if not r.ok]
