"""kubernetes.rules: the rules behind checkov's Kubernetes checks, and checkov itself.

The seed's bare Deployment breaks every rule; the course's manifests break none, and removing one
hardening at a time is caught. checkov tests skip where checkov is not installed (``make setup``
puts it in ``.venv-checkov``).
"""

from __future__ import annotations

import copy

import k8s_cases as cases
import pytest
from k8s_cases import OVERLAYS, PLAIN, SEED

from mlops_course import policy
from mlops_course.kubernetes import manifests, rules

needs_checkov = pytest.mark.skipif(
    policy.checkov_path() is None, reason="checkov is not installed (make setup: .venv-checkov)"
)


def test_review_finds_every_rule_broken_in_the_seed_and_none_in_ours():
    canary_set = cases.canary_set()
    problems = rules.review(manifests.parse_manifests(SEED))
    assert [p.split(": ", 1)[1] for p in problems] == list(rules.RULES)
    assert rules.review(canary_set) == []


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
    load = manifests.load_kustomization if manifests.kubectl_path() is None else manifests.render
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
