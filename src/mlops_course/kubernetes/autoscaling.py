"""The HorizontalPodAutoscaler's documented algorithm, computed for a load trace (no cluster).

Introduced in notebooks/11_kubernetes.ipynb. Every ``period`` seconds (15 s by default) the
controller:

1. measures the pods' average CPU use as a percentage of their request (a pod cannot use more
   than its limit) and recommends ``ceil(current × utilization / target)``, or ``current`` when
   the ratio is within the 10 % tolerance;
2. stabilizes: it scales up to at least the *smallest* recommendation of the scale-up window,
   and down to at most the *largest* recommendation of the scale-down window (300 s by default);
3. limits the change by the behavior's policies (``Percent`` or ``Pods`` per ``periodSeconds``,
   the largest allowed change by default, ``selectPolicy: Max``), then by min/max replicas.

Source: https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/ . Not
modelled: metric delays, pod start-up time, unready pods, and ``selectPolicy: Min/Disabled``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from mlops_course.kubernetes.capacity import hpa_desired_replicas

#: The defaults Kubernetes applies to a direction the HPA's ``behavior`` leaves out.
DEFAULT_BEHAVIOR = {
    "scaleUp": {
        "stabilizationWindowSeconds": 0,
        "policies": [
            {"type": "Percent", "value": 100, "periodSeconds": 15},
            {"type": "Pods", "value": 4, "periodSeconds": 15},
        ],
    },
    "scaleDown": {
        "stabilizationWindowSeconds": 300,
        "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
    },
}


@dataclass(frozen=True)
class Scaling:
    """What an HPA does: target utilization (%), replica bounds and behavior per direction."""

    target: float
    minimum: int
    maximum: int
    behavior: dict[str, dict[str, Any]]


def scaling(hpa: dict[str, Any]) -> Scaling:
    """Read an ``autoscaling/v2`` HPA on CPU utilization, filling in the default behavior."""
    spec = hpa.get("spec", {})
    try:
        target = spec["metrics"][0]["resource"]["target"]["averageUtilization"]
    except (KeyError, IndexError, TypeError):
        raise ValueError("not an HPA on CPU averageUtilization (spec.metrics[0])") from None
    given = spec.get("behavior") or {}
    behavior = {
        way: {**DEFAULT_BEHAVIOR[way], **(given.get(way) or {})} for way in DEFAULT_BEHAVIOR
    }
    return Scaling(target, spec.get("minReplicas", 1), spec["maxReplicas"], behavior)


def rate_limit(rules: dict[str, Any], start: int, up: bool) -> int:
    """The most (``up``) or fewest pods the policies allow from ``start`` pods in one period.

    As the controller computes it: ``Percent`` rounds up when scaling up and down (truncates)
    when scaling down; with several policies the largest change wins.
    """
    allowed = []
    for policy in rules["policies"]:
        value = policy["value"]
        if policy["type"] == "Pods":
            allowed.append(start + value if up else start - value)
        elif up:
            allowed.append(math.ceil(start * (1 + value / 100)))
        else:
            allowed.append(int(start * (1 - value / 100)))
    return max(allowed) if up else min(allowed)


def simulate_hpa(
    hpa: dict[str, Any],
    demand_cores: list[float],
    request_cores: float,
    limit_cores: float,
    period: int = 15,
    start: int | None = None,
) -> list[int]:
    """Replicas after each sync, for the total CPU demand (cores) seen at each sync.

    Each pod serves ``demand / replicas`` cores, at most ``limit_cores``. Assumes each
    policy's ``periodSeconds`` equals ``period`` (so each sync starts a new period).
    """
    if request_cores <= 0 or limit_cores < request_cores or period <= 0:
        raise ValueError("need 0 < request_cores <= limit_cores and period > 0")
    rules = scaling(hpa)
    replicas = max(rules.minimum, start or rules.minimum)
    history: list[tuple[int, int]] = []  # (time, raw recommendation)
    result = []
    for step, demand in enumerate(demand_cores):
        now = step * period
        used = min(demand / replicas, limit_cores)
        raw = hpa_desired_replicas(replicas, 100 * used / request_cores, rules.target, 0, 10**6)
        history.append((now, raw))
        replicas = stabilize_and_limit(rules, history, replicas, now)
        result.append(replicas)
    return result


def stabilize_and_limit(
    rules: Scaling, history: list[tuple[int, int]], current: int, now: int
) -> int:
    """Step 2 and 3 of the module's algorithm: the new replica count."""
    up_window = rules.behavior["scaleUp"]["stabilizationWindowSeconds"]
    down_window = rules.behavior["scaleDown"]["stabilizationWindowSeconds"]
    up = min(r for t, r in history if t > now - up_window or t == now)
    down = max(r for t, r in history if t > now - down_window or t == now)
    desired = min(max(current, up), down)
    if desired > current:
        desired = min(desired, rate_limit(rules.behavior["scaleUp"], current, up=True))
    elif desired < current:
        desired = max(desired, rate_limit(rules.behavior["scaleDown"], current, up=False))
    return max(rules.minimum, min(rules.maximum, desired))
