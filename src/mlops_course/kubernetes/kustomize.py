"""Read a kustomization without kustomize: resources, and ConfigMaps generated with a content hash.

Introduced in notebooks/11_kubernetes.ipynb. :func:`load_kustomization` renders what
``kubectl kustomize`` renders for the two fields the course uses: ``resources`` (files and
folders) and ``configMapGenerator`` (``envs`` files and ``literals``). A generated ConfigMap's
name ends in a hash of its content (:func:`configmap_hash`, kustomize's own), and every pod that
refers to it by its short name is pointed at that hashed name, so changing a setting changes the
pod template: the pods roll, and ``kubectl rollout undo`` brings the old settings back with the old
pods. Anything else (patches, prefixes, other generators) needs the real tool (``render``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

from mlops_course.kubernetes.manifests import Manifest, ManifestError, load_manifests, pod_spec

FIELDS = {"apiVersion", "kind", "resources", "configMapGenerator"}
GENERATOR_FIELDS = {"name", "namespace", "envs", "literals", "options"}
OPTION_FIELDS = {"labels", "annotations", "immutable"}


def configmap_hash(data: dict[str, str]) -> str:
    """kustomize's 10-character content hash of a ConfigMap's ``data`` (its name suffix).

    kustomize (api/hasher) hashes the JSON ``{"data", "kind", "name"}`` with SHA-256, keeps 10 hex
    digits and swaps 0, 1, 3, a, e for g, h, k, m, t. Its name lookup uses the path
    ``metadata/name`` as one key and finds nothing, so the name it hashes is always ``""``.
    """
    text = json.dumps(
        {"data": data, "kind": "ConfigMap", "name": ""},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):  # Go's json
        text = text.replace(char, escaped)
    digest = hashlib.sha256(text.encode()).hexdigest()[:10]
    return digest.translate(str.maketrans("013ae", "ghkmt"))


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=value`` lines (blank lines and ``#`` comments skipped), as kustomize's ``envs``.

    Like kustomize, only the line's leading blanks go: ``B = x`` is the key ``"B "``.
    """
    data = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.lstrip()
        if not line or line.startswith("#"):
            continue
        key, equals, value = line.partition("=")
        if not equals or not key.strip():
            raise ManifestError(f"{path}:{number}: expected KEY=value, got {line!r}")
        data[key] = value
    return data


def generate_configmap(folder: Path, args: dict[str, Any]) -> Manifest:
    """The ConfigMap one ``configMapGenerator`` entry makes, named ``<name>-<content hash>``."""
    unknown = sorted(set(args) - GENERATOR_FIELDS) + sorted(
        set(args.get("options") or {}) - OPTION_FIELDS
    )
    if unknown or "name" not in args:
        raise ManifestError(
            f"{folder}: configMapGenerator needs a name and uses only {sorted(GENERATOR_FIELDS)}"
            f" (options: {sorted(OPTION_FIELDS)}); got {unknown or 'no name'}: render it with"
            f" kustomize (`kubectl kustomize {folder}`, kubernetes.render)"
        )
    data: dict[str, str] = {}
    for env in args.get("envs", []):
        data.update(read_env_file(folder / env))
    for literal in args.get("literals", []):
        key, _, value = str(literal).partition("=")
        data[key] = value
    options = args.get("options") or {}
    metadata: dict[str, Any] = {"name": f"{args['name']}-{configmap_hash(data)}"}
    for key in ("namespace",):
        if key in args:
            metadata[key] = args[key]
    for key in ("labels", "annotations"):
        if options.get(key):
            metadata[key] = dict(options[key])
    configmap: Manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata}
    if "immutable" in options:
        configmap["immutable"] = options["immutable"]
    configmap["data"] = data
    return configmap


def _configmap_refs(manifest: Manifest) -> list[dict[str, Any]]:
    """The dicts holding a ConfigMap's ``name`` in a workload's pod template (or a Pod)."""
    pod = manifest.get("spec", {}) if manifest.get("kind") == "Pod" else pod_spec(manifest)
    refs = []
    for container in pod.get("containers", []) + pod.get("initContainers", []):
        refs += [e["configMapRef"] for e in container.get("envFrom", []) if "configMapRef" in e]
        refs += [
            e["valueFrom"]["configMapKeyRef"]
            for e in container.get("env", [])
            if "configMapKeyRef" in e.get("valueFrom", {})
        ]
    for volume in pod.get("volumes", []):
        refs += [volume["configMap"]] if "configMap" in volume else []
        refs += [
            s["configMap"]
            for s in volume.get("projected", {}).get("sources", [])
            if "configMap" in s
        ]
    return refs


def configmap_references(manifest: Manifest) -> list[str]:
    """The names of the ConfigMaps a workload's pods read (environment and volumes)."""
    return [ref.get("name") for ref in _configmap_refs(manifest)]


def _point_at(manifests: list[Manifest], generated: dict[tuple[str, str], str]) -> None:
    """Rename references to generated ConfigMaps (``(namespace, short name)`` → hashed name)."""
    for manifest in manifests:
        namespace = manifest.get("metadata", {}).get("namespace", "default")
        for ref in _configmap_refs(manifest):
            ref["name"] = generated.get((namespace, ref.get("name")), ref.get("name"))


def _load(folder: Path) -> tuple[list[Manifest], dict[tuple[str, str], str]]:
    """The objects and the generated ConfigMaps' names (short → hashed) of one kustomization."""
    config_path = folder / "kustomization.yaml"
    if not config_path.is_file():
        raise ManifestError(f"{folder}: no kustomization.yaml")
    config = yaml.safe_load(config_path.read_text()) or {}
    extra = sorted(set(config) - FIELDS)
    if extra:
        raise ManifestError(
            f"{config_path} uses {', '.join(extra)}: render it with kustomize "
            f"(`kubectl kustomize {folder}`, kubernetes.render)"
        )
    manifests: list[Manifest] = []
    generated: dict[tuple[str, str], str] = {}
    for entry in config.get("resources", []):
        target = folder / entry
        if target.is_dir():
            objects, names = _load(target)
            manifests += objects
            generated |= names
        else:
            manifests += load_manifests(target)
    for args in config.get("configMapGenerator", []):
        configmap = generate_configmap(folder, args)
        manifests.append(configmap)
        generated[(args.get("namespace", "default"), args["name"])] = configmap["metadata"]["name"]
    _point_at(manifests, generated)
    return manifests, generated


def load_kustomization(folder: str | Path) -> list[Manifest]:
    """What ``kubectl kustomize folder`` renders, for ``resources`` and ``configMapGenerator``.

    Each resource is a YAML file or a folder with its own kustomization (read recursively).
    Objects come in the order listed, generated ConfigMaps after their kustomization's resources
    (kustomize sorts them by kind; compare with ``by_id``).
    """
    return _load(Path(folder))[0]
