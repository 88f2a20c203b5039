"""Do the manifests agree with the image they run and the server inside it?

Introduced in notebooks/11_kubernetes.ipynb. A manifest and its image are written at different
times; nothing in Kubernetes checks that they agree. :func:`serving_facts` reads the image's
side (the Dockerfile, the package version, the server's routes and settings, gunicorn's timeouts,
``models/``) and :func:`consistency_problems` compares the manifests with it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from mlops_course import __version__
from mlops_course.containers import DOCKERFILES, SERVING_IMAGE
from mlops_course.dockerfiles import ImageFacts, dockerfile_facts
from mlops_course.kubernetes.canary import canary_tag, check_canary
from mlops_course.kubernetes.manifests import (
    MODEL_LABEL,
    MODEL_VERSION_LABEL,
    VERSION_ENV,
    Manifest,
    container_env,
    find,
    model_version,
    pod_labels,
    pod_spec,
    security_context,
)


@dataclass(frozen=True)
class ServingFacts:
    """The other side of every manifest: the image, the server and the model repository."""

    image: str  # repository:tag the Dockerfile is built as (the course version)
    course_version: str
    dockerfile: ImageFacts
    live_path: str  # what the image's HEALTHCHECK asks
    routes: set[str]  # the server's URL rules
    server_env: set[str]  # environment variables the server or gunicorn reads
    graceful_timeout: float
    models: dict[str, list[int]]  # name → versions under models/


def server_routes() -> set[str]:
    """Every URL rule the model server serves: the blueprints ``create_app`` registers."""
    from flask import Flask

    from mlops_course.serving import rest, v2

    app = Flask("routes")
    for module in (v2, rest):
        app.register_blueprint(module.blueprint)
    return {rule.rule for rule in app.url_map.iter_rules()}


def serving_facts(root: str | Path) -> ServingFacts:
    """Read :class:`ServingFacts` from the repository at ``root`` and the serving package."""
    from mlops_course.runtime import TELEMETRY_ENV
    from mlops_course.serving import config, gunicorn_conf, healthcheck

    root = Path(root)
    conf = Path(gunicorn_conf.__file__).read_text()
    gunicorn_env = {
        node.args[0].value
        for node in ast.walk(ast.parse(conf))
        if isinstance(node, ast.Call)
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and ast.unparse(node.func) in ("os.environ.get", "os.getenv")
    }
    models = {
        folder.name: sorted(int(v.name) for v in folder.iterdir() if (v / "card.json").is_file())
        for folder in sorted((root / "models").iterdir())
        if folder.is_dir()
    }
    return ServingFacts(
        image=f"{SERVING_IMAGE}:{__version__}",
        course_version=__version__,
        dockerfile=dockerfile_facts((root / DOCKERFILES[SERVING_IMAGE]).read_text()),
        live_path=healthcheck.LIVE_PATH,
        routes=server_routes(),
        server_env=set(config.ENVIRONMENT) | gunicorn_env | {TELEMETRY_ENV},
        graceful_timeout=float(gunicorn_conf.graceful_timeout),
        models=models,
    )


def consistency_problems(
    manifests: list[Manifest], canary: Manifest | None, facts: ServingFacts
) -> list[str]:
    """Where the stable manifests (and the canary) disagree with the image and the server."""
    deployment = find(manifests, "Deployment")
    (container,) = pod_spec(deployment)["containers"]
    env = {**find(manifests, "ConfigMap").get("data", {}), **container_env(container)}
    problems = _container_problems(pod_spec(deployment), container, env, facts)
    problems += _model_problems(deployment, env, facts)
    if canary is not None:
        service = find(manifests, "Service")
        problems += [f"canary: {p}" for p in check_canary(deployment, canary, service)]
        model, version_c = pod_labels(deployment).get(MODEL_LABEL), model_version(canary)
        repository = facts.image.rpartition(":")[0]
        expected = f"{repository}:{canary_tag(facts.course_version, model, version_c)}"
        if pod_spec(canary)["containers"][0].get("image") != expected:
            problems.append(
                f"canary: the image must be {expected} (the server with version {version_c})"
            )
    return problems


def _container_problems(
    pod: dict, container: dict, env: dict[str, str], facts: ServingFacts
) -> list[str]:
    """The image, user, ports, probes, variables, volumes and shutdown timing of the server's
    container against the Dockerfile's and the server's."""
    problems = []
    image, security = facts.dockerfile, security_context(pod, container)
    if container["image"] != facts.image:
        problems.append(
            f"image {container['image']} is not the one the Dockerfile builds, {facts.image}"
        )
    uid, _, gid = image.user.partition(":")
    if not uid.isdigit():
        problems.append(f"USER {image.user}: runAsNonRoot needs a numeric uid in the image")
    elif security.get("runAsUser") != int(uid) or (gid and security.get("runAsGroup") != int(gid)):
        problems.append(f"runAsUser/runAsGroup do not match the image's USER {image.user}")
    ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
    bind_port = int(env.get("BIND", image.env.get("BIND", ":0")).rpartition(":")[2])
    if sorted(ports.values()) != sorted(image.expose) or bind_port not in ports.values():
        problems.append(f"container ports {ports} do not match EXPOSE {image.expose} and BIND")
    problems += _probe_problems(container, facts)
    unknown = sorted(set(env) - facts.server_env)
    if unknown:
        problems.append(f"the server reads no variable named {unknown}")
    repository = env.get("MODEL_REPOSITORY", image.env.get("MODEL_REPOSITORY"))
    if (
        repository != image.env.get("MODEL_REPOSITORY")
        or ("models", repository) not in image.copies
    ):
        problems.append(f"MODEL_REPOSITORY {repository} is not where the image copies models/")
    mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
    if security.get("readOnlyRootFilesystem") and "/tmp" not in mounts:
        problems.append("a read-only root filesystem needs a writable volume at /tmp (gunicorn)")
    sleep = (
        container.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command") or [0]
    )[-1]
    if pod.get("terminationGracePeriodSeconds", 30) < float(sleep) + facts.graceful_timeout:
        problems.append(
            "terminationGracePeriodSeconds is shorter than preStop + gunicorn's graceful_timeout"
        )
    return problems


def _probe_problems(container: dict, facts: ServingFacts) -> list[str]:
    """The probes against the container's ports, the server's routes and the HEALTHCHECK."""
    problems = []
    ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
    probes = {
        k: container.get(f"{k}Probe", {}).get("httpGet", {})
        for k in ("startup", "liveness", "readiness")
    }
    for kind, probe in probes.items():
        if probe.get("port") not in ports and probe.get("port") not in ports.values():
            problems.append(
                f"the {kind} probe's port {probe.get('port')!r} is not a container port"
            )
        if probe.get("path") not in facts.routes:
            problems.append(f"the {kind} probe's path {probe.get('path')!r} is not a server route")
    for kind in ("startup", "liveness"):
        if probes[kind].get("path") != facts.live_path:
            problems.append(
                f"the {kind} probe must ask {facts.live_path}, as the image's HEALTHCHECK"
            )
    if not str(probes["readiness"].get("path", "")).endswith("/ready"):
        problems.append("the readiness probe must ask the ready endpoint (models loaded)")
    liveness, health = container.get("livenessProbe", {}), facts.dockerfile.healthcheck
    if (
        liveness.get("periodSeconds"),
        liveness.get("timeoutSeconds"),
        liveness.get("failureThreshold"),
    ) != (health.get("interval"), health.get("timeout"), health.get("retries")):
        problems.append(
            "the liveness probe's period/timeout/threshold differ from the HEALTHCHECK's"
        )
    return problems


def _model_problems(deployment: Manifest, env: dict[str, str], facts: ServingFacts) -> list[str]:
    """The model labels against the server's variables and what ``models/`` holds."""
    problems = []
    model, version = pod_labels(deployment).get(MODEL_LABEL), model_version(deployment)
    if model != env.get("DEFAULT_MODEL"):
        problems.append(
            f"{MODEL_LABEL} {model!r} is not DEFAULT_MODEL {env.get('DEFAULT_MODEL')!r}"
        )
    if version is None or str(version) != env.get(VERSION_ENV):
        problems.append(f"{MODEL_VERSION_LABEL} and {VERSION_ENV} must name the same version")
    elif version not in facts.models.get(model, []):
        problems.append(f"models/{model}/{version}/ does not exist: the image could not serve it")
    return problems
