"""What a platform team checks in the images (issue #19): the serving image's layers follow the
rate of change (a code change rebuilds one small layer), and the server runs read-only.

Static checks read the Dockerfile; the ``docker`` ones build and run it (see tests/test_docker.py
for the engine rules). Every image and container made here has a unique name and is removed.
"""

import pytest
from docker_helpers import (
    build_serving,
    copy_serving_context,
    infer_digits,
    record,
    remove_image,
    run_server,
    unique_tag,
)
from paths import ROOT

from mlops_course import containers
from mlops_course.dockerfiles import dockerfile_instructions

SERVING = ROOT / containers.DOCKERFILES[containers.SERVING_IMAGE]
CHANGED_FILE = "src/mlops_course/runtime.py"


def final_stage(text: str) -> list:
    """The instructions after the last FROM."""
    steps = dockerfile_instructions(text)
    last = max(i for i, step in enumerate(steps) if step.keyword == "FROM")
    return steps[last + 1 :]


@pytest.mark.parametrize(
    "dockerfile", [SERVING, SERVING.with_name("Dockerfile.gpu")], ids=lambda p: p.name
)
def test_serving_final_stage_adds_dependencies_then_models_then_code(dockerfile):
    steps = final_stage(dockerfile.read_text())
    layers = [s for s in steps if s.keyword in {"RUN", "COPY", "ADD", "WORKDIR"}]
    copies = [s.arguments for s in layers if s.keyword == "COPY"]
    assert copies == [
        "--from=venv /opt/venv /opt/venv",
        "models /srv/models",
        "--from=code /opt/code /opt/code",
    ]
    assert layers[-1].arguments == copies[-1], "nothing may follow the code layer"
    # An ARG is in the cache key of every RUN after it: a new REVISION must rebuild nothing.
    first_arg = min(i for i, s in enumerate(steps) if s.keyword == "ARG")
    assert all(s.keyword not in {"RUN", "COPY", "ADD"} for s in steps[first_arg:])


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_a_code_change_rebuilds_only_the_small_code_layer(docker_client, tmp_path):
    """Build the checkout, change one line of src/ in a copy of the context, build again: every
    layer but the code one is reused, digest for digest."""
    before, after = unique_tag(containers.SERVING_IMAGE), unique_tag(containers.SERVING_IMAGE)
    context = copy_serving_context(tmp_path / "context")
    changed = context / CHANGED_FILE
    changed.write_text(changed.read_text() + "# a one-line change\n")
    try:
        build_serving(docker_client, before)
        build_serving(docker_client, after, context=context)
        old, new = (docker_client.images.get(tag) for tag in (before, after))
        old_layers, new_layers = old.attrs["RootFS"]["Layers"], new.attrs["RootFS"]["Layers"]
        assert len(old_layers) == len(new_layers)
        differ = [i for i, (a, b) in enumerate(zip(old_layers, new_layers, strict=True)) if a != b]
        sizes = {
            entry["CreatedBy"][-60:]: entry["Size"]
            for entry in new.history()
            if entry["Size"] > 0 or "COPY" in entry["CreatedBy"]
        }
        code_bytes = sum(size for made, size in sizes.items() if "/opt/code" in made)
        record(
            "serving-layers",
            layers=len(new_layers),
            changed=differ,
            changed_layer_kb=round(code_bytes / 1e3, 1),
            image_mb=round(new.attrs["Size"] / 1e6, 1),
            layer_bytes=sizes,
        )
        assert differ == [len(new_layers) - 1], f"layers {differ} of {len(new_layers)} changed"
        assert 0 < code_bytes < 2e6, f"the code layer is {code_bytes / 1e6:.1f} MB"
    finally:
        remove_image(docker_client, before)
        remove_image(docker_client, after)


@pytest.fixture(scope="module")
def serving_image(docker_client):
    tag = build_serving(docker_client, unique_tag(containers.SERVING_IMAGE, "ro"))
    try:
        yield tag
    finally:
        remove_image(docker_client, tag)


@pytest.mark.docker
@pytest.mark.slow
def test_serving_image_serves_read_only_with_a_tmpfs_tmp(
    docker_client, serving_image, digits, reference
):
    container, address = run_server(
        docker_client, serving_image, read_only=True, tmpfs={"/tmp": "size=64m"}
    )
    try:
        containers.wait_healthy(container)
        x = digits.x_test[:8]
        assert (infer_digits(address, x).argmax(1) == reference.predict(x).argmax(1)).all()
        code, _ = container.exec_run(["touch", "/srv/models/written"])
        assert code != 0, "the root filesystem must be read-only"
    finally:
        container.remove(force=True)


@pytest.mark.docker
@pytest.mark.slow
def test_serving_image_read_only_without_tmp_fails_at_start(docker_client, serving_image):
    """What docker/README.md says: without a writable /tmp the server does not start."""
    container, _ = run_server(docker_client, serving_image, read_only=True)
    try:
        with pytest.raises(TimeoutError) as unhealthy:
            containers.wait_healthy(container, timeout=60)
        container.reload()
        log = container.logs().decode(errors="replace")
        record(
            "serving-read-only-without-tmp",
            running=container.attrs["State"]["Running"],
            exit_code=container.attrs["State"]["ExitCode"],
            log_tail=log.strip().splitlines()[-3:],
        )
        assert "No usable temporary directory" in log, str(unhealthy.value)[-2000:]
    finally:
        container.remove(force=True)
