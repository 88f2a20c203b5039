"""kubernetes.schemas: the manifests validate against the real API schemas, strictly.

Every check is also shown to fail: a broken manifest and a kind without a schema. Tests on
rendered overlays need kubectl and skip without it (the course's Docker image has none).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from k8s_cases import OVERLAYS, PLAIN, SEED

from mlops_course.kubernetes import kustomize, manifests, schemas


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, Path]:
    """Each overlay rendered by kustomize into a YAML file."""
    if manifests.kubectl_path() is None:
        pytest.skip("kubectl is not installed (the course Docker image has none)")
    out = tmp_path_factory.mktemp("rendered")
    files = {}
    for name, folder in OVERLAYS.items():
        files[name] = out / f"{name}.yaml"
        files[name].write_text(manifests.to_yaml(manifests.render(folder)))
    return files


def cli(path: Path, version: str) -> subprocess.CompletedProcess:
    binary = Path(sys.executable).with_name("kubernetes-validate")
    return subprocess.run(
        [str(binary), "--strict", "-k", version, str(path)], capture_output=True, text=True
    )


def test_supported_versions_span_everything_shipped():
    versions = schemas.supported_versions(kustomize.load_kustomization(PLAIN["canary"]))
    assert versions == schemas.schema_versions()
    assert versions[0] == "1.25" and len(versions) >= 13  # kubernetes-validate 1.37.0: 1.25-1.37


def test_supported_versions_drop_removed_apis():
    old_hpa = {"apiVersion": "autoscaling/v2beta2", "kind": "HorizontalPodAutoscaler"}
    assert schemas.supported_versions([old_hpa]) == ["1.25"]  # removed in Kubernetes 1.26


def test_the_course_targets_kubernetes_from_1_27():
    objects = kustomize.load_kustomization(PLAIN["canary"])
    versions = schemas.course_versions(objects)
    assert versions[0] == schemas.OLDEST_KUBERNETES == "1.27" and versions[-1] == "1.37"


def test_the_oldest_schemas_refuse_the_pdb_eviction_policy():
    """Why the floor: 1.25's API has no unhealthyPodEvictionPolicy (1.26's has it, alpha)."""
    pdb = manifests.find(kustomize.load_kustomization(PLAIN["base"]), "PodDisruptionBudget")
    errors = schemas.validation_errors(schemas.validate([pdb], ["1.25", "1.26", "1.27"]))
    assert len(errors) == 1 and "1.25" in errors[0] and "unhealthyPodEvictionPolicy" in errors[0]


@pytest.mark.parametrize("name", PLAIN)
def test_plain_kustomizations_validate_on_every_course_version(name):
    objects = kustomize.load_kustomization(PLAIN[name])
    results = schemas.validate(objects, schemas.course_versions(objects))
    assert schemas.validation_errors(results) == []
    assert len(results) == len(objects) * len(schemas.course_versions(objects)) >= len(objects) * 11


@pytest.mark.parametrize("name", OVERLAYS)
def test_rendered_overlays_validate_on_every_course_version(rendered, name):
    objects = manifests.load_manifests(rendered[name])
    results = schemas.validate(objects, schemas.course_versions(objects))
    assert schemas.validation_errors(results) == [] and len(results) >= len(objects) * 11


@pytest.mark.parametrize("name", ["canary", "loadbalancer"])  # together: every object we apply
def test_rendered_overlays_pass_the_cli_strictly_oldest_and_newest(rendered, name):
    """The command line tool agrees: exit 0 and only INFO lines (a WARN would be a failure)."""
    objects = manifests.load_manifests(rendered[name])
    versions = schemas.course_versions(objects)
    for version in (versions[0], versions[-1]):
        result = cli(rendered[name], version)
        assert result.returncode == 0, result.stdout + result.stderr
        lines = result.stdout.splitlines()
        assert len(lines) == len(objects) and all(line.startswith("INFO") for line in lines)


BROKEN = SEED.replace("replicas: 3", "replicas: three").replace("ports:", "portz:")


def test_a_broken_manifest_fails_validation(tmp_path):
    results = schemas.validate(manifests.parse_manifests(BROKEN), ["1.25", "1.37"])
    errors = schemas.validation_errors(results)
    assert len(errors) == 2  # one per version; jsonschema reports the first error it meets
    assert all("Deployment/default/image-classifier" in e for e in errors)
    (tmp_path / "broken.yaml").write_text(BROKEN)
    result = cli(tmp_path / "broken.yaml", "1.37")
    assert result.returncode != 0 and "ERROR" in result.stdout
    # each mistake alone fails, too
    for mistake in ("replicas: three", "portz:"):
        text = SEED.replace("replicas: 3" if "replicas" in mistake else "ports:", mistake)
        assert schemas.validation_errors(
            schemas.validate(manifests.parse_manifests(text), ["1.37"])
        )


def test_unknown_kinds_fail_although_the_cli_only_warns(tmp_path):
    custom = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: x\n"
    results = schemas.validate(manifests.parse_manifests(custom), ["1.37"])
    (error,) = schemas.validation_errors(results)
    assert "no schema" in error
    (tmp_path / "custom.yaml").write_text(custom)
    result = cli(tmp_path / "custom.yaml", "1.37")
    assert result.returncode == 0 and result.stdout.startswith("WARN")  # why WARN is a failure
