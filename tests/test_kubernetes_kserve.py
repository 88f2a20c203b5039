"""The KServe overlay: a ServingRuntime and an InferenceService for the course's server, valid
against KServe's own CRD schemas (vendored), strictly, and in agreement with the server.

Every check is shown to fail: misspelt fields at several depths, a wrong type, a kind that is not
vendored, and a runtime that disagrees with the image.
"""

from __future__ import annotations

import copy
import re

import pytest
from k8s_cases import KSERVE
from paths import ROOT

from mlops_course.kubernetes import consistency, custom_resources, kustomize, manifests, schemas

CRDS = ROOT / "src" / "mlops_course" / "kubernetes" / "crds"


@pytest.fixture(scope="module")
def objects() -> list[dict]:
    return kustomize.load_kustomization(KSERVE)


def test_the_overlay_validates_against_kserves_schemas(objects):
    assert sorted(m["kind"] for m in objects) == ["InferenceService", "Namespace", "ServingRuntime"]
    versions = schemas.course_versions(objects)
    assert versions == schemas.course_versions(kustomize.load_kustomization(KSERVE.parent.parent))
    results = schemas.validate(objects, [versions[0], versions[-1]])
    assert schemas.validation_errors(results) == [] and len(results) == 6


@pytest.mark.skipif(manifests.kubectl_path() is None, reason="kubectl is not installed")
def test_kustomize_renders_exactly_the_files(objects):
    assert manifests.by_id(manifests.render(KSERVE)) == manifests.by_id(objects)


def edit(objects: list[dict], kind: str, change) -> dict:
    manifest = copy.deepcopy(manifests.find(objects, kind))
    change(manifest)
    return manifest


def runtime_container(manifest: dict) -> dict:
    return manifest["spec"]["containers"][0]


MISTAKES = {
    "spec.predictor.model: Additional properties are not allowed ('runtme'": (
        "InferenceService",
        lambda m: m["spec"]["predictor"]["model"].update(runtme="x"),
    ),
    "spec.predictor: Additional properties are not allowed ('minReplica'": (
        "InferenceService",
        lambda m: m["spec"]["predictor"].update(minReplica=3),
    ),
    "metadata: Additional properties are not allowed ('lables'": (
        "InferenceService",
        lambda m: m["metadata"].update(lables={}),
    ),
    "spec.containers.0: Additional properties are not allowed ('readinesProbe'": (
        "ServingRuntime",
        lambda m: runtime_container(m).update(readinesProbe={}),
    ),
    "spec.predictor.maxReplicas: 'ten' is not of type 'integer'": (
        "InferenceService",
        lambda m: m["spec"]["predictor"].update(maxReplicas="ten"),
    ),
    "spec.supportedModelFormats.0: Additional properties are not allowed ('autoselect'": (
        "ServingRuntime",
        lambda m: m["spec"]["supportedModelFormats"][0].update(autoselect=True),
    ),
}


@pytest.mark.parametrize("error", MISTAKES)
def test_a_misspelt_or_mistyped_field_fails(objects, error):
    kind, change = MISTAKES[error]
    broken = edit(objects, kind, change)
    (message,) = schemas.validation_errors(schemas.validate([broken], ["1.37"]))
    assert error in message, message


def test_a_kind_or_version_that_is_not_vendored_has_no_schema(objects):
    isvc = manifests.find(objects, "InferenceService")
    old = {**isvc, "apiVersion": "serving.kserve.io/v1alpha1"}
    assert not custom_resources.has_schema(old)
    (message,) = schemas.validation_errors(schemas.validate([old], ["1.37"]))
    assert "no schema" in message


def test_the_vendored_schemas_name_their_source():
    readme = (CRDS / "README.md").read_text()
    assert re.search(r"commit `[0-9a-f]{40}`", readme) and "0.20.0" in readme
    for name in custom_resources.vendored():
        assert f"`{name}`" in readme
    assert custom_resources.vendored() == {
        "inferenceservice-serving.kserve.io-v1beta1.json",
        "servingruntime-serving.kserve.io-v1alpha1.json",
    }


def test_the_runtime_agrees_with_the_image_and_the_server(objects):
    facts = consistency.serving_facts(ROOT)
    container = runtime_container(manifests.find(objects, "ServingRuntime"))
    isvc = manifests.find(objects, "InferenceService")
    assert runtime_problems(container, isvc, facts) == []
    wrong = copy.deepcopy(container)
    wrong["ports"][0]["containerPort"] = 8080
    wrong["env"].append({"name": "MAX_BATCHES", "value": "8"})
    wrong["readinessProbe"]["httpGet"]["path"] = "/healthz"
    assert len(runtime_problems(wrong, isvc, facts)) == 3


def runtime_problems(container: dict, isvc: dict, facts: consistency.ServingFacts) -> list[str]:
    """What a test finds wrong with the runtime's container: the same facts as the Deployment's."""
    problems = []
    if container["image"] != facts.image:
        problems.append(f"image {container['image']}")
    if [p["containerPort"] for p in container["ports"]] != facts.dockerfile.expose:
        problems.append("port")
    unknown = {e["name"] for e in container["env"]} - facts.server_env
    if unknown:
        problems.append(f"unknown variables {unknown}")
    for probe in ("readinessProbe", "livenessProbe"):
        if container[probe]["httpGet"]["path"] not in facts.routes:
            problems.append(f"{probe} path")
    name = isvc["metadata"]["name"]
    if name not in facts.models or "/v2/models/<name>/infer" not in facts.routes:
        problems.append(f"KServe's route /v2/models/{name}/infer is not the server's")
    env = {e["name"]: e["value"] for e in container["env"]}
    if int(env["DEFAULT_MODEL_VERSION"]) not in facts.models.get(env["DEFAULT_MODEL"], []):
        problems.append("model version")
    return problems


def test_without_the_vendored_schemas_kserve_kinds_fail_plainly(objects, monkeypatch):
    """An install that leaves crds/ out cannot vouch for KServe's objects: "no schema", no crash."""
    monkeypatch.setattr(custom_resources, "vendored", set)
    errors = schemas.validation_errors(schemas.validate(objects, ["1.37"]))
    assert len(errors) == 2 and all("no schema" in e for e in errors)
