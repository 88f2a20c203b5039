"""kubernetes.rules: the rules behind checkov's Kubernetes checks, and checkov itself.

A tutorial's bare Deployment breaks every rule about a Deployment and its pod; the course's
manifests break none, removing one hardening at a time is caught, and the manifests as they were
before issue #19 (replicas beside the HPA, a plain ConfigMap, no ephemeral-storage, a PDB
without unhealthyPodEvictionPolicy) break exactly the rules added for them. checkov tests skip
where checkov is not installed (``make setup`` puts it in ``.venv-checkov``).
"""

from __future__ import annotations

import copy

import k8s_cases as cases
import pytest
from k8s_cases import OVERLAYS, PLAIN, SEED

from mlops_course import policy
from mlops_course.kubernetes import kustomize, manifests, rules

needs_checkov = pytest.mark.skipif(
    policy.checkov_path() is None, reason="checkov is not installed (make setup: .venv-checkov)"
)


NEIGHBOUR_RULES = [
    "no replicas beside an HPA",
    "ConfigMap named by its content hash",
    "PDB lets unhealthy pods be evicted",
]


def test_review_finds_every_rule_broken_in_the_seed_and_none_in_ours():
    """The bare Deployment has no HPA, ConfigMap or PDB, so it breaks all rules but theirs."""
    canary_set = cases.canary_set()
    problems = rules.review(manifests.parse_manifests(SEED))
    assert [p.split(": ", 1)[1] for p in problems] == [
        r for r in rules.RULES if r not in NEIGHBOUR_RULES
    ]
    assert rules.review(canary_set) == []
    assert set(rules.OTHER_SOURCES) == {r for r, check in rules.RULES.items() if check is None}


def as_before_issue_19(objects: list[dict]) -> list[dict]:
    """The stable objects as k8s/base had them: replicas: 3, configmap.yaml's plain name, no
    ephemeral-storage, a PDB with the default eviction policy."""
    objects = copy.deepcopy(objects)
    deployment = manifests.find(objects, "Deployment")
    deployment["spec"] = {"replicas": 3, **deployment["spec"]}
    manifests.find(objects, "ConfigMap")["metadata"]["name"] = "model-server-config"
    (container,) = manifests.pod_spec(deployment)["containers"]
    container["envFrom"] = [{"configMapRef": {"name": "model-server-config"}}]
    for kind in ("requests", "limits"):
        del container["resources"][kind]["ephemeral-storage"]
    del manifests.find(objects, "PodDisruptionBudget")["spec"]["unhealthyPodEvictionPolicy"]
    return objects


def test_the_manifests_before_issue_19_break_the_new_rules():
    problems = rules.review(as_before_issue_19(cases.stable()))
    assert [p.split(": ", 1)[1] for p in problems] == [
        "ephemeral-storage request",
        "ephemeral-storage limit",
        *NEIGHBOUR_RULES,
    ]


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        (lambda d, o: d["spec"].update(replicas=3), "no replicas beside an HPA"),
        (
            lambda d, o: manifests.find(o, "ConfigMap")["data"].update(MAX_BATCH="8"),
            "ConfigMap named by its content hash",
        ),
        (
            lambda d, o: manifests.find(o, "PodDisruptionBudget")["spec"].update(
                unhealthyPodEvictionPolicy="IfHealthyBudget"
            ),
            "PDB lets unhealthy pods be evicted",
        ),
        (
            lambda d, o: manifests.pod_spec(d)["containers"][0]["resources"]["limits"].pop(
                "ephemeral-storage"
            ),
            "ephemeral-storage limit",
        ),
    ],
)
def test_each_new_rule_alone(change, rule):
    """An edit of the ConfigMap without a new name is caught: its name no longer hashes it."""
    objects = copy.deepcopy(cases.stable())
    change(manifests.find(objects, "Deployment"), objects)
    assert rules.review(objects) == [f"Deployment/mlops-course/model-server: {rule}"]


def test_the_neighbour_rules_look_only_at_the_deployments_namespace():
    objects = as_before_issue_19(cases.stable())
    for m in objects:
        if m["kind"] in ("HorizontalPodAutoscaler", "ConfigMap", "PodDisruptionBudget"):
            m["metadata"]["namespace"] = "elsewhere"
    assert not any(r in p for p in rules.review(objects) for r in NEIGHBOUR_RULES)


def test_review_catches_one_missing_hardening_at_a_time():
    stable = cases.stable()
    for path, rule in [
        (("readinessProbe",), "readiness probe"),
        (("resources", "limits", "memory"), "memory limit"),
        (("securityContext", "readOnlyRootFilesystem"), "readOnlyRootFilesystem true"),
        (("securityContext", "capabilities"), "capabilities drop ALL"),
    ]:
        objects = copy.deepcopy(stable)
        parent = manifests.pod_spec(manifests.find(objects, "Deployment"))["containers"][0]
        for key in path[:-1]:
            parent = parent[key]
        del parent[path[-1]]
        assert rules.review(objects) == [f"Deployment/mlops-course/model-server: {rule}"]
    without_policy = [m for m in stable if m["kind"] != "NetworkPolicy"]
    assert rules.review(without_policy) == [
        "Deployment/mlops-course/model-server: a NetworkPolicy selects the pods"
    ]


def test_every_checkov_exception_gives_its_reason():
    canary_set = cases.canary_set()
    skips = rules.checkov_skips(canary_set)
    assert {check for _, check, _ in skips} == {"CKV_K8S_43", "CKV_K8S_15"}
    for resource, check, reason in skips:
        assert check.startswith("CKV") and len(reason.split()) >= 8, (resource, check, reason)


@pytest.mark.slow
@needs_checkov
def test_checkov_passes_on_every_overlay(tmp_path):
    """One checkov run over every overlay (rendered; the plain files where kubectl is missing)."""
    overlays = PLAIN if manifests.kubectl_path() is None else OVERLAYS
    load = kustomize.load_kustomization if manifests.kubectl_path() is None else manifests.render
    files = []
    for name, folder in overlays.items():
        files.append(tmp_path / f"{name}.yaml")
        files[-1].write_text(manifests.to_yaml(load(folder)))
    report = policy.checkov(files, "kubernetes")
    assert report.failures == [] and report.failed == 0
    assert report.passed >= 91 * len(files)  # 91 checks pass on the stable objects alone
    assert report.skipped == sum(
        len(rules.checkov_skips(manifests.load_manifests(f))) for f in files
    )


@pytest.mark.slow
@needs_checkov
def test_checkov_fails_the_seed_on_every_rule_the_review_finds():
    failed = rules.checkov_failed(manifests.parse_manifests(SEED))
    assert failed is not None and len(failed) >= 15
    found = {
        rules.RULES[p.split(": ", 1)[1]] for p in rules.review(manifests.parse_manifests(SEED))
    }
    assert found - {None} <= failed


def test_checkov_failed_is_none_without_checkov(monkeypatch):
    monkeypatch.setattr(policy, "checkov_path", lambda: None)
    assert rules.checkov_failed(manifests.parse_manifests(SEED)) is None
