"""kubernetes.autoscaling: the HPA's documented algorithm on load traces worked out by hand."""

from __future__ import annotations

import pytest
from k8s_cases import K8S

from mlops_course.kubernetes import autoscaling, kustomize, manifests


def course_hpa() -> dict:
    return manifests.find(kustomize.load_kustomization(K8S), "HorizontalPodAutoscaler")


def test_the_course_hpa_is_read_with_its_behavior():
    rules = autoscaling.scaling(course_hpa())
    assert (rules.target, rules.minimum, rules.maximum) == (70, 3, 10)
    assert rules.behavior["scaleUp"]["stabilizationWindowSeconds"] == 0
    assert rules.behavior["scaleUp"]["policies"] == [
        {"type": "Percent", "value": 100, "periodSeconds": 15}
    ]
    assert rules.behavior["scaleDown"]["stabilizationWindowSeconds"] == 300  # the manifest's


def test_a_burst_doubles_per_period_and_the_lull_waits_five_minutes():
    """3 pods at 0.9 cores in all (60 % of 0.5-core requests), a 4-core burst for 45 s, then 0.9.

    t=0:   0.3 cores/pod = 60 %: ceil(3 × 60/70) = 3.
    t=15:  4/3 cores/pod, capped at the 1-core limit = 200 %: ceil(3 × 200/70) = 9, at most
           double per 15 s: 6.
    t=30:  4/6 = 133 %: ceil(6 × 133.3/70) = 12, the maximum: 10.
    t=45:  4/10 = 80 %: ceil(10 × 80/70) = 12: 10.
    t=60:  0.09 cores/pod = 18 %: 3 recommended, but the largest recommendation of the last
           300 s is 12: stay at 10 ... until t=345, when the 12s of t=30 and t=45 have left
           the window: 3.
    """
    demand = [0.9, 4, 4, 4] + [0.9] * 21
    replicas = autoscaling.simulate_hpa(course_hpa(), demand, request_cores=0.5, limit_cores=1)
    assert replicas == [3, 6, 10, 10] + [10] * 19 + [3, 3]


def test_within_the_tolerance_nothing_changes():
    demand = [4 * 0.5 * 0.75] * 3  # 4 pods at 75 % of a 70 % target: ratio 1.07
    hpa = course_hpa()
    assert autoscaling.simulate_hpa(hpa, demand, 0.5, 1, start=4) == [4, 4, 4]


def test_default_behavior_and_rate_limits():
    bare = {"spec": {"maxReplicas": 50, "metrics": [course_hpa()["spec"]["metrics"][0]]}}
    rules = autoscaling.scaling(bare)
    assert rules.minimum == 1 and rules.behavior == autoscaling.DEFAULT_BEHAVIOR
    up, down = rules.behavior["scaleUp"], {"policies": [{"type": "Percent", "value": 50}]}
    assert autoscaling.rate_limit(up, 3, up=True) == 7  # max(double = 6, +4 pods = 7)
    assert autoscaling.rate_limit(up, 10, up=True) == 20
    assert autoscaling.rate_limit(down, 5, up=False) == 2  # 5 × 0.5 = 2.5, truncated
    # without a stabilization window, the default scale-down drops to the recommendation at once
    no_window = {
        "spec": {**bare["spec"], "behavior": {"scaleDown": {"stabilizationWindowSeconds": 0}}}
    }
    assert autoscaling.simulate_hpa(no_window, [0.05, 0.05], 0.5, 1, start=8) == [1, 1]


def test_bad_input_is_refused_in_one_line():
    with pytest.raises(ValueError, match="averageUtilization"):
        autoscaling.scaling({"spec": {"maxReplicas": 3}})
    with pytest.raises(ValueError, match="request_cores"):
        autoscaling.simulate_hpa(course_hpa(), [1.0], request_cores=1, limit_cores=0.5)


def test_a_pod_cannot_report_more_than_its_cpu_limit():
    """6 cores on 3 pods is 2 cores each, but a pod is throttled at its 1-core limit = 200 %:
    ceil(3 × 200/70) = 9 (not ceil(3 × 400/70) = 18); then 6/9 = 133 %: ceil(9 × 133.3/70) = 18."""
    policy = {"type": "Percent", "value": 900, "periodSeconds": 15}
    spec = {
        **course_hpa()["spec"],
        "maxReplicas": 50,
        "behavior": {"scaleUp": {"policies": [policy]}},
    }
    assert autoscaling.simulate_hpa({"spec": spec}, [6, 6], 0.5, 1) == [9, 18]
