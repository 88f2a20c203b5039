"""kubernetes.capacity: the arithmetic lesson 11 teaches (quantities, QoS, HPA, rollouts)."""

from __future__ import annotations

import pytest
from k8s_cases import K8S

from mlops_course.kubernetes import capacity, kustomize, manifests


def test_rolling_update_with_max_unavailable_0_never_drops_below_replicas():
    steps = capacity.rollout_steps(3, max_surge=1, max_unavailable=0)
    assert steps[0] == (3, 0) and steps[-1] == (0, 3)
    assert min(old + new for old, new in steps) == 3
    assert max(old + new for old, new in steps) == 4
    fast = capacity.rollout_steps(3, max_surge=0, max_unavailable=1)
    assert min(old + new for old, new in fast) == 2 and max(old + new for old, new in fast) == 3
    with pytest.raises(ValueError):
        capacity.rollout_steps(3, 0, 0)


def test_hpa_rule():
    assert capacity.hpa_desired_replicas(3, 90, 70, minimum=3) == 4  # ceil(3 × 90/70)
    assert capacity.hpa_desired_replicas(3, 75, 70, minimum=3) == 3  # within the 10 % tolerance
    assert capacity.hpa_desired_replicas(4, 10, 70, minimum=3) == 3  # never below the minimum
    assert capacity.hpa_desired_replicas(8, 300, 70, minimum=3, maximum=10) == 10


def test_quantities_and_qos():
    assert capacity.quantity("500m") == 0.5 and capacity.quantity("256Mi") == 256 * 2**20
    assert capacity.quantity(2) == 2
    with pytest.raises(ValueError):
        capacity.quantity("lots")
    pod = manifests.pod_spec(manifests.find(kustomize.load_kustomization(K8S), "Deployment"))
    assert capacity.qos_class(pod) == "Burstable"
    same = {"cpu": "1", "memory": "512Mi"}
    assert capacity.qos_class({"containers": [{"resources": {"limits": same}}]}) == "Guaranteed"
    assert capacity.qos_class({"containers": [{}]}) == "BestEffort"
