"""kubernetes.manifests: reading, rendering and writing manifests; the package's public API.

Tests that render overlays need kubectl and skip without it (the course's Docker image has none).
"""

from __future__ import annotations

import inspect

import k8s_cases as cases
import pytest
from k8s_cases import K8S, OVERLAYS, PLAIN

from mlops_course import kubernetes as k8s
from mlops_course.kubernetes import kustomize, manifests

needs_kubectl = pytest.mark.skipif(
    manifests.kubectl_path() is None,
    reason="kubectl is not installed (the course Docker image has none): cannot render overlays",
)


@needs_kubectl
@pytest.mark.parametrize("name", PLAIN)
def test_plain_kustomizations_are_exactly_their_files(name):
    """What the lesson reads from the files is what `kubectl apply -k` sends."""
    rendered = manifests.render(PLAIN[name])
    assert manifests.by_id(rendered) == manifests.by_id(kustomize.load_kustomization(PLAIN[name]))


def test_a_kustomization_with_patches_needs_kustomize():
    with pytest.raises(manifests.ManifestError, match="render it with kustomize"):
        kustomize.load_kustomization(OVERLAYS["loadbalancer"])


def test_render_without_kubectl_says_what_to_run(monkeypatch):
    monkeypatch.setattr(manifests, "kubectl_path", lambda: None)
    with pytest.raises(manifests.KubectlMissing, match="kubectl kustomize"):
        manifests.render(K8S)


@needs_kubectl
def test_loadbalancer_overlay_changes_only_the_service_type():
    stable = cases.stable()
    patched = manifests.by_id(manifests.render(OVERLAYS["loadbalancer"]))
    base = manifests.by_id(stable)
    assert patched.keys() == base.keys()
    changed = {key: manifests.differences(base[key], patched[key]) for key in base}
    assert {key: d for key, d in changed.items() if d} == {
        "Service/mlops-course/model-server": ["spec.type"]
    }
    assert patched["Service/mlops-course/model-server"]["spec"]["type"] == "LoadBalancer"


def test_bad_yaml_is_a_clear_error():
    with pytest.raises(manifests.ManifestError, match="not valid YAML"):
        manifests.parse_manifests("kind: [unclosed")
    with pytest.raises(manifests.ManifestError, match="with a kind"):
        manifests.parse_manifests("- a list\n")


def test_find_wants_exactly_one():
    stable = cases.stable()
    assert manifests.find(stable, "Service")["metadata"]["name"] == "model-server"
    with pytest.raises(manifests.ManifestError, match="expected one Pod, got 0"):
        manifests.find(stable, "Pod")


def test_to_yaml_writes_shared_parts_in_full():
    probe = {"httpGet": {"path": "/v2/health/live", "port": "http"}}
    text = manifests.to_yaml([{"kind": "Pod", "a": probe, "b": probe}, {"kind": "Pod"}])
    assert "&id" not in text and "*id" not in text and text.count("---") == 1
    assert manifests.parse_manifests(text)[0]["b"] == probe


def test_differences_name_the_changed_paths():
    a = {"spec": {"replicas": 3, "containers": [{"image": "a:1"}]}}
    b = {"spec": {"replicas": 1, "containers": [{"image": "a:2"}]}}
    assert manifests.differences(a, b) == ["spec.containers.0.image", "spec.replicas"]
    assert manifests.differences(a, a) == []


def test_the_package_exports_every_function_and_class_of_its_modules():
    """`from mlops_course import kubernetes as k8s` keeps working: k8s.<name> for every helper."""
    from mlops_course.kubernetes import (
        canary,
        canary_metrics,
        capacity,
        consistency,
        custom_resources,
        prometheus,
        rules,
        schemas,
    )

    for module in (
        manifests,
        kustomize,
        schemas,
        custom_resources,
        rules,
        capacity,
        canary,
        consistency,
        prometheus,
        canary_metrics,
    ):
        public = {
            name
            for name, value in vars(module).items()
            if (inspect.isfunction(value) or inspect.isclass(value))
            and value.__module__ == module.__name__
            and not name.startswith("_")
        }
        assert public <= set(k8s.__all__), (module.__name__, sorted(public - set(k8s.__all__)))
    assert all(hasattr(k8s, name) for name in k8s.__all__)
