"""Import rules for the package: where things live must stay findable.

- no import cycles between modules (imports inside functions count: they only hide a cycle);
- no module imports a private name (``_x``) of another;
- ``serving/`` (what the serving image runs) imports only itself, ``model_card`` and ``runtime``,
  and no third-party package missing from ``requirements/serving.lock``;
- no module over ~300 lines.

Written with the standard library's ``ast``: the rules are three walks over one import graph.
"""

from __future__ import annotations

import pytest
from import_graph import (
    cycles,
    import_graph,
    module_files,
    private_imports,
    serving_closure,
    serving_requirements,
    serving_violations,
    third_party_outside,
)

MAX_LINES = 320  # "each under ~300 lines"


# --- the rules, on the real package ---


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_no_private_names_across_modules():
    assert private_imports(import_graph()) == []


def test_serving_imports_only_what_the_image_ships():
    assert serving_violations(import_graph()) == []


def test_serving_needs_only_the_serving_lock():
    modules = module_files()
    files = [modules[m] for m in sorted(serving_closure(import_graph())) if m in modules]
    assert third_party_outside(files, serving_requirements()) == []


@pytest.mark.parametrize("name", sorted(module_files()))
def test_module_is_small(name):
    lines = len(module_files()[name].read_text().splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines; split it along a seam"


# --- the rules catch what they claim to (a throw-away package) ---


@pytest.fixture
def fake(tmp_path):
    pkg = tmp_path / "mlops_course"
    (pkg / "serving").mkdir(parents=True)

    def write(name: str, text: str) -> None:
        path = pkg / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    for name in ("__init__.py", "serving/__init__.py"):
        write(name, "")
    return pkg, write


def test_a_cycle_through_a_function_level_import_is_found(fake):
    pkg, write = fake
    write("a.py", "from mlops_course import b\n")
    write("b.py", "def f():\n    from mlops_course.a import x\n")
    write("c.py", "from . import a\n")
    assert cycles(import_graph(pkg)) == [["mlops_course.a", "mlops_course.b"]]


def test_a_private_name_from_another_module_is_found(fake):
    pkg, write = fake
    write("a.py", "_hidden = 1\n")
    write("b.py", "from mlops_course.a import _hidden, __version__\n")
    assert private_imports(import_graph(pkg)) == [
        "mlops_course.b:1 takes _hidden from mlops_course.a"
    ]


def test_serving_importing_the_rest_of_the_package_is_found(fake):
    pkg, write = fake
    write("export.py", "")
    write("runtime.py", "")
    write("serving/app.py", "from mlops_course import runtime\nfrom ..export import x\n")
    edges = import_graph(pkg)
    assert serving_violations(edges) == ["mlops_course.serving.app:2 imports mlops_course.export"]
    assert serving_closure(edges, pkg) >= {"mlops_course.runtime", "mlops_course.export"}


def test_a_client_library_in_the_server_is_found(tmp_path):
    path = tmp_path / "loadgen.py"
    path.write_text(
        "import json\nimport numpy\nimport requests\n\ndef f():\n    import tensorflow\n"
    )
    problems = third_party_outside([path], {"numpy"})
    assert [p.split(" (")[0] for p in problems] == ["loadgen.py:3 imports requests"]
