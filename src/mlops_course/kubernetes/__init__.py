"""Kubernetes manifests for the model server: load, render, validate, review, check consistency.

- :mod:`~mlops_course.kubernetes.manifests`: read manifests, render with ``kubectl kustomize``,
  write YAML, name and find objects;
- :mod:`~mlops_course.kubernetes.kustomize`: read the course's kustomizations without kubectl
  (resources, and ConfigMaps generated with kustomize's content hash);
- :mod:`~mlops_course.kubernetes.schemas`: validate against the API's JSON schemas, strictly,
  for chosen Kubernetes versions;
- :mod:`~mlops_course.kubernetes.custom_resources`: KServe's CRD schemas (vendored in ``crds/``),
  strict;
- :mod:`~mlops_course.kubernetes.rules`: the rules behind checkov's checks, and checkov itself;
- :mod:`~mlops_course.kubernetes.capacity`: quantities, QoS, the HPA rule, rolling-update steps;
- :mod:`~mlops_course.kubernetes.autoscaling`: the HPA's algorithm with its behavior, over time;
- :mod:`~mlops_course.kubernetes.canary`: is a canary a canary of the stable Deployment?
- :mod:`~mlops_course.kubernetes.prometheus`: a real Prometheus on 127.0.0.1, and PromQL;
- :mod:`~mlops_course.kubernetes.canary_metrics`: promote or roll back from Prometheus' numbers;
- :mod:`~mlops_course.kubernetes.memory_load`: the heaviest requests, to measure memory;
- :mod:`~mlops_course.kubernetes.consistency`: do the manifests agree with the image and server?

The names below are re-exported, so ``from mlops_course import kubernetes as k8s`` gives the
whole API. Introduced in notebooks/11_kubernetes.ipynb (lab: solutions/11_kubernetes_lab.ipynb).
"""

from mlops_course.kubernetes.autoscaling import Scaling, rate_limit, scaling, simulate_hpa
from mlops_course.kubernetes.canary import canary_share, canary_tag, check_canary, replicas
from mlops_course.kubernetes.canary_metrics import (
    Verdict,
    ask,
    broken_onnx,
    canary_analysis,
    decide,
    error_ratio_query,
    one_model_repository,
    p95_query,
    requests_query,
    send_traffic,
)
from mlops_course.kubernetes.capacity import (
    hpa_desired_replicas,
    qos_class,
    quantity,
    rollout_steps,
)
from mlops_course.kubernetes.consistency import (
    ServingFacts,
    consistency_problems,
    server_routes,
    serving_facts,
)
from mlops_course.kubernetes.custom_resources import (
    custom_errors,
    custom_schema,
    has_schema,
    schema_name,
    vendored,
)
from mlops_course.kubernetes.kustomize import (
    configmap_hash,
    configmap_references,
    generate_configmap,
    load_kustomization,
    read_env_file,
)
from mlops_course.kubernetes.manifests import (
    CLUSTER_SCOPED,
    MODEL_LABEL,
    MODEL_VERSION_LABEL,
    NAME_LABEL,
    TRACK_LABEL,
    VERSION_ENV,
    KubectlMissing,
    Manifest,
    ManifestError,
    by_id,
    container_env,
    differences,
    find,
    kubectl_path,
    load_manifests,
    model_version,
    parse_manifests,
    pod_labels,
    pod_spec,
    render,
    resource_id,
    security_context,
    selects,
    to_yaml,
)
from mlops_course.kubernetes.memory_load import HeavyRequest, largest_batch, send_heaviest
from mlops_course.kubernetes.prometheus import (
    Prometheus,
    PrometheusMissing,
    prometheus_path,
    scrape_config,
)
from mlops_course.kubernetes.rules import (
    OTHER_SOURCES,
    RULES,
    TUTORIAL_DEPLOYMENT,
    checkov_failed,
    checkov_skips,
    review,
)
from mlops_course.kubernetes.schemas import (
    OLDEST_KUBERNETES,
    Validation,
    course_versions,
    schema_versions,
    supported_versions,
    validate,
    validation_errors,
)

__all__ = [
    "CLUSTER_SCOPED",
    "MODEL_LABEL",
    "MODEL_VERSION_LABEL",
    "NAME_LABEL",
    "OLDEST_KUBERNETES",
    "OTHER_SOURCES",
    "RULES",
    "TRACK_LABEL",
    "TUTORIAL_DEPLOYMENT",
    "VERSION_ENV",
    "HeavyRequest",
    "KubectlMissing",
    "Manifest",
    "ManifestError",
    "Prometheus",
    "PrometheusMissing",
    "Scaling",
    "ServingFacts",
    "Validation",
    "Verdict",
    "ask",
    "broken_onnx",
    "by_id",
    "canary_analysis",
    "canary_share",
    "canary_tag",
    "check_canary",
    "checkov_failed",
    "checkov_skips",
    "configmap_hash",
    "configmap_references",
    "consistency_problems",
    "container_env",
    "course_versions",
    "custom_errors",
    "custom_schema",
    "decide",
    "differences",
    "error_ratio_query",
    "find",
    "generate_configmap",
    "has_schema",
    "hpa_desired_replicas",
    "kubectl_path",
    "largest_batch",
    "load_kustomization",
    "load_manifests",
    "model_version",
    "one_model_repository",
    "p95_query",
    "parse_manifests",
    "pod_labels",
    "pod_spec",
    "prometheus_path",
    "qos_class",
    "quantity",
    "rate_limit",
    "read_env_file",
    "render",
    "replicas",
    "requests_query",
    "resource_id",
    "review",
    "rollout_steps",
    "scaling",
    "schema_name",
    "schema_versions",
    "scrape_config",
    "security_context",
    "selects",
    "send_heaviest",
    "send_traffic",
    "server_routes",
    "serving_facts",
    "simulate_hpa",
    "supported_versions",
    "to_yaml",
    "validate",
    "validation_errors",
    "vendored",
]
