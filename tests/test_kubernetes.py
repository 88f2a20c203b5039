"""k8s/: the manifests validate against the real API schemas, pass checkov, agree with the image.

Every check is also shown to fail: a broken manifest, the seed's bare Deployment, a drifted
canary and manifests that disagree with the Dockerfile or the server.
No cluster is needed: kustomize (``kubectl kustomize``) and the schemas run locally. Tests that
render overlays need kubectl and skip without it (the course's Docker image has none); checkov
tests skip where checkov is not installed (``make setup`` puts it in ``.venv-checkov``).
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlops_course import kubernetes as k8s
from mlops_course import policy

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "k8s"
PLAIN = {"k8s": K8S, "base": K8S / "base", "canary": K8S / "overlays" / "canary"}
OVERLAYS = {**PLAIN, "loadbalancer": K8S / "overlays" / "loadbalancer"}

needs_kubectl = pytest.mark.skipif(
    k8s.kubectl_path() is None,
    reason="kubectl is not installed (the course Docker image has none): cannot render overlays",
)
needs_checkov = pytest.mark.skipif(
    policy.checkov_path() is None, reason="checkov is not installed (make setup: .venv-checkov)"
)

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


@pytest.fixture(scope="module")
def stable() -> list[dict]:
    return k8s.load_kustomization(K8S)


@pytest.fixture(scope="module")
def canary_set() -> list[dict]:
    return k8s.load_kustomization(PLAIN["canary"])


@pytest.fixture(scope="module")
def canary(canary_set) -> dict:
    return k8s.find(canary_set, "Deployment", "model-server-canary")


@pytest.fixture(scope="module")
def facts() -> k8s.ServingFacts:
    return k8s.serving_facts(ROOT)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, Path]:
    """Each overlay rendered by kustomize into a YAML file."""
    if k8s.kubectl_path() is None:
        pytest.skip("kubectl is not installed (the course Docker image has none)")
    out = tmp_path_factory.mktemp("rendered")
    files = {}
    for name, folder in OVERLAYS.items():
        files[name] = out / f"{name}.yaml"
        files[name].write_text(k8s.to_yaml(k8s.render(folder)))
    return files


# --- loading and rendering -------------------------------------------------------------------


@needs_kubectl
@pytest.mark.parametrize("name", PLAIN)
def test_plain_kustomizations_are_exactly_their_files(name):
    """What the lesson reads from the files is what `kubectl apply -k` sends."""
    assert k8s.by_id(k8s.render(PLAIN[name])) == k8s.by_id(k8s.load_kustomization(PLAIN[name]))


def test_a_kustomization_with_patches_needs_kustomize():
    with pytest.raises(k8s.ManifestError, match="render it with kustomize"):
        k8s.load_kustomization(OVERLAYS["loadbalancer"])


def test_render_without_kubectl_says_what_to_run(monkeypatch):
    monkeypatch.setattr(k8s, "kubectl_path", lambda: None)
    with pytest.raises(k8s.KubectlMissing, match="kubectl kustomize"):
        k8s.render(K8S)


@needs_kubectl
def test_loadbalancer_overlay_changes_only_the_service_type(stable):
    patched = k8s.by_id(k8s.render(OVERLAYS["loadbalancer"]))
    base = k8s.by_id(stable)
    assert patched.keys() == base.keys()
    changed = {key: k8s.differences(base[key], patched[key]) for key in base}
    assert {key: d for key, d in changed.items() if d} == {
        "Service/mlops-course/model-server": ["spec.type"]
    }
    assert patched["Service/mlops-course/model-server"]["spec"]["type"] == "LoadBalancer"


def test_bad_yaml_is_a_clear_error():
    with pytest.raises(k8s.ManifestError, match="not valid YAML"):
        k8s.parse_manifests("kind: [unclosed")
    with pytest.raises(k8s.ManifestError, match="with a kind"):
        k8s.parse_manifests("- a list\n")


# --- schema validation -----------------------------------------------------------------------


def test_supported_versions_span_everything_shipped(canary_set):
    versions = k8s.supported_versions(canary_set)
    assert versions == k8s.schema_versions()
    assert versions[0] == "1.25" and len(versions) >= 13  # kubernetes-validate 1.37.0: 1.25-1.37


def test_supported_versions_drop_removed_apis():
    old_hpa = {"apiVersion": "autoscaling/v2beta2", "kind": "HorizontalPodAutoscaler"}
    assert k8s.supported_versions([old_hpa]) == ["1.25"]  # removed in Kubernetes 1.26


@pytest.mark.parametrize("name", PLAIN)
def test_plain_kustomizations_validate_on_every_supported_version(name):
    manifests = k8s.load_kustomization(PLAIN[name])
    results = k8s.validate(manifests, k8s.supported_versions(manifests))
    assert k8s.validation_errors(results) == []
    assert len(results) == len(manifests) * len(k8s.schema_versions())


def cli(path: Path, version: str) -> subprocess.CompletedProcess:
    binary = Path(sys.executable).with_name("kubernetes-validate")
    return subprocess.run(
        [str(binary), "--strict", "-k", version, str(path)], capture_output=True, text=True
    )


@pytest.mark.parametrize("name", OVERLAYS)
def test_rendered_overlays_validate_on_every_supported_version(rendered, name):
    manifests = k8s.load_manifests(rendered[name])
    results = k8s.validate(manifests, k8s.supported_versions(manifests))
    assert k8s.validation_errors(results) == [] and len(results) >= len(manifests) * 13


@pytest.mark.parametrize("name", ["canary", "loadbalancer"])  # together: every object we apply
def test_rendered_overlays_pass_the_cli_strictly_oldest_and_newest(rendered, name):
    """The command line tool agrees: exit 0 and only INFO lines (a WARN would be a failure)."""
    manifests = k8s.load_manifests(rendered[name])
    versions = k8s.supported_versions(manifests)
    for version in (versions[0], versions[-1]):
        result = cli(rendered[name], version)
        assert result.returncode == 0, result.stdout + result.stderr
        lines = result.stdout.splitlines()
        assert len(lines) == len(manifests) and all(line.startswith("INFO") for line in lines)


BROKEN = SEED.replace("replicas: 3", "replicas: three").replace("ports:", "portz:")


def test_a_broken_manifest_fails_validation(tmp_path):
    errors = k8s.validation_errors(k8s.validate(k8s.parse_manifests(BROKEN), ["1.25", "1.37"]))
    assert len(errors) == 2  # one per version; jsonschema reports the first error it meets
    assert all("Deployment/default/image-classifier" in e for e in errors)
    (tmp_path / "broken.yaml").write_text(BROKEN)
    result = cli(tmp_path / "broken.yaml", "1.37")
    assert result.returncode != 0 and "ERROR" in result.stdout
    # each mistake alone fails, too
    for mistake in ("replicas: three", "portz:"):
        text = SEED.replace("replicas: 3" if "replicas" in mistake else "ports:", mistake)
        assert k8s.validation_errors(k8s.validate(k8s.parse_manifests(text), ["1.37"]))


def test_unknown_kinds_fail_although_the_cli_only_warns(tmp_path):
    custom = "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata:\n  name: x\n"
    (errors,) = k8s.validation_errors(k8s.validate(k8s.parse_manifests(custom), ["1.37"]))
    assert "no schema" in errors
    (tmp_path / "custom.yaml").write_text(custom)
    result = cli(tmp_path / "custom.yaml", "1.37")
    assert result.returncode == 0 and result.stdout.startswith(
        "WARN"
    )  # why we treat WARN as failure


# --- checkov and the review rules ------------------------------------------------------------


def test_review_finds_every_rule_broken_in_the_seed_and_none_in_ours(canary_set):
    problems = k8s.review(k8s.parse_manifests(SEED))
    assert [p.split(": ", 1)[1] for p in problems] == list(k8s.RULES)
    assert k8s.review(canary_set) == []


def test_review_catches_one_missing_hardening_at_a_time(stable):
    for path, rule in [
        (("readinessProbe",), "readiness probe"),
        (("resources", "limits", "memory"), "memory limit"),
        (("securityContext", "readOnlyRootFilesystem"), "readOnlyRootFilesystem true"),
        (("securityContext", "capabilities"), "capabilities drop ALL"),
    ]:
        manifests = copy.deepcopy(stable)
        container = k8s.find(manifests, "Deployment")["spec"]["template"]["spec"]["containers"][0]
        parent = container
        for key in path[:-1]:
            parent = parent[key]
        del parent[path[-1]]
        assert k8s.review(manifests) == [f"Deployment/mlops-course/model-server: {rule}"]
    without_policy = [m for m in stable if m["kind"] != "NetworkPolicy"]
    assert k8s.review(without_policy) == [
        "Deployment/mlops-course/model-server: a NetworkPolicy selects the pods"
    ]


def test_every_checkov_exception_gives_its_reason(canary_set):
    skips = k8s.checkov_skips(canary_set)
    assert {check for _, check, _ in skips} == {"CKV_K8S_43", "CKV_K8S_15"}
    for resource, check, reason in skips:
        assert check.startswith("CKV") and len(reason.split()) >= 8, (resource, check, reason)


@pytest.mark.slow
@needs_checkov
def test_checkov_passes_on_every_overlay(tmp_path):
    """One checkov run over every overlay (rendered; the plain files where kubectl is missing)."""
    overlays = PLAIN if k8s.kubectl_path() is None else OVERLAYS
    load = k8s.load_kustomization if k8s.kubectl_path() is None else k8s.render
    files = []
    for name, folder in overlays.items():
        files.append(tmp_path / f"{name}.yaml")
        files[-1].write_text(k8s.to_yaml(load(folder)))
    report = policy.checkov(files, "kubernetes")
    assert report.failures == [] and report.failed == 0
    assert report.passed >= 91 * len(files)  # 91 checks pass on the stable objects alone
    assert report.skipped == sum(len(k8s.checkov_skips(k8s.load_manifests(f))) for f in files)


@pytest.mark.slow
@needs_checkov
def test_checkov_fails_the_seed_on_every_rule_the_review_finds():
    failed = k8s.checkov_failed(k8s.parse_manifests(SEED))
    assert failed is not None and len(failed) >= 15
    found = {k8s.RULES[p.split(": ", 1)[1]] for p in k8s.review(k8s.parse_manifests(SEED))}
    assert found - {None} <= failed


def test_checkov_failed_is_none_without_checkov(monkeypatch):
    monkeypatch.setattr(policy, "checkov_path", lambda: None)
    assert k8s.checkov_failed(k8s.parse_manifests(SEED)) is None


# --- consistency with the image and the server -----------------------------------------------


def test_manifests_agree_with_the_dockerfile_and_the_server(stable, canary, facts):
    assert k8s.consistency_problems(stable, canary, facts) == []
    deployment = k8s.find(stable, "Deployment")
    assert facts.image == "mlops-course/serving:" + facts.course_version
    version = k8s.model_version(deployment)
    assert version in facts.models["digits"]
    assert k8s.model_version(canary) > version  # the canary's version need not exist yet


def mutate(manifests: list[dict], change) -> list[dict]:
    manifests = copy.deepcopy(manifests)
    change(manifests)
    return manifests


def container_of(manifests: list[dict]) -> dict:
    return k8s.find(manifests, "Deployment", "model-server")["spec"]["template"]["spec"][
        "containers"
    ][0]


def set_version(manifests: list[dict], version: str) -> None:
    deployment = k8s.find(manifests, "Deployment", "model-server")
    deployment["spec"]["template"]["metadata"]["labels"][k8s.MODEL_VERSION_LABEL] = version
    container_of(manifests)["env"][0]["value"] = version


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
        (
            lambda m: k8s.find(m, "Deployment")["spec"]["template"]["spec"][
                "securityContext"
            ].update(runAsUser=10002),
            "USER",
        ),
        (lambda m: k8s.find(m, "ConfigMap")["data"].update(MAX_BATCHES="8"), "no variable"),
        (lambda m: k8s.find(m, "ConfigMap")["data"].update(DEFAULT_MODEL="mnist"), "DEFAULT_MODEL"),
        (lambda m: set_version(m, "7"), "models/digits/7/ does not exist"),
        (lambda m: container_of(m).update(volumeMounts=[]), "/tmp"),
        (
            lambda m: k8s.find(m, "Deployment")["spec"]["template"]["spec"].update(
                terminationGracePeriodSeconds=12
            ),
            "graceful_timeout",
        ),
    ],
)
def test_consistency_catches_drift(stable, facts, change, message):
    problems = k8s.consistency_problems(mutate(stable, change), None, facts)
    assert len(problems) >= 1 and any(message in p for p in problems), problems


def test_consistency_catches_an_image_user_that_is_a_name(stable, facts):
    named = k8s.ServingFacts(**{**facts.__dict__, "dockerfile": k8s.ImageFacts(
        "app", facts.dockerfile.expose, facts.dockerfile.env, facts.dockerfile.healthcheck,
        facts.dockerfile.copies)})  # fmt: skip
    assert any("numeric uid" in p for p in k8s.consistency_problems(stable, None, named))


def test_canary_image_must_name_its_model_version(stable, canary, facts):
    wrong = copy.deepcopy(canary)
    wrong["spec"]["template"]["spec"]["containers"][0]["image"] = "mlops-course/serving:0.2.0"
    problems = k8s.consistency_problems(stable, wrong, facts)
    assert problems == [
        "canary: the image must be mlops-course/serving:0.1.0-digits-v2 (the server with version 2)"
    ]


# --- the canary ------------------------------------------------------------------------------


def test_the_canary_is_a_canary_of_stable(stable, canary):
    deployment, service = k8s.find(stable, "Deployment"), k8s.find(stable, "Service")
    assert k8s.check_canary(deployment, canary, service) == []
    assert k8s.canary_share(deployment, canary) == 0.25
    assert k8s.differences(deployment["spec"]["selector"], canary["spec"]["selector"]) == [
        f"matchLabels.{k8s.TRACK_LABEL}"
    ]


def broken_canaries(canary: dict) -> dict[str, dict]:
    def edit(change) -> dict:
        out = copy.deepcopy(canary)
        change(out)
        return out

    pod = ("spec", "template", "spec")
    labels = ("spec", "template", "metadata", "labels")

    def at(d, path):
        for key in path:
            d = d[key]
        return d

    return {
        "same name": edit(lambda c: c["metadata"].update(name="model-server")),
        "overlap": edit(lambda c: at(c, labels).update({k8s.TRACK_LABEL: "stable"})),
        "its own pod labels": edit(lambda c: c["spec"]["selector"]["matchLabels"].update(x="y")),
        "Service": edit(lambda c: at(c, labels).update({k8s.NAME_LABEL: "other"})),
        "newer version": edit(lambda c: at(c, labels).update({k8s.MODEL_VERSION_LABEL: "1"})),
        "DEFAULT_MODEL_VERSION": edit(
            lambda c: at(c, pod)["containers"][0]["env"][0].update(value="3")
        ),
        "new tag": edit(lambda c: at(c, pod)["containers"][0].update(image="other/serving:9")),
        "at most as many": edit(lambda c: c["spec"].update(replicas=5)),
        "beyond version and image": edit(
            lambda c: at(c, pod)["containers"][0]["resources"]["limits"].update(memory="2Gi")
        ),
    }  # fmt: skip


def test_check_canary_catches_each_flaw(stable, canary):
    deployment, service = k8s.find(stable, "Deployment"), k8s.find(stable, "Service")
    for flaw, broken in broken_canaries(canary).items():
        problems = k8s.check_canary(deployment, broken, service)
        assert any(flaw in p for p in problems), (flaw, problems)


# --- arithmetic the lesson teaches -----------------------------------------------------------


def test_rolling_update_with_max_unavailable_0_never_drops_below_replicas():
    steps = k8s.rollout_steps(3, max_surge=1, max_unavailable=0)
    assert steps[0] == (3, 0) and steps[-1] == (0, 3)
    assert min(old + new for old, new in steps) == 3
    assert max(old + new for old, new in steps) == 4
    fast = k8s.rollout_steps(3, max_surge=0, max_unavailable=1)
    assert min(old + new for old, new in fast) == 2 and max(old + new for old, new in fast) == 3
    with pytest.raises(ValueError):
        k8s.rollout_steps(3, 0, 0)


def test_hpa_rule():
    assert k8s.hpa_desired_replicas(3, 90, 70, minimum=3) == 4  # ceil(3 × 90/70)
    assert k8s.hpa_desired_replicas(3, 75, 70, minimum=3) == 3  # within the 10 % tolerance
    assert k8s.hpa_desired_replicas(4, 10, 70, minimum=3) == 3  # never below the minimum
    assert k8s.hpa_desired_replicas(8, 300, 70, minimum=3, maximum=10) == 10


def test_quantities_and_qos(stable):
    assert k8s.quantity("500m") == 0.5 and k8s.quantity("256Mi") == 256 * 2**20
    assert k8s.quantity(2) == 2
    with pytest.raises(ValueError):
        k8s.quantity("lots")
    pod = k8s.find(stable, "Deployment")["spec"]["template"]["spec"]
    assert k8s.qos_class(pod) == "Burstable"
    same = {"cpu": "1", "memory": "512Mi"}
    assert k8s.qos_class({"containers": [{"resources": {"limits": same}}]}) == "Guaranteed"
    assert k8s.qos_class({"containers": [{}]}) == "BestEffort"


def test_to_yaml_writes_shared_parts_in_full():
    probe = {"httpGet": {"path": "/v2/health/live", "port": "http"}}
    text = k8s.to_yaml([{"kind": "Pod", "a": probe, "b": probe}, {"kind": "Pod"}])
    assert "&id" not in text and "*id" not in text and text.count("---") == 1
    assert k8s.parse_manifests(text)[0]["b"] == probe


def test_tree_rss_counts_children():
    hold = (
        "import time; x = bytearray(64 * 2**20); x[::4096] = b'1' * len(x[::4096]); time.sleep(30)"
    )
    child = subprocess.Popen([sys.executable, "-c", hold])
    try:
        deadline = time.monotonic() + 20
        while (k8s.tree_rss_mib(child.pid) or 0) < 64 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert k8s.tree_rss_mib(child.pid) >= 64
        own = k8s.tree_rss_mib(os.getpid())
        assert own is not None and own >= k8s.tree_rss_mib(child.pid)  # the child is ours
    finally:
        child.kill()
        child.wait()
    assert k8s.tree_rss_mib(child.pid) is None


def test_dockerfile_facts_reads_the_last_stage():
    text = """FROM python:3.11 AS build
USER root
FROM python:3.11-slim
ENV A=1 \\
    B="two words"
COPY --from=build /opt/venv /opt/venv
COPY models /srv/models
USER 10001:10001
EXPOSE 8000/tcp
HEALTHCHECK --interval=1m --timeout=500ms --retries=2 CMD ["python", "-m", "x"]
"""
    facts = k8s.dockerfile_facts(text)
    assert facts.user == "10001:10001" and facts.expose == [8000]
    assert facts.env == {"A": "1", "B": "two words"}
    assert facts.copies == [("/opt/venv", "/opt/venv"), ("models", "/srv/models")]
    assert facts.healthcheck == {
        "interval": 60.0, "timeout": 0.5, "retries": 2, "command": ["python", "-m", "x"]
    }  # fmt: skip
    with pytest.raises(k8s.ManifestError):
        k8s.dockerfile_facts("RUN echo no base\n")
