"""kubernetes.canary: the canary overlay is a canary of stable; each flaw is caught."""

from __future__ import annotations

import copy

import k8s_cases as cases

from mlops_course.kubernetes import canary as kc
from mlops_course.kubernetes import manifests as km


def test_the_canary_is_a_canary_of_stable():
    stable = cases.stable()
    canary = cases.canary()
    deployment, service = km.find(stable, "Deployment"), km.find(stable, "Service")
    assert kc.check_canary(deployment, canary, service, cases.hpa()) == []
    assert "replicas" not in deployment["spec"]  # the HPA owns the count: its minimum, 3
    assert kc.canary_share(deployment, canary, cases.hpa()) == 0.25
    assert kc.canary_share(deployment, canary) == 0.5  # without the HPA: 1 pod, as Kubernetes
    assert km.differences(deployment["spec"]["selector"], canary["spec"]["selector"]) == [
        f"matchLabels.{km.TRACK_LABEL}"
    ]


def test_a_canary_must_be_a_deployment():
    stable = cases.stable()
    canary = cases.canary()
    deployment, service = km.find(stable, "Deployment"), km.find(stable, "Service")
    assert kc.check_canary(deployment, {**canary, "kind": "Pod"}, service) == [
        "a canary is a Deployment, not a Pod"
    ]


def broken_canaries(canary: dict) -> dict[str, dict]:
    def edit(change) -> dict:
        out = copy.deepcopy(canary)
        change(out)
        return out

    def container(c: dict) -> dict:
        return km.pod_spec(c)["containers"][0]

    def labels(c: dict) -> dict:
        return km.pod_labels(c)

    return {
        "same name": edit(lambda c: c["metadata"].update(name="model-server")),
        "overlap": edit(lambda c: labels(c).update({km.TRACK_LABEL: "stable"})),
        "its own pod labels": edit(lambda c: c["spec"]["selector"]["matchLabels"].update(x="y")),
        "Service": edit(lambda c: labels(c).update({km.NAME_LABEL: "other"})),
        "newer version": edit(lambda c: labels(c).update({km.MODEL_VERSION_LABEL: "1"})),
        "DEFAULT_MODEL_VERSION": edit(lambda c: container(c)["env"][0].update(value="3")),
        "new tag": edit(lambda c: container(c).update(image="other/serving:9")),
        "at most as many": edit(lambda c: c["spec"].update(replicas=4)),
        "beyond version and image": edit(
            lambda c: container(c)["resources"]["limits"].update(memory="2Gi")
        ),
    }


def test_check_canary_catches_each_flaw():
    stable = cases.stable()
    canary = cases.canary()
    deployment, service = km.find(stable, "Deployment"), km.find(stable, "Service")
    for flaw, broken in broken_canaries(canary).items():
        problems = kc.check_canary(deployment, broken, service, cases.hpa())
        assert any(flaw in p for p in problems), (flaw, problems)


def test_canary_tag_names_the_model_version():
    assert kc.canary_tag("0.1.0", "digits", 2) == "0.1.0-digits-v2"
