"""Validate custom resources (KServe's) against their vendored CRD schemas, strictly.

Introduced in notebooks/11_kubernetes.ipynb. kubernetes-validate knows only the built-in kinds;
``crds/`` holds the ``openAPIV3Schema`` of KServe's ``InferenceService`` and ``ServingRuntime``
(source, commit and version in ``crds/README.md``). :func:`custom_schema` turns one into a JSON
schema that refuses unknown fields, as an API server with strict field validation does
(``kubectl apply`` since 1.27): ``additionalProperties: false`` wherever the CRD lists properties
and does not say ``x-kubernetes-preserve-unknown-fields``; ``nullable`` allows ``null``; metadata
may hold only ObjectMeta's fields.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
from typing import Any

from mlops_course.kubernetes.manifests import Manifest

CRDS = "crds"

#: The fields of a Kubernetes object's ``metadata`` (ObjectMeta, meta/v1).
OBJECT_META = {
    "name": {"type": "string"},
    "generateName": {"type": "string"},
    "namespace": {"type": "string"},
    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
    "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    "finalizers": {"type": "array", "items": {"type": "string"}},
    "ownerReferences": {"type": "array"},
    "uid": {"type": "string"},
    "resourceVersion": {"type": "string"},
    "generation": {"type": "integer"},
    "creationTimestamp": {},
    "deletionTimestamp": {},
    "deletionGracePeriodSeconds": {"type": "integer"},
    "managedFields": {"type": "array"},
    "selfLink": {"type": "string"},
}


def schema_name(api_version: str, kind: str) -> str:
    """The vendored file for an object: ``serving.kserve.io/v1beta1`` InferenceService →
    ``inferenceservice-serving.kserve.io-v1beta1.json``."""
    group, _, version = api_version.rpartition("/")
    return f"{kind.lower()}-{group}-{version}.json"


def vendored() -> set[str]:
    """The file names of every vendored CRD schema (none where an install left ``crds/`` out)."""
    folder = importlib.resources.files("mlops_course.kubernetes") / CRDS
    if not folder.is_dir():
        return set()
    return {f.name for f in folder.iterdir() if f.name.endswith(".json")}


def has_schema(manifest: Manifest) -> bool:
    """Is ``manifest`` a custom resource whose CRD schema the course vendors?"""
    api, kind = str(manifest.get("apiVersion", "")), str(manifest.get("kind", ""))
    return "/" in api and schema_name(api, kind) in vendored()


def _strict(schema: Any) -> Any:
    """A structural CRD schema as a JSON schema that refuses unknown fields."""
    if isinstance(schema, list):
        return [_strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key in ("properties", "patternProperties"):
            out[key] = {name: _strict(s) for name, s in value.items()}
        elif key in ("items", "additionalProperties", "not", "anyOf", "allOf", "oneOf"):
            out[key] = _strict(value)
        else:
            out[key] = value
    if (
        "properties" in schema
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    if schema.get("nullable") and isinstance(schema.get("type"), str):
        out["type"] = [schema["type"], "null"]
    return out


@functools.cache
def custom_schema(api_version: str, kind: str) -> dict[str, Any]:
    """The strict JSON schema of a vendored custom resource (read and converted once)."""
    path = (
        importlib.resources.files("mlops_course.kubernetes") / CRDS / schema_name(api_version, kind)
    )
    schema = _strict(json.loads(path.read_text()))
    schema["properties"] = {
        **schema["properties"],
        "apiVersion": {"const": api_version},
        "kind": {"const": kind},
        "metadata": {"type": "object", "properties": OBJECT_META, "additionalProperties": False},
    }
    schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind", "metadata"})
    return schema


def custom_errors(manifest: Manifest) -> list[str]:
    """Where ``manifest`` breaks its CRD schema, as ``path: message`` (empty: it is valid)."""
    import jsonschema

    schema = custom_schema(manifest["apiVersion"], manifest["kind"])
    validator = jsonschema.Draft7Validator(schema)
    return [
        f"{'.'.join(str(p) for p in error.absolute_path) or '(top level)'}: {error.message}"
        for error in sorted(
            validator.iter_errors(manifest), key=lambda e: [str(p) for p in e.absolute_path]
        )
    ]
