"""kubernetes.kustomize: the course's kustomizations read without kubectl, ConfigMaps hashed as
kustomize hashes them, and a configuration change that rolls the pods.

Comparisons with the real kustomize need kubectl and skip without it.
"""

from __future__ import annotations

import copy
import shutil

import k8s_cases as cases
import pytest
from k8s_cases import K8S, PLAIN

from mlops_course.kubernetes import kustomize, manifests

needs_kubectl = pytest.mark.skipif(
    manifests.kubectl_path() is None,
    reason="kubectl is not installed (the course Docker image has none): cannot run kustomize",
)

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: app, namespace: demo}
spec:
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers:
        - name: app
          image: app:1
          envFrom: [{configMapRef: {name: settings}}]
          env:
            - name: ONE
              valueFrom: {configMapKeyRef: {name: settings, key: A}}
      volumes:
        - {name: config, configMap: {name: settings}}
"""


def kustomization(folder, env_text: str, literals=()) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "deployment.yaml").write_text(DEPLOYMENT)
    (folder / "settings.env").write_text(env_text)
    literal_lines = "".join(f"      - {line!r}\n" for line in literals)
    (folder / "kustomization.yaml").write_text(
        "resources: [deployment.yaml]\n"
        "configMapGenerator:\n"
        "  - name: settings\n"
        "    namespace: demo\n"
        "    envs: [settings.env]\n" + (f"    literals:\n{literal_lines}" if literals else "")
    )


ENVS = {
    "plain": "A=1\nB=/srv/models\n",
    "comments and blanks": "# a comment\n\nA=1\n  B = spaced \n",
    "html and unicode": "A=<b>&</b>\nB=grüße 東京\nC=\n",
}


@needs_kubectl
@pytest.mark.parametrize("name", ENVS)
def test_the_hash_and_the_references_are_kustomizes(tmp_path, name):
    kustomization(tmp_path, ENVS[name], literals=["L=x=y"])
    ours = manifests.by_id(kustomize.load_kustomization(tmp_path))
    assert ours == manifests.by_id(manifests.render(tmp_path))
    (configmap,) = [m for m in ours.values() if m["kind"] == "ConfigMap"]
    hashed = configmap["metadata"]["name"]
    assert hashed == "settings-" + kustomize.configmap_hash(configmap["data"])
    assert kustomize.configmap_references(ours["Deployment/demo/app"]) == [hashed] * 3


def test_a_changed_setting_is_a_new_name_in_the_pod_template(tmp_path):
    kustomization(tmp_path / "a", "A=1\n")
    kustomization(tmp_path / "b", "A=2\n")
    a, b = (manifests.by_id(kustomize.load_kustomization(tmp_path / x)) for x in "ab")
    assert manifests.differences(a["Deployment/demo/app"], b["Deployment/demo/app"]) == [
        "spec.template.spec.containers.0.env.0.valueFrom.configMapKeyRef.name",
        "spec.template.spec.containers.0.envFrom.0.configMapRef.name",
        "spec.template.spec.volumes.0.configMap.name",
    ]


def test_the_course_configmap_is_generated_and_both_tracks_read_it():
    objects = cases.canary_set()
    configmap = manifests.find(objects, "ConfigMap")
    name = configmap["metadata"]["name"]
    assert name == "model-server-config-" + kustomize.configmap_hash(configmap["data"])
    assert configmap["immutable"] is True and configmap["data"]["WEB_CONCURRENCY"] == "1"
    for deployment in (m for m in objects if m["kind"] == "Deployment"):
        assert kustomize.configmap_references(deployment) == [name]


def test_hash_changes_with_any_key_or_value():
    data = dict(manifests.find(cases.stable(), "ConfigMap")["data"])
    hashes = {kustomize.configmap_hash(data)}
    for key in data:
        changed = copy.deepcopy(data)
        changed[key] += "0"
        hashes.add(kustomize.configmap_hash(changed))
    assert len(hashes) == len(data) + 1 and all(len(h) == 10 for h in hashes)
    assert not any(c in h for h in hashes for c in "013ae")  # kustomize avoids vowels


def test_unsupported_generator_fields_say_to_use_kustomize(tmp_path):
    shutil.copytree(PLAIN["base"], tmp_path / "base")
    config = tmp_path / "base" / "kustomization.yaml"
    config.write_text(config.read_text().replace("    envs:", "    behavior: merge\n    envs:"))
    with pytest.raises(manifests.ManifestError, match="render it with kustomize"):
        kustomize.load_kustomization(tmp_path / "base")


def test_a_bad_env_line_is_a_clear_error(tmp_path):
    kustomization(tmp_path, "A=1\njust words\n")
    with pytest.raises(manifests.ManifestError, match=r"settings.env:2: expected KEY=value"):
        kustomize.load_kustomization(tmp_path)


def test_no_kustomization_is_a_clear_error(tmp_path):
    with pytest.raises(manifests.ManifestError, match=r"no kustomization\.yaml"):
        kustomize.load_kustomization(tmp_path)
    assert kustomize.load_kustomization(K8S)  # the course's top level reads
