"""make test's worker groups (the root conftest.py): what shares the engine or a kernel stays
together, and the labs spread."""

import re

from paths import ROOT


def group_of(request, nodeid: str) -> str:
    return request.config.pluginmanager.get_plugin(str(ROOT / "conftest.py")).group_of(nodeid)


def test_a_notebook_or_a_test_file_is_one_group(request):
    cells = {group_of(request, f"notebooks/04_quantization_math.ipynb::Cell {i}") for i in (0, 9)}
    assert cells == {"notebooks/04_quantization_math.ipynb"}
    assert group_of(request, "tests/test_quiet.py::test_a") == "tests/test_quiet.py"


def test_each_lab_is_its_own_group(request):
    groups = {
        group_of(request, f"tests/test_labs.py::test_{name}[{lab}]")
        for name in ("leaks", "grades")
        for lab in ("01_linear_regression_lab", "12_edge_tpu_lab")
    }
    assert groups == {
        "tests/test_labs.py[01_linear_regression_lab]",
        "tests/test_labs.py[12_edge_tpu_lab]",
    }


def test_everything_that_drives_the_engine_is_one_group(request):
    ids = [
        "tests/test_docker.py::test_build",
        "tests/test_docker_arm64.py::test_arm64[x]",
        "notebooks/09_containers.ipynb::Cell 3",
        "solutions/10_publishing_images_lab.ipynb::Cell 0",
    ]
    assert {group_of(request, nodeid) for nodeid in ids} == {"docker"}


def test_every_test_that_uses_the_engine_is_in_the_docker_group(request):
    uses_engine = re.compile(r"\bdocker_client\b|mark\.docker\b")
    files = [
        p
        for p in (ROOT / "tests").glob("test_*.py")
        if p.name != "test_xdist_groups.py" and uses_engine.search(p.read_text())
    ]
    assert files, "no test uses the engine: the pattern is stale"
    for path in files:
        nodeid = f"{path.relative_to(ROOT).as_posix()}::test"
        assert group_of(request, nodeid) == "docker", f"{nodeid} would race the Docker tests"
