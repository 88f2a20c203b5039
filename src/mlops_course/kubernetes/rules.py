"""Review Deployments against the rules behind checkov's Kubernetes checks, with or without it.

Introduced in notebooks/11_kubernetes.ipynb. :func:`review` states a few rules a careful team
follows (probes, requests and limits, a hardened ``securityContext``, a NetworkPolicy, no replica
count beside an HPA, hashed ConfigMap names, a PodDisruptionBudget that lets unhealthy pods go),
each tied to the checkov check that enforces it where checkov has one (else to kube-score's), so
the rules still run where checkov (:mod:`mlops_course.policy`) is not installed;
:func:`checkov_failed` runs checkov itself.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from mlops_course import policy
from mlops_course.kubernetes.kustomize import configmap_hash, configmap_references
from mlops_course.kubernetes.manifests import (
    Manifest,
    pod_labels,
    pod_spec,
    resource_id,
    security_context,
    selects,
    to_yaml,
)

SKIP_ANNOTATION = "checkov.io/skip"  # checkov.io/skip1: CKV_K8S_43=why

#: A Deployment as a typical tutorial writes it: valid, and breaking every rule below.
TUTORIAL_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: image-classifier
spec:
  replicas: 3
  selector:
    matchLabels:
      app: image-classifier
  template:
    metadata:
      labels:
        app: image-classifier
    spec:
      containers:
      - name: image-classifier
        image: image-classifier:latest
        ports:
        - containerPort: 5000
"""

#: rule → the checkov check that enforces it (None: a course rule checkov has no check for).
RULES: dict[str, str | None] = {
    "readiness probe": "CKV_K8S_9",
    "liveness probe": "CKV_K8S_8",
    "startup probe": None,
    "CPU request": "CKV_K8S_10",
    "CPU limit": "CKV_K8S_11",
    "memory request": "CKV_K8S_12",
    "memory limit": "CKV_K8S_13",
    "ephemeral-storage request": None,
    "ephemeral-storage limit": None,
    "fixed image tag": "CKV_K8S_14",
    "allowPrivilegeEscalation false": "CKV_K8S_20",
    "not in the default namespace": "CKV_K8S_21",
    "readOnlyRootFilesystem true": "CKV_K8S_22",
    "runAsNonRoot true": "CKV_K8S_23",
    "capabilities drop ALL": "CKV_K8S_37",
    "seccomp RuntimeDefault": "CKV_K8S_31",
    "no service account token": "CKV_K8S_38",
    "runAsUser >= 10000": "CKV_K8S_40",
    "maxUnavailable 0": None,
    "a NetworkPolicy selects the pods": "CKV2_K8S_6",
    "no replicas beside an HPA": None,
    "ConfigMap named by its content hash": None,
    "PDB lets unhealthy pods be evicted": None,
}

#: The rules checkov has no check for, and the tool or document that states them.
OTHER_SOURCES: dict[str, str] = {
    "startup probe": "course rule",
    "ephemeral-storage request": "kube-score container-ephemeral-storage-request-and-limit",
    "ephemeral-storage limit": "kube-score container-ephemeral-storage-request-and-limit",
    "maxUnavailable 0": "course rule",
    "no replicas beside an HPA": (
        "kube-score deployment-targeted-by-hpa-does-not-have-replicas-configured"
    ),
    "ConfigMap named by its content hash": "kustomize configMapGenerator (course rule)",
    "PDB lets unhealthy pods be evicted": "Kubernetes KEP-3017 unhealthyPodEvictionPolicy",
}


def review(manifests: list[Manifest]) -> list[str]:
    """Every Deployment's broken :data:`RULES`, as ``Deployment/ns/name: rule`` (empty: clean)."""
    problems = []
    for deployment in (m for m in manifests if m.get("kind") == "Deployment"):
        broken = (
            _deployment_rules(deployment, manifests)
            | _container_rules(deployment)
            | _neighbour_rules(deployment, manifests)
        )
        problems += [f"{resource_id(deployment)}: {rule}" for rule in RULES if rule in broken]
    return problems


def _deployment_rules(deployment: Manifest, manifests: list[Manifest]) -> set[str]:
    """The rules about the Deployment and its pod as a whole."""
    policies = [m for m in manifests if m.get("kind") == "NetworkPolicy"]
    meta, spec, pod = (
        deployment.get("metadata", {}),
        deployment.get("spec", {}),
        pod_spec(deployment),
    )
    namespace = meta.get("namespace", "default")
    broken = set()
    if namespace == "default":
        broken.add("not in the default namespace")
    if pod.get("automountServiceAccountToken") is not False:
        broken.add("no service account token")
    if spec.get("strategy", {}).get("rollingUpdate", {}).get("maxUnavailable") != 0:
        broken.add("maxUnavailable 0")
    labels = pod_labels(deployment)
    if not any(
        p.get("metadata", {}).get("namespace", "default") == namespace
        and selects(p.get("spec", {}).get("podSelector", {}).get("matchLabels", {}), labels)
        for p in policies
    ):
        broken.add("a NetworkPolicy selects the pods")
    return broken


def _container_rules(deployment: Manifest) -> set[str]:
    """The rules every container must follow (its settings over the pod's securityContext)."""
    pod = pod_spec(deployment)
    broken = set()
    for container in pod.get("containers", []) or [{}]:
        security = security_context(pod, container)
        resources = container.get("resources", {})
        for probe in ("readiness", "liveness", "startup"):
            if not container.get(f"{probe}Probe"):
                broken.add(f"{probe} probe")
        for kind in ("requests", "limits"):
            for resource, word in (
                ("cpu", "CPU"),
                ("memory", "memory"),
                ("ephemeral-storage", "ephemeral-storage"),
            ):
                if resources.get(kind, {}).get(resource) in (None, ""):
                    broken.add(f"{word} {kind[:-1]}")
        image = str(container.get("image", ""))
        tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
        if "@sha256:" not in image and tag in ("", "latest"):
            broken.add("fixed image tag")
        if security.get("allowPrivilegeEscalation") is not False:
            broken.add("allowPrivilegeEscalation false")
        if security.get("readOnlyRootFilesystem") is not True:
            broken.add("readOnlyRootFilesystem true")
        if security.get("runAsNonRoot") is not True:
            broken.add("runAsNonRoot true")
        if not isinstance(security.get("runAsUser"), int) or security["runAsUser"] < 10000:
            broken.add("runAsUser >= 10000")
        if "ALL" not in security.get("capabilities", {}).get("drop", []):
            broken.add("capabilities drop ALL")
        if security.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            broken.add("seccomp RuntimeDefault")
    return broken


def _same_namespace(a: Manifest, b: Manifest) -> bool:
    return a.get("metadata", {}).get("namespace", "default") == b.get("metadata", {}).get(
        "namespace", "default"
    )


def _neighbour_rules(deployment: Manifest, manifests: list[Manifest]) -> set[str]:
    """The rules about the objects around the Deployment: its HPA, ConfigMaps and PDBs."""
    name, labels = deployment.get("metadata", {}).get("name"), pod_labels(deployment)
    near = [m for m in manifests if _same_namespace(m, deployment)]
    broken = set()
    scaled = any(
        m.get("kind") == "HorizontalPodAutoscaler"
        and m.get("spec", {}).get("scaleTargetRef", {}).get("kind") == "Deployment"
        and m.get("spec", {}).get("scaleTargetRef", {}).get("name") == name
        for m in near
    )
    if scaled and "replicas" in deployment.get("spec", {}):
        broken.add("no replicas beside an HPA")
    configmaps = {
        m.get("metadata", {}).get("name"): m for m in near if m.get("kind") == "ConfigMap"
    }
    for reference in configmap_references(deployment):
        configmap = configmaps.get(reference)
        if configmap is not None and not str(reference).endswith(
            "-" + configmap_hash(configmap.get("data") or {})
        ):
            broken.add("ConfigMap named by its content hash")
    for budget in (m for m in near if m.get("kind") == "PodDisruptionBudget"):
        selector = budget.get("spec", {}).get("selector", {}).get("matchLabels", {})
        eviction = budget.get("spec", {}).get("unhealthyPodEvictionPolicy")
        if selects(selector, labels) and eviction != "AlwaysAllow":
            broken.add("PDB lets unhealthy pods be evicted")
    return broken


def checkov_failed(manifests: list[Manifest]) -> set[str] | None:
    """The checkov checks ``manifests`` fail (ids), or None where checkov is not installed.

    Runs :func:`mlops_course.policy.checkov` (lesson 09) on a temporary YAML file; seconds.
    """
    if policy.checkov_path() is None:
        return None
    with tempfile.TemporaryDirectory(prefix="checkov-") as folder:
        path = Path(folder) / "manifests.yaml"
        path.write_text(to_yaml(manifests))
        report = policy.checkov([path], "kubernetes")
    if report.passed + report.failed == 0:
        raise RuntimeError("checkov checked nothing: are these Kubernetes manifests?")
    return {failure.split()[0] for failure in report.failures}


def checkov_skips(manifests: list[Manifest]) -> list[tuple[str, str, str]]:
    """``(resource, check id, reason)`` for every ``checkov.io/skipN: ID=reason`` annotation."""
    skips = []
    for manifest in manifests:
        annotations = manifest.get("metadata", {}).get("annotations", {}) or {}
        for key, value in annotations.items():
            if key.startswith(SKIP_ANNOTATION):
                check, _, reason = str(value).partition("=")
                skips.append((resource_id(manifest), check.strip(), " ".join(reason.split())))
    return skips
