"""kubernetes.consistency: the manifests agree with the image (Dockerfile) and the server.

Every check is also shown to fail: manifests that disagree with the Dockerfile or the server.
"""

from __future__ import annotations

import copy
import dataclasses

import k8s_cases as cases
import pytest
from paths import ROOT

import mlops_course
from mlops_course.dockerfiles import ImageFacts
from mlops_course.kubernetes import consistency
from mlops_course.kubernetes import manifests as km
from mlops_course.serving import create_app


@pytest.fixture(scope="module")
def facts() -> consistency.ServingFacts:
    return consistency.serving_facts(ROOT)


def test_manifests_agree_with_the_dockerfile_and_the_server(facts):
    stable = cases.stable()
    canary = cases.canary()
    assert consistency.consistency_problems(stable, canary, facts) == []
    deployment = km.find(stable, "Deployment")
    assert facts.course_version == mlops_course.__version__
    assert facts.image == "mlops-course/serving:" + facts.course_version
    version = km.model_version(deployment)
    assert version in facts.models["digits"]
    assert km.model_version(canary) > version  # the canary's version need not exist yet


def test_the_routes_are_every_route_the_real_server_serves(facts):
    """Not only the Open Inference Protocol's /v2 routes: rest.py's too (/predict, /metrics...)."""
    app = create_app(ROOT / "models")
    assert facts.routes == {rule.rule for rule in app.url_map.iter_rules()}
    assert {"/v2/health/ready", "/predict", "/metrics", "/metadata", "/"} <= facts.routes


def test_a_probe_on_a_plain_rest_route_is_a_server_route(facts):
    stable = cases.stable()
    """The readiness probe may ask any route the server has, /metadata included (not only /v2)."""

    def probe_metadata(m):
        container_of(m)["startupProbe"]["httpGet"].update(path="/metadata")

    problems = consistency.consistency_problems(mutate(stable, probe_metadata), None, facts)
    assert not any("not a server route" in p for p in problems), problems
    assert any("startup probe must ask" in p for p in problems), problems


def mutate(objects: list[dict], change) -> list[dict]:
    objects = copy.deepcopy(objects)
    change(objects)
    return objects


def container_of(objects: list[dict]) -> dict:
    return km.pod_spec(km.find(objects, "Deployment", "model-server"))["containers"][0]


def pod_of(objects: list[dict]) -> dict:
    return km.pod_spec(km.find(objects, "Deployment", "model-server"))


def set_version(objects: list[dict], version: str) -> None:
    km.pod_labels(km.find(objects, "Deployment", "model-server"))[km.MODEL_VERSION_LABEL] = version
    container_of(objects)["env"][0]["value"] = version


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: container_of(m).update(image="mlops-course/serving:0.0.9"), "not the one"),
        (lambda m: container_of(m)["ports"][0].update(containerPort=8080), "EXPOSE"),
        (
            lambda m: container_of(m)["readinessProbe"]["httpGet"].update(path="/healthz"),
            "not a server route",
        ),
        (
            lambda m: container_of(m)["livenessProbe"]["httpGet"].update(path="/v2/health/ready"),
            "HEALTHCHECK",
        ),
        (lambda m: container_of(m)["livenessProbe"].update(periodSeconds=60), "HEALTHCHECK's"),
        (lambda m: pod_of(m)["securityContext"].update(runAsUser=10002), "USER"),
        (lambda m: km.find(m, "ConfigMap")["data"].update(MAX_BATCHES="8"), "no variable"),
        (lambda m: km.find(m, "ConfigMap")["data"].update(DEFAULT_MODEL="mnist"), "DEFAULT_MODEL"),
        (lambda m: set_version(m, "7"), "models/digits/7/ does not exist"),
        (lambda m: container_of(m).update(volumeMounts=[]), "/tmp"),
        (lambda m: pod_of(m).update(terminationGracePeriodSeconds=12), "graceful_timeout"),
    ],
)
def test_consistency_catches_drift(facts, change, message):
    stable = cases.stable()
    problems = consistency.consistency_problems(mutate(stable, change), None, facts)
    assert len(problems) >= 1 and any(message in p for p in problems), problems


def test_consistency_catches_an_image_user_that_is_a_name(facts):
    stable = cases.stable()
    image = dataclasses.replace(facts.dockerfile, user="app")
    assert isinstance(image, ImageFacts)
    named = dataclasses.replace(facts, dockerfile=image)
    assert any("numeric uid" in p for p in consistency.consistency_problems(stable, None, named))


def test_canary_image_must_name_its_model_version(facts):
    stable = cases.stable()
    canary = cases.canary()
    wrong = copy.deepcopy(canary)
    km.pod_spec(wrong)["containers"][0]["image"] = "mlops-course/serving:0.2.0"
    problems = consistency.consistency_problems(stable, wrong, facts)
    expected = f"mlops-course/serving:{mlops_course.__version__}-digits-v2"
    assert problems == [f"canary: the image must be {expected} (the server with version 2)"]
