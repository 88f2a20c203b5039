"""mlops_course.image_demos and image_registry.push without an engine: the demo Dockerfiles say
what lesson 09 claims of them, and the measurements call the engine in the order they should."""

from pathlib import Path

import pytest

from mlops_course import dockerfiles, image_demos, image_registry
from mlops_course.docker_steps import Steps


def rules(text: str) -> set[str]:
    return {finding.code for finding in dockerfiles.hadolint(text=text)}


def test_the_demo_dockerfiles_lint_as_the_lesson_says():
    for text in (image_demos.DEPS_FIRST, image_demos.CODE_FIRST, image_demos.ONE_RUN):
        assert rules(text) == set()
    assert rules(image_demos.MULTI_STAGE) == set()
    assert rules(image_demos.SEPARATE_RUNS) == {"DL3059"}
    assert {"DL3013", "DL3041"} <= rules(image_demos.TUTORIAL_CENTOS)
    assert rules(image_demos.TUTORIAL_FLASK) == set()  # clean, yet root and no health check


def test_code_first_is_deps_first_in_another_order():
    deps, code = image_demos.DEPS_FIRST.splitlines(), image_demos.CODE_FIRST.splitlines()
    assert deps != code and sorted(deps) == sorted(code)
    assert code.index("COPY app.py .") < code.index("RUN python -m venv /opt/venv")


class FakeSteps(Steps):
    def __init__(self):
        super().__init__(client=None, why="fake", label="lesson=09")
        self.builds = []

    def build(self, context: Path, tag: str, version: str = "0", *options: str) -> float:
        self.builds.append((context.name, tag, version, options, (context / "app.py").read_text()))
        return float(len(self.builds))


def test_build_times_measure_cold_unchanged_edited_and_code_first(tmp_path: Path):
    steps = FakeSteps()
    times = image_demos.build_times(steps, tmp_path, "demo")
    assert times == {
        "from scratch": 1.0,
        "unchanged": 2.0,
        "one-line edit": 3.0,
        "same edit, code first": 4.0,
    }
    (_, _, _, cold, app0), (_, _, _, warm, app1), edited, code_first = steps.builds
    assert cold == ("--no-cache",) and warm == () and app0 == app1
    assert edited[1:3] == ("demo:1.1.0", "1.1.0") and edited[4] != app0
    assert code_first[0] == "code-first" and code_first[4] == edited[4]
    assert (tmp_path / "code-first" / "Dockerfile").read_text() == image_demos.CODE_FIRST


class Pushing:
    def __init__(self, lines):
        self.lines, self.tagged, self.images = lines, [], self

    def get(self, name):
        return self

    def tag(self, repository, tag=None):
        self.tagged.append(f"{repository}:{tag}")

    def push(self, repository, tag=None, stream=False, decode=False):
        return iter(self.lines)


def test_push_tags_then_times_the_push():
    client = Pushing([{"status": "Pushed"}, {"status": "digest: sha256:0"}])
    assert image_registry.push(client, "demo:1", "127.0.0.1:5000/demo", "1") >= 0
    assert client.tagged == ["127.0.0.1:5000/demo:1"]


def test_push_raises_on_an_error_line():
    client = Pushing([{"status": "Pushing"}, {"error": "denied: no access"}])
    with pytest.raises(image_registry.PushFailed, match="denied: no access"):
        image_registry.push(client, "demo:1", "127.0.0.1:5000/demo", "1")
