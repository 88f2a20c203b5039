"""Shared inputs of the tests/test_kubernetes_*.py files: the course's k8s/ folders and a bare
Deployment.

SEED is the bare Deployment a tutorial starts from (lesson 11): every rule about a Deployment
and its pod fails on it.
"""

from __future__ import annotations

import functools

from paths import ROOT

from mlops_course.kubernetes import kustomize, manifests, rules

K8S = ROOT / "k8s"
PLAIN = {"k8s": K8S, "base": K8S / "base", "canary": K8S / "overlays" / "canary"}
OVERLAYS = {**PLAIN, "loadbalancer": K8S / "overlays" / "loadbalancer"}
KSERVE = K8S / "overlays" / "kserve"  # custom resources: not for checkov or kubernetes-validate

SEED = rules.TUTORIAL_DEPLOYMENT  # the same text lesson 11 quotes


@functools.cache
def stable() -> list[dict]:
    """The stable objects (``k8s/``), read once; deep-copy them before changing anything."""
    return kustomize.load_kustomization(K8S)


@functools.cache
def canary_set() -> list[dict]:
    """The canary overlay's objects (stable + canary), read once."""
    return kustomize.load_kustomization(PLAIN["canary"])


def canary() -> dict:
    """The canary Deployment of the canary overlay."""
    return manifests.find(canary_set(), "Deployment", "model-server-canary")


def hpa() -> dict:
    """The stable Deployment's HorizontalPodAutoscaler."""
    return manifests.find(stable(), "HorizontalPodAutoscaler")
