"""Kubernetes manifests for the model server: load, render, validate, review, check consistency.

Introduced in notebooks/09_kubernetes.ipynb (lab: solutions/09_kubernetes_lab.ipynb).

- :func:`load_kustomization` reads a kustomization that only lists ``resources`` (as ``k8s/``,
  ``k8s/base`` and the canary overlay do) without any tool; :func:`render` runs
  ``kubectl kustomize`` for anything else (patches), and needs kubectl.
- :func:`validate` checks manifests against the Kubernetes API's JSON schemas shipped with
  ``kubernetes-validate``, strictly (unknown fields are errors), for chosen Kubernetes versions;
  a kind it has no schema for is a failure, not a warning to ignore.
- :func:`review` states a few rules a careful team follows (probes, requests and limits, a
  hardened ``securityContext``, a NetworkPolicy), each tied to the checkov check that enforces it,
  so the rules still run where checkov (``mlops_course.policy``) is not installed.
- :func:`check_canary` and :func:`consistency_problems` check the canary against the stable
  Deployment, and the manifests against the serving image and the server.
"""

from __future__ import annotations

import ast
import copy
import importlib.resources
import json
import math
import re
import shlex
import shutil
import subprocess
import tempfile
import tomllib
from dataclasses import dataclass, field
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
SKIP_ANNOTATION = "checkov.io/skip"  # checkov.io/skip1: CKV_K8S_43=why


class KubectlMissing(RuntimeError):
    """kubectl is not installed here; the message says what to run where it is."""


class ManifestError(ValueError):
    """A manifest or kustomization cannot be read; the message says which and why."""


# --- loading and rendering -------------------------------------------------------------------


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


def load_kustomization(folder: str | Path) -> list[Manifest]:
    """What ``kubectl kustomize folder`` renders, for a kustomization that only lists resources.

    Each resource is a YAML file or a folder with its own kustomization (read recursively). Any
    other field (patches, name prefixes, generators) changes the objects, so that needs the real
    tool: :func:`render`. Objects come in the order listed (kustomize sorts them by kind).
    """
    folder = Path(folder)
    config_path = folder / "kustomization.yaml"
    if not config_path.is_file():
        raise ManifestError(f"{folder}: no kustomization.yaml")
    config = yaml.safe_load(config_path.read_text()) or {}
    extra = sorted(set(config) - {"apiVersion", "kind", "resources"})
    if extra:
        raise ManifestError(
            f"{config_path} uses {', '.join(extra)}: render it with kustomize "
            f"(`kubectl kustomize {folder}`, kubernetes.render)"
        )
    manifests: list[Manifest] = []
    for entry in config.get("resources", []):
        target = folder / entry
        manifests += load_kustomization(target) if target.is_dir() else load_manifests(target)
    return manifests


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


#: Kinds that belong to no namespace (the ones a course is likely to meet).
CLUSTER_SCOPED = frozenset(
    {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
     "PersistentVolume", "PriorityClass", "StorageClass"}
)  # fmt: skip


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


# --- schema validation -----------------------------------------------------------------------

SCHEMAS = "kubernetes-json-schema"


def _schema_file(api_version: str, kind: str, version: str, strict: bool = True) -> str:
    """kubernetes-validate's file name: ``apps/v1`` Deployment → ``deployment-apps-v1.json``."""
    api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    return f"v{version}-local{'-strict' if strict else ''}/{kind.lower()}-{api}.json"


def schema_versions() -> list[str]:
    """Every Kubernetes version kubernetes-validate ships schemas for, oldest first (``1.25``)."""
    from kubernetes_validate.utils import all_versions

    return sorted(
        {v.rsplit(".", 1)[0] for v in all_versions()}, key=lambda v: tuple(map(int, v.split(".")))
    )


def supported_versions(manifests: list[Manifest]) -> list[str]:
    """The Kubernetes versions whose API has every (apiVersion, kind) that ``manifests`` use."""
    schemas = importlib.resources.files("kubernetes_validate") / SCHEMAS
    kinds = {(m.get("apiVersion", ""), m.get("kind", "")) for m in manifests}
    return [
        version
        for version in schema_versions()
        if all((schemas / _schema_file(api, kind, f"{version}.0")).is_file() for api, kind in kinds)
    ]


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
    no schema (a custom resource, an API removed in that version) fails too: the command line
    tool only warns about it and exits 0, which would let anything through.
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


# --- review: the rules behind checkov's Kubernetes checks, without checkov -------------------

#: rule → the checkov check that enforces it (None: a course rule checkov has no check for).
RULES: dict[str, str | None] = {
    "readiness probe": "CKV_K8S_9",
    "liveness probe": "CKV_K8S_8",
    "startup probe": None,
    "CPU request": "CKV_K8S_10",
    "CPU limit": "CKV_K8S_11",
    "memory request": "CKV_K8S_12",
    "memory limit": "CKV_K8S_13",
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
}


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def review(manifests: list[Manifest]) -> list[str]:
    """Every Deployment's broken :data:`RULES`, as ``Deployment/ns/name: rule`` (empty: clean)."""
    policies = [m for m in manifests if m.get("kind") == "NetworkPolicy"]
    problems = []
    for deployment in (m for m in manifests if m.get("kind") == "Deployment"):
        broken = _deployment_rules(deployment, policies)
        problems += [f"{resource_id(deployment)}: {rule}" for rule in RULES if rule in broken]
    return problems


def _deployment_rules(deployment: Manifest, policies: list[Manifest]) -> set[str]:
    meta, spec = deployment.get("metadata", {}), deployment.get("spec", {})
    template = spec.get("template", {})
    pod = template.get("spec", {})
    pod_security = pod.get("securityContext", {})
    broken = set()
    if meta.get("namespace", "default") == "default":
        broken.add("not in the default namespace")
    if pod.get("automountServiceAccountToken") is not False:
        broken.add("no service account token")
    if spec.get("strategy", {}).get("rollingUpdate", {}).get("maxUnavailable") != 0:
        broken.add("maxUnavailable 0")
    labels = template.get("metadata", {}).get("labels", {})
    namespace = meta.get("namespace", "default")
    if not any(
        p.get("metadata", {}).get("namespace", "default") == namespace
        and _selects(p.get("spec", {}).get("podSelector", {}).get("matchLabels", {}), labels)
        for p in policies
    ):
        broken.add("a NetworkPolicy selects the pods")
    for container in pod.get("containers", []) or [{}]:
        security = {**pod_security, **container.get("securityContext", {})}
        resources = container.get("resources", {})
        for probe in ("readiness", "liveness", "startup"):
            if not container.get(f"{probe}Probe"):
                broken.add(f"{probe} probe")
        for kind in ("requests", "limits"):
            for resource, word in (("cpu", "CPU"), ("memory", "memory")):
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


def checkov_failed(manifests: list[Manifest]) -> set[str] | None:
    """The checkov checks ``manifests`` fail (ids), or None where checkov is not installed.

    Runs :func:`mlops_course.policy.checkov` (lesson 08) on a temporary YAML file; seconds.
    """
    from mlops_course import policy

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


# --- capacity, scaling and rollout arithmetic ------------------------------------------------

_QUANTITY = {"": 1, "m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "k": 1e3, "M": 1e6, "G": 1e9}


def quantity(value: str | int | float) -> float:
    """A Kubernetes quantity as a number: ``500m`` → 0.5 (CPU cores), ``256Mi`` → 268435456."""
    match = re.fullmatch(r"([0-9.]+)(m|Ki|Mi|Gi|k|M|G)?", str(value).strip())
    if not match:
        raise ValueError(f"not a Kubernetes quantity this helper reads: {value!r}")
    return float(match[1]) * _QUANTITY[match[2] or ""]


def qos_class(pod_spec: dict[str, Any]) -> str:
    """The pod's QoS class: Guaranteed (limits == requests), Burstable, or BestEffort (none)."""
    containers = pod_spec.get("containers", [])
    resources = [c.get("resources", {}) for c in containers]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    guaranteed = all(
        r.get("limits", {}).get(kind) is not None
        and quantity(r.get("requests", r["limits"]).get(kind, r["limits"][kind]))
        == quantity(r["limits"][kind])
        for r in resources
        for kind in ("cpu", "memory")
    )
    return "Guaranteed" if guaranteed else "Burstable"


def hpa_desired_replicas(
    current: int, utilization: float, target: float, minimum: int = 1, maximum: int = 10
) -> int:
    """The HPA's rule: ``ceil(current × utilization / target)``, within [minimum, maximum].

    (It leaves the count alone within a 10 % tolerance of the target.)
    """
    ratio = utilization / target
    desired = current if abs(ratio - 1) <= 0.1 else math.ceil(current * ratio)
    return max(minimum, min(maximum, desired))


def rollout_steps(replicas: int, max_surge: int, max_unavailable: int) -> list[tuple[int, int]]:
    """(old, new) pods after each action of a rolling update, taking new pods as ready at once.

    The controller alternates: start new pods while the total stays within ``replicas +
    max_surge``; stop old pods while at least ``replicas - max_unavailable`` stay ready.
    """
    if max_surge < 0 or max_unavailable < 0 or max_surge + max_unavailable == 0:
        raise ValueError("maxSurge and maxUnavailable must be >= 0 and not both 0")
    old, new = replicas, 0
    steps = [(old, new)]
    while (old, new) != (0, replicas):
        new = min(replicas, new + max(0, replicas + max_surge - old - new))
        if steps[-1] != (old, new):
            steps.append((old, new))
        old -= min(old, max(0, old + new - (replicas - max_unavailable)))
        if steps[-1] != (old, new):
            steps.append((old, new))
    return steps


def tree_rss_mib(pid: int) -> float | None:
    """Resident memory of a process and all its descendants in MiB (Linux /proc; else None).

    What a container's memory limit sees for a server and its workers (page cache aside).
    """

    def rss_and_children(one: int) -> tuple[int, list[int]]:
        match = re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{one}/status").read_text())
        children = [
            int(c) for task in Path(f"/proc/{one}/task").iterdir()
            for c in (task / "children").read_text().split()
        ]  # fmt: skip
        return (int(match[1]) if match else 0), children

    try:
        total, todo = rss_and_children(pid)
    except OSError:  # not Linux, or no such process
        return None
    while todo:
        try:
            rss, children = rss_and_children(todo.pop())
        except OSError:  # a child that just exited
            continue
        total, todo = total + rss, todo + children
    return total / 1024


def canary_share(stable: Manifest, canary: Manifest) -> float:
    """The canary's share of requests when a Service spreads them evenly over ready pods."""
    s, c = stable["spec"].get("replicas", 1), canary["spec"].get("replicas", 1)
    return c / (s + c)


# --- the canary and the consistency with the image -------------------------------------------


def _pod(deployment: Manifest) -> dict[str, Any]:
    return deployment.get("spec", {}).get("template", {}).get("spec", {})


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def model_version(deployment: Manifest) -> int | None:
    """The model version a Deployment serves: its pods' ``mlops-course/model-version`` label."""
    labels = deployment.get("spec", {}).get("template", {}).get("metadata", {}).get("labels", {})
    value = labels.get(MODEL_VERSION_LABEL)
    return int(value) if value is not None and str(value).isdigit() else None


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Dotted paths where ``a`` and ``b`` differ (``spec.replicas``, ``...containers.0.image``)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [
            d for k in sorted(set(a) | set(b), key=str)
            for d in differences(a.get(k), b.get(k), f"{path}.{k}" if path else str(k))
        ]  # fmt: skip
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in differences(x, y, f"{path}.{i}")
        ]
    return [] if a == b else [path]


def check_canary(stable: Manifest, canary: Manifest, service: Manifest) -> list[str]:
    """What is wrong with ``canary`` as a canary of ``stable`` behind ``service`` (empty: fine).

    A canary is a second Deployment whose pods the same Service selects, with a selector that
    cannot overlap the stable one, a newer model version in its label and environment, an image
    that differs only in its tag, and otherwise exactly the stable pod.
    """
    problems = []
    meta_s, meta_c = stable.get("metadata", {}), canary.get("metadata", {})
    if canary.get("kind") != "Deployment":
        return [f"a canary is a Deployment, not a {canary.get('kind')}"]
    if meta_c.get("name") == meta_s.get("name"):
        problems.append("the canary needs its own name: the same name would replace the stable one")
    if meta_c.get("namespace") != meta_s.get("namespace"):
        problems.append("the canary must be in the stable Deployment's namespace")
    labels_s = stable["spec"]["template"]["metadata"].get("labels", {})
    labels_c = canary.get("spec", {}).get("template", {}).get("metadata", {}).get("labels", {})
    selector_s = stable["spec"]["selector"].get("matchLabels", {})
    selector_c = canary.get("spec", {}).get("selector", {}).get("matchLabels", {})
    if not _selects(selector_c, labels_c):
        problems.append("the canary's selector must match its own pod labels")
    if _selects(selector_s, labels_c) or _selects(selector_c, labels_s):
        problems.append("the selectors overlap: each Deployment would count the other's pods")
    service_selector = service.get("spec", {}).get("selector", {})
    if not (_selects(service_selector, labels_c) and _selects(service_selector, labels_s)):
        problems.append("the Service must select both stable and canary pods")
    version_s, version_c = model_version(stable), model_version(canary)
    if version_c is None or version_s is None or version_c <= version_s:
        problems.append(
            f"the canary's {MODEL_VERSION_LABEL} label must be a newer version than the stable "
            f"one ({version_s}); it is {labels_c.get(MODEL_VERSION_LABEL)!r}"
        )
    containers_s, containers_c = (
        _pod(stable).get("containers", []),
        _pod(canary).get("containers", []),
    )
    if len(containers_c) != len(containers_s):
        return [*problems, "the canary must run the same containers as the stable Deployment"]
    for cs, cc in zip(containers_s, containers_c, strict=True):
        if _env(cc).get(VERSION_ENV) != (str(version_c) if version_c is not None else None):
            problems.append(f"{VERSION_ENV} must equal the pod's {MODEL_VERSION_LABEL} label")
        repo_s, _, tag_s = str(cs.get("image")).rpartition(":")
        repo_c, _, tag_c = str(cc.get("image")).rpartition(":")
        if repo_c != repo_s or tag_c == tag_s:
            problems.append("the canary's image must be the same repository with a new tag")
    if not 1 <= canary.get("spec", {}).get("replicas", 1) <= stable["spec"].get("replicas", 1):
        problems.append("the canary runs at least 1 and at most as many replicas as stable")
    drift = _pod_drift(stable, canary)
    if drift:
        problems.append(f"the canary's pod differs from stable's beyond version and image: {drift}")
    return problems


def _pod_drift(stable: Manifest, canary: Manifest) -> list[str]:
    """Paths where the pod specs differ, once image and the version variable are set aside."""
    pods = []
    for deployment in (stable, canary):
        pod = copy.deepcopy(_pod(deployment))
        for container in pod.get("containers", []):
            container.pop("image", None)
            container["env"] = [e for e in container.get("env", []) if e.get("name") != VERSION_ENV]
        pods.append(pod)
    return differences(*pods)


@dataclass(frozen=True)
class ImageFacts:
    """What the final stage of a Dockerfile says about the container it builds."""

    user: str
    expose: list[int]
    env: dict[str, str]
    healthcheck: dict[str, Any]  # interval/timeout/start_period in seconds, retries, command
    copies: list[tuple[str, str]] = field(default_factory=list)  # (source, destination)


def _seconds(text: str) -> float:
    total = 0.0
    for number, unit in re.findall(r"([0-9.]+)(ms|s|m|h)", text):
        total += float(number) * {"ms": 1e-3, "s": 1, "m": 60, "h": 3600}[unit]
    return total


def dockerfile_facts(text: str) -> ImageFacts:
    """USER, EXPOSE, ENV, HEALTHCHECK and COPY of the last stage of a Dockerfile's ``text``."""
    from mlops_course.containers import dockerfile_instructions

    steps = dockerfile_instructions(text)
    starts = [i for i, step in enumerate(steps) if step.keyword == "FROM"]
    if not starts:
        raise ManifestError("not a Dockerfile: no FROM instruction")
    user, expose, env, health, copies = "root", [], {}, {}, []
    for step in steps[starts[-1] + 1 :]:
        instruction, rest = step.keyword, step.arguments
        if instruction == "USER":
            user = rest.strip()
        elif instruction == "EXPOSE":
            expose += [int(p.split("/")[0]) for p in rest.split()]
        elif instruction == "ENV":
            env.update(dict(part.split("=", 1) for part in shlex.split(rest) if "=" in part))
        elif instruction == "COPY":
            words = [w for w in shlex.split(rest) if not w.startswith("--")]
            copies += [(source, words[-1]) for source in words[:-1]]
        elif instruction == "HEALTHCHECK":
            options, _, command = rest.partition("CMD")
            for name, value in re.findall(r"--([\w-]+)=(\S+)", options):
                key = name.replace("-", "_")
                health[key] = int(value) if key == "retries" else _seconds(value)
            command = command.strip()
            health["command"] = json.loads(command) if command.startswith("[") else command
    return ImageFacts(user, expose, env, health, copies)


@dataclass(frozen=True)
class ServingFacts:
    """The other side of every manifest: the image, the server and the model repository."""

    image: str  # repository:tag the Dockerfile is built as (the course version)
    course_version: str
    dockerfile: ImageFacts
    live_path: str  # what the image's HEALTHCHECK asks
    routes: set[str]  # the server's URL rules
    server_env: set[str]  # environment variables the server or gunicorn reads
    graceful_timeout: float
    models: dict[str, list[int]]  # name → versions under models/


def serving_facts(root: str | Path) -> ServingFacts:
    """Read :class:`ServingFacts` from the repository at ``root`` and the serving package."""
    from flask import Flask

    from mlops_course.containers import DOCKERFILES, SERVING_IMAGE
    from mlops_course.serving import config, gunicorn_conf, healthcheck, v2

    root = Path(root)
    version = tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"]
    app = Flask("routes")
    app.register_blueprint(v2.blueprint)
    conf = Path(gunicorn_conf.__file__).read_text()
    gunicorn_env = {
        node.args[0].value
        for node in ast.walk(ast.parse(conf))
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
        and ast.unparse(node.func) in ("os.environ.get", "os.getenv")
    }  # fmt: skip
    models = {
        folder.name: sorted(int(v.name) for v in folder.iterdir() if (v / "card.json").is_file())
        for folder in sorted((root / "models").iterdir())
        if folder.is_dir()
    }
    return ServingFacts(
        image=f"{SERVING_IMAGE}:{version}",
        course_version=version,
        dockerfile=dockerfile_facts((root / DOCKERFILES[SERVING_IMAGE]).read_text()),
        live_path=healthcheck.LIVE_PATH,
        routes={rule.rule for rule in app.url_map.iter_rules()},
        server_env=set(config.ENVIRONMENT) | gunicorn_env,
        graceful_timeout=float(gunicorn_conf.graceful_timeout),
        models=models,
    )


def canary_tag(course_version: str, model: str, version: int) -> str:
    """The canary image's tag: the course's server with a new model version baked in."""
    return f"{course_version}-{model}-v{version}"


def consistency_problems(
    manifests: list[Manifest], canary: Manifest | None, facts: ServingFacts
) -> list[str]:
    """Where the stable manifests (and the canary) disagree with the image and the server."""
    problems = []
    deployment = find(manifests, "Deployment")
    pod = _pod(deployment)
    (container,) = pod["containers"]
    image = facts.dockerfile
    env = {
        **find(manifests, "ConfigMap").get("data", {}),
        **_env(container),
    }
    if container["image"] != facts.image:
        problems.append(
            f"image {container['image']} is not the one the Dockerfile builds, {facts.image}"
        )
    uid, _, gid = image.user.partition(":")
    security = {**pod.get("securityContext", {}), **container.get("securityContext", {})}
    if not uid.isdigit():
        problems.append(f"USER {image.user}: runAsNonRoot needs a numeric uid in the image")
    elif security.get("runAsUser") != int(uid) or (gid and security.get("runAsGroup") != int(gid)):
        problems.append(f"runAsUser/runAsGroup do not match the image's USER {image.user}")
    ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
    bind_port = int(env.get("BIND", image.env.get("BIND", ":0")).rpartition(":")[2])
    if sorted(ports.values()) != sorted(image.expose) or bind_port not in ports.values():
        problems.append(f"container ports {ports} do not match EXPOSE {image.expose} and BIND")
    probes = {
        k: container.get(f"{k}Probe", {}).get("httpGet", {})
        for k in ("startup", "liveness", "readiness")
    }
    for kind, probe in probes.items():
        if probe.get("port") not in ports and probe.get("port") not in ports.values():
            problems.append(
                f"the {kind} probe's port {probe.get('port')!r} is not a container port"
            )
        if probe.get("path") not in facts.routes:
            problems.append(f"the {kind} probe's path {probe.get('path')!r} is not a server route")
    for kind in ("startup", "liveness"):
        if probes[kind].get("path") != facts.live_path:
            problems.append(
                f"the {kind} probe must ask {facts.live_path}, as the image's HEALTHCHECK"
            )
    if not str(probes["readiness"].get("path", "")).endswith("/ready"):
        problems.append("the readiness probe must ask the ready endpoint (models loaded)")
    liveness, health = container.get("livenessProbe", {}), image.healthcheck
    if (
        liveness.get("periodSeconds"),
        liveness.get("timeoutSeconds"),
        liveness.get("failureThreshold"),
    ) != (health.get("interval"), health.get("timeout"), health.get("retries")):
        problems.append(
            "the liveness probe's period/timeout/threshold differ from the HEALTHCHECK's"
        )
    unknown = sorted(set(env) - facts.server_env)
    if unknown:
        problems.append(f"the server reads no variable named {unknown}")
    repository = env.get("MODEL_REPOSITORY", image.env.get("MODEL_REPOSITORY"))
    if (
        repository != image.env.get("MODEL_REPOSITORY")
        or ("models", repository) not in image.copies
    ):
        problems.append(f"MODEL_REPOSITORY {repository} is not where the image copies models/")
    mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
    if security.get("readOnlyRootFilesystem") and "/tmp" not in mounts:
        problems.append("a read-only root filesystem needs a writable volume at /tmp (gunicorn)")
    sleep = (
        container.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command") or [0]
    )[-1]
    if pod.get("terminationGracePeriodSeconds", 30) < float(sleep) + facts.graceful_timeout:
        problems.append(
            "terminationGracePeriodSeconds is shorter than preStop + gunicorn's graceful_timeout"
        )
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    model, version = labels.get(MODEL_LABEL), model_version(deployment)
    if model != env.get("DEFAULT_MODEL"):
        problems.append(
            f"{MODEL_LABEL} {model!r} is not DEFAULT_MODEL {env.get('DEFAULT_MODEL')!r}"
        )
    if version is None or str(version) != env.get(VERSION_ENV):
        problems.append(f"{MODEL_VERSION_LABEL} and {VERSION_ENV} must name the same version")
    elif version not in facts.models.get(model, []):
        problems.append(f"models/{model}/{version}/ does not exist: the image could not serve it")
    if canary is not None:
        service = find(manifests, "Service")
        problems += [f"canary: {p}" for p in check_canary(deployment, canary, service)]
        version_c = model_version(canary)
        expected = (
            f"{facts.image.rpartition(':')[0]}:{canary_tag(facts.course_version, model, version_c)}"
        )
        if _pod(canary)["containers"][0].get("image") != expected:
            problems.append(
                f"canary: the image must be {expected} (the server with version {version_c})"
            )
    return problems
