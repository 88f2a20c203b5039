"""A canary: a second Deployment behind the same Service, serving a newer model version.

Introduced in notebooks/11_kubernetes.ipynb. :func:`check_canary` says what is wrong with a
canary of the stable Deployment (empty: nothing).
"""

from __future__ import annotations

import copy

from mlops_course.kubernetes.manifests import (
    MODEL_VERSION_LABEL,
    VERSION_ENV,
    Manifest,
    container_env,
    differences,
    model_version,
    pod_labels,
    pod_spec,
    selects,
)


def replicas(deployment: Manifest, hpa: Manifest | None = None) -> int:
    """The Deployment's pod count: ``spec.replicas``; where an HPA owns it, the HPA's minimum."""
    if "replicas" in deployment.get("spec", {}):
        return deployment["spec"]["replicas"]
    return hpa.get("spec", {}).get("minReplicas", 1) if hpa is not None else 1


def canary_share(stable: Manifest, canary: Manifest, hpa: Manifest | None = None) -> float:
    """The canary's share of requests when a Service spreads them evenly over ready pods.

    ``hpa``: the stable Deployment's autoscaler, whose minimum is its count when it sets none.
    """
    s, c = replicas(stable, hpa), replicas(canary)
    return c / (s + c)


def canary_tag(course_version: str, model: str, version: int) -> str:
    """The canary image's tag: the course's server with a new model version baked in."""
    return f"{course_version}-{model}-v{version}"


def check_canary(
    stable: Manifest, canary: Manifest, service: Manifest, hpa: Manifest | None = None
) -> list[str]:
    """What is wrong with ``canary`` as a canary of ``stable`` behind ``service`` (empty: fine).

    A canary is a second Deployment whose pods the same Service selects, with a selector that
    cannot overlap the stable one, a newer model version in its label and environment, an image
    that differs only in its tag, and otherwise exactly the stable pod.
    """
    if canary.get("kind") != "Deployment":
        return [f"a canary is a Deployment, not a {canary.get('kind')}"]
    problems = []
    meta_s, meta_c = stable.get("metadata", {}), canary.get("metadata", {})
    if meta_c.get("name") == meta_s.get("name"):
        problems.append("the canary needs its own name: the same name would replace the stable one")
    if meta_c.get("namespace") != meta_s.get("namespace"):
        problems.append("the canary must be in the stable Deployment's namespace")
    labels_s, labels_c = pod_labels(stable), pod_labels(canary)
    selector_s = stable["spec"]["selector"].get("matchLabels", {})
    selector_c = canary.get("spec", {}).get("selector", {}).get("matchLabels", {})
    if not selects(selector_c, labels_c):
        problems.append("the canary's selector must match its own pod labels")
    if selects(selector_s, labels_c) or selects(selector_c, labels_s):
        problems.append("the selectors overlap: each Deployment would count the other's pods")
    service_selector = service.get("spec", {}).get("selector", {})
    if not (selects(service_selector, labels_c) and selects(service_selector, labels_s)):
        problems.append("the Service must select both stable and canary pods")
    version_s, version_c = model_version(stable), model_version(canary)
    if version_c is None or version_s is None or version_c <= version_s:
        problems.append(
            f"the canary's {MODEL_VERSION_LABEL} label must be a newer version than the stable "
            f"one ({version_s}); it is {labels_c.get(MODEL_VERSION_LABEL)!r}"
        )
    containers_s = pod_spec(stable).get("containers", [])
    containers_c = pod_spec(canary).get("containers", [])
    if len(containers_c) != len(containers_s):
        return [*problems, "the canary must run the same containers as the stable Deployment"]
    for cs, cc in zip(containers_s, containers_c, strict=True):
        if container_env(cc).get(VERSION_ENV) != (
            str(version_c) if version_c is not None else None
        ):
            problems.append(f"{VERSION_ENV} must equal the pod's {MODEL_VERSION_LABEL} label")
        repo_s, _, tag_s = str(cs.get("image")).rpartition(":")
        repo_c, _, tag_c = str(cc.get("image")).rpartition(":")
        if repo_c != repo_s or tag_c == tag_s:
            problems.append("the canary's image must be the same repository with a new tag")
    if not 1 <= replicas(canary) <= replicas(stable, hpa):
        problems.append("the canary runs at least 1 and at most as many replicas as stable")
    drift = _pod_drift(stable, canary)
    if drift:
        problems.append(f"the canary's pod differs from stable's beyond version and image: {drift}")
    return problems


def _pod_drift(stable: Manifest, canary: Manifest) -> list[str]:
    """Paths where the pod specs differ, once image and the version variable are set aside."""
    pods = []
    for deployment in (stable, canary):
        pod = copy.deepcopy(pod_spec(deployment))
        for container in pod.get("containers", []):
            container.pop("image", None)
            container["env"] = [e for e in container.get("env", []) if e.get("name") != VERSION_ENV]
        pods.append(pod)
    return differences(*pods)
