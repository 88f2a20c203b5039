"""Shared inputs of the tests/test_kubernetes_*.py files: the course's k8s/ folders and a seed.

SEED is the bare Deployment a team starts from (lesson 09): every review rule fails on it.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "k8s"
PLAIN = {"k8s": K8S, "base": K8S / "base", "canary": K8S / "overlays" / "canary"}
OVERLAYS = {**PLAIN, "loadbalancer": K8S / "overlays" / "loadbalancer"}

SEED = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: image-classifier
spec:
  replicas: 3
  selector:
    matchLabels:
      app: image-classifier
  template:
    metadata:
      labels:
        app: image-classifier
    spec:
      containers:
      - name: image-classifier
        image: image-classifier:latest
        ports:
        - containerPort: 5000
"""
