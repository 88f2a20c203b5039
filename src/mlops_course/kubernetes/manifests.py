"""Kubernetes manifests as data: read, render with kustomize, write, name and find objects.

Introduced in notebooks/11_kubernetes.ipynb. :func:`render` runs ``kubectl kustomize`` (needs
kubectl); :mod:`~mlops_course.kubernetes.kustomize` reads the course's simpler kustomizations
without it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

Manifest = dict[str, Any]

#: Labels the course's manifests use (k8s/base/deployment.yaml).
NAME_LABEL = "app.kubernetes.io/name"
TRACK_LABEL = "mlops-course/track"
MODEL_LABEL = "mlops-course/model"
MODEL_VERSION_LABEL = "mlops-course/model-version"
VERSION_ENV = "DEFAULT_MODEL_VERSION"  # the server's variable (serving/config.py)

#: Kinds that belong to no namespace (the ones a course is likely to meet).
CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "PersistentVolume",
        "PriorityClass",
        "StorageClass",
    }
)


class KubectlMissing(RuntimeError):
    """kubectl is not installed here; the message says what to run where it is."""


class ManifestError(ValueError):
    """A manifest or kustomization cannot be read; the message says which and why."""


def parse_manifests(text: str, source: str = "<text>") -> list[Manifest]:
    """The non-empty YAML documents of ``text``, each a Kubernetes object (a dict with ``kind``)."""
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as error:
        raise ManifestError(f"{source}: not valid YAML: {error}") from None
    for document in documents:
        if not isinstance(document, dict) or "kind" not in document:
            raise ManifestError(f"{source}: every YAML document must be an object with a kind")
    return documents


def load_manifests(path: str | Path) -> list[Manifest]:
    """The objects in one YAML file."""
    path = Path(path)
    return parse_manifests(path.read_text(), str(path))


def kubectl_path() -> str | None:
    """The kubectl executable on the PATH, or None (the course's Docker image has none)."""
    return shutil.which("kubectl")


def render(folder: str | Path, timeout: float = 60) -> list[Manifest]:
    """``kubectl kustomize folder``: the objects ``kubectl apply -k folder`` would send.

    Needs kubectl (no cluster: kustomize runs locally); raises :class:`KubectlMissing` without it.
    """
    kubectl = kubectl_path()
    if kubectl is None:
        raise KubectlMissing(
            f"kubectl is not installed here; where it is, run `kubectl kustomize {folder}`"
        )
    done = subprocess.run(
        [kubectl, "kustomize", str(folder)], capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise ManifestError(f"kubectl kustomize {folder} failed: {done.stderr.strip()[-500:]}")
    return parse_manifests(done.stdout, f"kubectl kustomize {folder}")


class _PlainDumper(yaml.SafeDumper):
    """Writes a dict used twice in full both times (no ``&id001`` anchors and ``*id001``)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def to_yaml(manifests: list[Manifest]) -> str:
    """Manifests as one multi-document YAML text (keys in their original order)."""
    return "---\n".join(
        yaml.dump(m, Dumper=_PlainDumper, sort_keys=False, allow_unicode=True) for m in manifests
    )


def resource_id(manifest: Manifest) -> str:
    """``Kind/namespace/name`` (``Kind/name`` for cluster-wide kinds); no namespace: default."""
    meta = manifest.get("metadata", {}) or {}
    if manifest.get("kind") in CLUSTER_SCOPED:
        return f"{manifest.get('kind')}/{meta.get('name')}"
    return f"{manifest.get('kind')}/{meta.get('namespace', 'default')}/{meta.get('name')}"


def by_id(manifests: list[Manifest]) -> dict[str, Manifest]:
    """Manifests keyed by :func:`resource_id` (order-free comparison of two renderings)."""
    return {resource_id(m): m for m in manifests}


def find(manifests: list[Manifest], kind: str, name: str | None = None) -> Manifest:
    """The one object of ``kind`` (and ``name``); a clear error when there is none or several."""
    found = [
        m
        for m in manifests
        if m.get("kind") == kind and name in (None, m.get("metadata", {}).get("name"))
    ]
    if len(found) != 1:
        raise ManifestError(
            f"expected one {kind}{f' named {name}' if name else ''}, got {len(found)}"
        )
    return found[0]


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Dotted paths where ``a`` and ``b`` differ (``spec.replicas``, ``...containers.0.image``)."""
    if isinstance(a, dict) and isinstance(b, dict):
        prefix = f"{path}." if path else ""
        return [
            d
            for k in sorted(set(a) | set(b), key=str)
            for d in differences(a.get(k), b.get(k), f"{prefix}{k}")
        ]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in differences(x, y, f"{path}.{i}")
        ]
    return [] if a == b else [path]


# --- parts of a Deployment, shared by the review, the canary check and the consistency check ---


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    """Does a (non-empty) ``matchLabels`` selector pick pods carrying ``labels``?"""
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def pod_spec(deployment: Manifest) -> dict[str, Any]:
    """The Deployment's pod template ``spec`` (empty when absent)."""
    return deployment.get("spec", {}).get("template", {}).get("spec", {})


def pod_labels(deployment: Manifest) -> dict[str, str]:
    """The labels on the Deployment's pods (its template's ``metadata.labels``)."""
    return deployment.get("spec", {}).get("template", {}).get("metadata", {}).get("labels", {})


def security_context(pod: dict[str, Any], container: dict[str, Any]) -> dict[str, Any]:
    """The security settings a container runs with: its own ``securityContext`` over the pod's."""
    return {**pod.get("securityContext", {}), **container.get("securityContext", {})}


def container_env(container: dict[str, Any]) -> dict[str, str]:
    """A container's ``env`` as ``{name: value}``."""
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def model_version(deployment: Manifest) -> int | None:
    """The model version a Deployment serves: its pods' ``mlops-course/model-version`` label."""
    value = pod_labels(deployment).get(MODEL_VERSION_LABEL)
    return int(value) if value is not None and str(value).isdigit() else None
