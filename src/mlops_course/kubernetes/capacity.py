"""The arithmetic behind requests, limits, autoscaling and rolling updates.

Introduced in notebooks/11_kubernetes.ipynb.
"""

from __future__ import annotations

import math
import re
from typing import Any

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
